"""Pure decisions of traffic safety: the accident's severity and whether it is major, the finding
clock, where a point lies on the road graph, the hot places and hours of street racing and the
patrols proposed for them, and the reading of a noise sensor's message. No I/O; the clock is passed in."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from pingan.traffic.choices import Injury, NoiseRefusal, Severity, SnapFlag

# 道路交通事故处理程序规定 (公安部令第146号, 2017), the article on the finding (we read it as art. 62;
# the number is not verified against the gazette): the finding (事故认定书) is made within 10 days of the
# scene investigation, or, where tests or appraisals were ordered, within 5 days of their results.
FINDING_DAYS = 10
FINDING_AFTER_TESTS_DAYS = 5


def severity_of(injuries: list[Injury]) -> Severity:
    """The accident's severity by its worst casualty (STATS19)."""
    if Injury.KILLED in injuries:
        return Severity.FATAL
    if Injury.SERIOUS in injuries:
        return Severity.SERIOUS
    if Injury.SLIGHT in injuries:
        return Severity.SLIGHT
    return Severity.DAMAGE_ONLY


def is_major(deaths: int, *, threshold: int) -> bool:
    """A major accident (重大事故): `threshold` deaths or more (3 by default, `PINGAN_TRAFFIC_MAJOR_DEATHS`)."""
    return deaths >= threshold


@dataclass(frozen=True)
class FindingClock:
    """Where the accident finding stands: its deadline (None while it cannot start), and why."""

    deadline: datetime | None
    reason: str
    overdue: bool
    done: bool


def finding_clock(
    *,
    scene_investigated_at: datetime | None,
    tests_ordered: bool,
    tests_reported_at: datetime | None,
    finding_issued_at: datetime | None,
    now: datetime,
) -> FindingClock:
    """The finding's deadline: 10 days from the scene investigation, or 5 days from the test results."""
    if tests_ordered:
        if tests_reported_at is None:
            return FindingClock(None, "awaiting_test_results", False, finding_issued_at is not None)
        deadline, reason = tests_reported_at + timedelta(days=FINDING_AFTER_TESTS_DAYS), "5d_after_tests"
    elif scene_investigated_at is None:
        return FindingClock(None, "awaiting_scene_investigation", False, finding_issued_at is not None)
    else:
        deadline, reason = scene_investigated_at + timedelta(days=FINDING_DAYS), "10d_from_scene"
    done = finding_issued_at is not None
    end = finding_issued_at if finding_issued_at is not None else now
    return FindingClock(deadline, reason, end > deadline, done)


@dataclass(frozen=True)
class Snap:
    """Where a point lies on the road graph: the segment's index, the distance in metres, the flag."""

    index: int | None
    distance_m: float | None
    flag: SnapFlag


def snap_points(
    x: np.ndarray, y: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray,
    *, limit_m: float,
) -> list[Snap]:  # fmt: skip
    """Each point (x, y) against segments a→b, all in metres of one flat projection: the nearest
    segment and the distance to it, or TOO_FAR beyond `limit_m` (the point is never moved)."""
    if ax.size == 0:
        return [Snap(None, None, SnapFlag.NO_GRAPH) for _ in range(x.size)]
    dx, dy = bx - ax, by - ay
    seg2 = np.maximum(dx * dx + dy * dy, 1e-12)
    out = []
    for px, py in zip(x.tolist(), y.tolist(), strict=True):
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / seg2, 0.0, 1.0)
        d = np.hypot(ax + t * dx - px, ay + t * dy - py)
        k = int(np.argmin(d))
        dist = float(d[k])
        if dist > limit_m:
            out.append(Snap(None, round(dist, 1), SnapFlag.TOO_FAR))
        else:
            out.append(Snap(k, round(dist, 1), SnapFlag.SNAPPED))
    return out


# ---------------------------------------------------------------- street racing and loud exhausts

# A reading is loud when its LAmax reaches LOUD_LMAX_DB dB(A): a modified exhaust fired off at the
# kerb measures well above it, ordinary traffic seldom reaches it. Night is 22:00–06:00 local time, the
# 夜间 of the Noise Pollution Prevention Law (噪声污染防治法, 2021; art. 88 as we read it, not verified);
# a loud reading at night weighs NIGHT_WEIGHT times a daytime one. A citizen's report weighs REPORT_WEIGHT loud readings: a
# person took the trouble to call. Stated assumptions, not measured.
LOUD_LMAX_DB = 85.0
NIGHT_START_HOUR, NIGHT_END_HOUR = 22, 6
NIGHT_WEIGHT = 2.0
REPORT_WEIGHT = 3.0


def is_night(hour: int) -> bool:
    """22:00 to 06:00 local time (夜间)."""
    return hour >= NIGHT_START_HOUR or hour < NIGHT_END_HOUR


@dataclass(frozen=True)
class HotSpot:
    """A place (a road segment, or a grid cell off the graph) at an hour of the day, its score and why."""

    place: str
    hour: int
    score: float
    loud_readings: int
    night_readings: int
    reports: int
    reasons: tuple[str, ...]


def racing_hot_spots(
    reading_places: list[str], reading_hours: np.ndarray, reading_lmax: np.ndarray,
    report_places: list[str], report_hours: np.ndarray, *, loud_db: float = LOUD_LMAX_DB,
) -> list[HotSpot]:  # fmt: skip
    """Places and hours (local) of street racing and loud exhausts, highest score first.

    Score = Σ loud readings (LAmax ≥ `loud_db`), each ×NIGHT_WEIGHT at night, + REPORT_WEIGHT × reports.
    Readings below the threshold count for nothing. Ties go to the place and hour named first.
    """
    tally: dict[tuple[str, int], list[int]] = {}
    loud = reading_lmax >= loud_db
    for place, hour, is_loud in zip(reading_places, reading_hours.tolist(), loud.tolist(), strict=True):
        if is_loud:
            t = tally.setdefault((place, int(hour)), [0, 0, 0])
            t[0] += 1
            t[1] += is_night(int(hour))
    for place, hour in zip(report_places, report_hours.tolist(), strict=True):
        tally.setdefault((place, int(hour)), [0, 0, 0])[2] += 1
    out = []
    for (place, hour), (n_loud, n_night, n_reports) in tally.items():
        score = (n_loud - n_night) + NIGHT_WEIGHT * n_night + REPORT_WEIGHT * n_reports
        reasons = []
        if n_loud:
            reasons.append(f"loud_readings:{n_loud}>={loud_db:g}dB")
        if n_night:
            reasons.append(f"at_night:{n_night}x{NIGHT_WEIGHT:g}")
        if n_reports:
            reasons.append(f"citizen_reports:{n_reports}x{REPORT_WEIGHT:g}")
        out.append(HotSpot(place, hour, score, n_loud, n_night, n_reports, tuple(reasons)))
    out.sort(key=lambda h: -h.score)
    return out


@dataclass(frozen=True)
class PatrolPlan:
    """A proposed patrol: a place, and the hours (local, start inclusive, end exclusive, may wrap past
    midnight) that hold its hot hours, with the score they cover."""

    place: str
    start_hour: int
    end_hour: int
    score: float
    reasons: tuple[str, ...]


def propose_patrols(spots: list[HotSpot], *, places: int = 5, max_hours: int = 4) -> list[PatrolPlan]:
    """One patrol for each of the `places` hottest places: the run of at most `max_hours` consecutive
    hours (wrapping at midnight) with the highest score there. Places rank by their best such run."""
    by_place: dict[str, np.ndarray] = {}
    for s in spots:
        by_place.setdefault(s.place, np.zeros(24))[s.hour] += s.score
    plans = []
    width = max(1, min(max_hours, 24))
    for place, hours in by_place.items():
        ring = np.concatenate([hours, hours[: width - 1]])
        windows = np.convolve(ring, np.ones(width), mode="valid")[:24]
        start = int(np.argmax(windows))
        covered = [(start + i) % 24 for i in range(width)]
        # Trim hours with nothing at either end of the window.
        while len(covered) > 1 and hours[covered[-1]] == 0:
            covered.pop()
        while len(covered) > 1 and hours[covered[0]] == 0:
            covered.pop(0)
        reasons = tuple(r for s in spots if s.place == place and s.hour in covered for r in s.reasons)
        plans.append(PatrolPlan(place, covered[0], (covered[-1] + 1) % 24, float(windows[start]), reasons))
    plans.sort(key=lambda p: -p.score)
    return plans[:places]


# The noise sensor's message (docs/traffic.md): levels only. Field names that carry sound, pictures or
# video, or a data URI of them, refuse the whole message, before anything else is read from it.
NOISE_FORBIDDEN_KEYS = frozenset(
    {
        "audio", "audio_url", "audio_data", "sound", "recording", "record", "clip", "wav", "mp3",
        "pcm", "samples", "waveform", "spectrogram", "voice", "voiceprint", "speech", "transcript",
        "image", "images", "photo", "picture", "snapshot", "frame", "video", "video_url",
        "stream_url", "plate_image", "face",
    }
)  # fmt: skip
NOISE_MEDIA_PREFIXES = ("data:audio/", "data:image/", "data:video/")


@dataclass(frozen=True)
class NoiseRefused:
    """A noise message refused, and why."""

    reason: NoiseRefusal
    detail: str
    sensor: str = ""


@dataclass(frozen=True)
class NoiseMessage:
    """A noise reading that passed the reading."""

    sensor: str
    seq: int
    measured_at: datetime
    lat: float
    lon: float
    laeq_db: float
    lmax_db: float
    window_s: int


def noise_media_fields(value: Any, path: str = "") -> list[str]:
    """The paths of every field that carries sound, pictures or video (by name, or a data URI)."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if str(k).lower() in NOISE_FORBIDDEN_KEYS:
                found.append(here)
            else:
                found.extend(noise_media_fields(v, here))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(noise_media_fields(v, f"{path}[{i}]"))
    elif isinstance(value, str) and value[:16].lower().startswith(NOISE_MEDIA_PREFIXES):
        found.append(path or "$")
    return found


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float | None:
    raw = body.get(name)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) and low <= value <= high else None


# A reading stamped further ahead of the ingest's clock than this is refused (a sensor's clock gone wrong).
NOISE_FUTURE_S = 300


def read_noise_message(
    topic: str, raw: bytes, *, root: str, now: datetime, max_bytes: int = 4096
) -> NoiseMessage | NoiseRefused:
    """Read `{root}/noise/{sensor}/level` (the root is `pingan` unless configured): size, topic, JSON, no media, then the fields.

    `{"v": 1, "sensor", "seq", "ts", "lat", "lon", "laeq_db", "lmax_db", "window_s"}`: LAeq and LAmax
    over the window in dB(A), 20 to 140, LAmax not below LAeq; the window 1 s to 1 h."""
    if len(raw) > max_bytes:
        return NoiseRefused(NoiseRefusal.TOO_LARGE, f"{len(raw)} bytes > {max_bytes}")
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != root or parts[1] != "noise" or not parts[2] or parts[3] != "level":
        return NoiseRefused(NoiseRefusal.UNKNOWN_TOPIC, topic[:255])
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return NoiseRefused(NoiseRefusal.MALFORMED_JSON, str(exc)[:255])
    if not isinstance(body, dict):
        return NoiseRefused(NoiseRefusal.MALFORMED_JSON, "the message is not a JSON object")
    if media := noise_media_fields(body):
        return NoiseRefused(NoiseRefusal.FORBIDDEN_MEDIA, ",".join(media)[:255], parts[2][:64])
    sensor = body.get("sensor")
    if not isinstance(sensor, str) or not 1 <= len(sensor) <= 64 or sensor != parts[2]:
        return NoiseRefused(NoiseRefusal.INVALID_FIELD, "sensor: the topic's sensor name", parts[2][:64])
    if body.get("v") != 1 or isinstance(body.get("v"), bool):
        return NoiseRefused(NoiseRefusal.INVALID_FIELD, f"v={body.get('v')!r}; known: 1"[:255], sensor)
    seq = body.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq < 2**31:
        return NoiseRefused(NoiseRefusal.INVALID_FIELD, "seq: a whole number from 1", sensor)
    ts = body.get("ts")
    try:
        at = datetime.fromisoformat(ts.replace("Z", "+00:00")) if isinstance(ts, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or not 2000 <= at.year < 2100:
        return NoiseRefused(NoiseRefusal.INVALID_FIELD, "ts: an ISO 8601 time with its offset", sensor)
    if (at - now).total_seconds() > NOISE_FUTURE_S:
        return NoiseRefused(
            NoiseRefusal.INVALID_FIELD, f"ts: more than {NOISE_FUTURE_S} s ahead of now", sensor
        )
    lat, lon = _number(body, "lat", -90, 90), _number(body, "lon", -180, 180)
    if lat is None or lon is None:
        return NoiseRefused(NoiseRefusal.INVALID_FIELD, "lat, lon: WGS-84 degrees", sensor)
    laeq, lmax = _number(body, "laeq_db", 20, 140), _number(body, "lmax_db", 20, 140)
    if laeq is None:
        return NoiseRefused(NoiseRefusal.INVALID_FIELD, "laeq_db: dB(A) from 20 to 140", sensor)
    if lmax is None or lmax < laeq:
        return NoiseRefused(NoiseRefusal.INVALID_FIELD, "lmax_db: dB(A) from laeq_db to 140", sensor)
    window = body.get("window_s")
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 3600:
        return NoiseRefused(NoiseRefusal.INVALID_FIELD, "window_s: whole seconds from 1 to 3600", sensor)
    return NoiseMessage(sensor, seq, at, lat, lon, laeq, lmax, window)
