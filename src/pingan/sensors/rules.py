"""Pure decisions of the sensor link: reading a message (topic, JSON, schema, privacy), its signature
and freshness, what an alarm becomes, how holster events fuse, and the false-alarm score.

No I/O here; the clock comes in as an argument. docs/mqtt.md documents the messages.
"""

from __future__ import annotations

import hmac
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pingan.sensors.choices import (
    DANGER_EVENTS,
    AlarmDecision,
    AlarmType,
    HolsterEvent,
    Refusal,
)

SCHEMA_VERSIONS = frozenset({1})
RESERVED_COMMUNITIES = frozenset({"units", "holster", "crowd", "drone"})
MAX_COUNT = 10_000_000  # a zone's head count above this is a device fault, not a crowd

# Field names that carry pictures, video, or body measurements. The platform builds no biometric
# identification (DESIGN.md, privacy by design): such a message is refused whole, on any topic.
FORBIDDEN_KEYS = frozenset(
    {
        "image",
        "images",
        "img",
        "photo",
        "photos",
        "picture",
        "snapshot",
        "thumbnail",
        "frame",
        "video",
        "video_url",
        "clip",
        "stream_url",
        "face",
        "face_image",
        "face_id",
        "face_feature",
        "fingerprint",
        "iris",
        "voiceprint",
        "biometric",
        "biometrics",
        "gait",
    }
)
MEDIA_PREFIXES = ("data:image/", "data:video/", "data:audio/")


@dataclass(frozen=True)
class TopicRef:
    """What a topic names: the message kind and the device, community or unit in it."""

    kind: Literal["alarm", "position", "holster", "crowd", "drone"]
    device: str = ""
    community: str = ""
    unit: str = ""
    event: str = ""  # a crowd count's event code
    zone: str = ""  # and its zone code


def parse_topic(topic: str, root: str) -> TopicRef | None:
    """`{root}/{community}/{device}/alarm`, `{root}/units/{unit}/position`,
    `{root}/holster/{device}/event`, `{root}/crowd/{event}/{zone}/count` or
    `{root}/drone/{device}/report`, where the root is `pingan` unless configured; None for anything
    else."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == root and parts[1] == "crowd" and parts[4] == "count":
        return TopicRef("crowd", event=parts[2], zone=parts[3]) if parts[2] and parts[3] else None
    if len(parts) != 4 or parts[0] != root or not parts[1] or not parts[2]:
        return None
    head, name, leaf = parts[1], parts[2], parts[3]
    if head == "units" and leaf == "position":
        return TopicRef("position", unit=name)
    if head == "holster" and leaf == "event":
        return TopicRef("holster", device=name)
    if head == "drone" and leaf == "report":
        return TopicRef("drone", device=name)
    if head not in RESERVED_COMMUNITIES and leaf == "alarm":
        return TopicRef("alarm", device=name, community=head)
    return None


def ack_topic(root: str, community: str, device: str) -> str:
    """Where an alarm's acknowledgements go back to its device."""
    return f"{root}/{community}/{device}/ack"


@dataclass(frozen=True)
class Refused:
    """A message the ingest will not take, and why (the dead letter's reason and detail)."""

    reason: Refusal
    detail: str
    device: str = ""


@dataclass(frozen=True)
class Message:
    """A message that passed the reading: its kind, device, number, time, signature and body."""

    topic: TopicRef
    device: str
    seq: int
    sent_at: datetime
    sig: str
    body: dict[str, Any]
    alarm: AlarmType | None = None
    event: HolsterEvent | None = None
    lat: float | None = None
    lon: float | None = None
    count: int | None = None


def media_fields(value: Any, path: str = "") -> list[str]:
    """The paths of every field that carries image, video or biometric data (by name, or a data URI)."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if str(k).lower() in FORBIDDEN_KEYS:
                found.append(here)
            else:
                found.extend(media_fields(v, here))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(media_fields(v, f"{path}[{i}]"))
    elif isinstance(value, str) and value[:16].lower().startswith(MEDIA_PREFIXES):
        found.append(path or "$")
    return found


def has_media(value: Any) -> bool:
    """Whether `media_fields` would find anything: the same test without building the fields' paths,
    for the message that carries none (nearly every one; the path strings were a tenth of the ingest
    worker's time in a py-spy profile of bench/mqtt.py)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k).lower() in FORBIDDEN_KEYS:
                return True
            if isinstance(v, str):
                if v[:16].lower().startswith(MEDIA_PREFIXES):
                    return True
            elif isinstance(v, dict | list) and has_media(v):
                return True
        return False
    if isinstance(value, list):
        return any(has_media(v) for v in value)
    return isinstance(value, str) and value[:16].lower().startswith(MEDIA_PREFIXES)


def _time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _coordinate(body: dict[str, Any], name: str, limit: float) -> float | None:
    raw = body.get(name)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) and -limit <= value <= limit else None


def read_message(topic: str, raw: bytes, *, root: str, max_bytes: int) -> Message | Refused:
    """Read one message: size, topic, JSON, no media, schema version, the envelope and its kind's fields.

    The order matters: media is refused before anything else is read from the body, so a message
    with a picture is never kept whole, whatever else is wrong with it.
    """
    if len(raw) > max_bytes:
        return Refused(Refusal.TOO_LARGE, f"{len(raw)} bytes > {max_bytes}")
    ref = parse_topic(topic, root)
    if ref is None:
        return Refused(Refusal.UNKNOWN_TOPIC, topic[:255])
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return Refused(Refusal.MALFORMED_JSON, str(exc)[:255])
    if not isinstance(body, dict):
        return Refused(Refusal.MALFORMED_JSON, "the message is not a JSON object")
    if has_media(body):
        return Refused(Refusal.FORBIDDEN_MEDIA, ",".join(media_fields(body))[:255])
    raw_device = body.get("device")
    device = raw_device if isinstance(raw_device, str) else ""
    version = body.get("v")
    if isinstance(version, bool) or version not in SCHEMA_VERSIONS:
        return Refused(Refusal.UNKNOWN_SCHEMA, f"v={version!r}; known: 1"[:255], device)
    if not device or len(device) > 64:
        return Refused(Refusal.INVALID_FIELD, "device: a string of 1 to 64 characters")
    seq = body.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq < 2**31:
        return Refused(Refusal.INVALID_FIELD, "seq: a whole number from 1", device)
    sent_at = _time(body.get("ts"))
    if sent_at is None:
        return Refused(Refusal.INVALID_FIELD, "ts: an ISO 8601 time with its offset", device)
    sig = body.get("sig")
    if not isinstance(sig, str) or len(sig) != 64:
        return Refused(Refusal.BAD_SIGNATURE, "sig: 64 hex characters of HMAC-SHA256", device)
    kind_value = body.get("type") if ref.kind == "alarm" else body.get("event")
    alarm = event = None
    lat = lon = None
    count = None
    if ref.kind == "crowd":
        count = body.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            return Refused(Refusal.INVALID_FIELD, f"count: a whole number from 0 to {MAX_COUNT}", device)
    elif ref.kind == "alarm":
        try:
            alarm = AlarmType(str(kind_value))
        except ValueError:
            known = ", ".join(a.value for a in AlarmType)
            return Refused(Refusal.INVALID_FIELD, f"type: one of {known}"[:255], device)
    elif ref.kind == "holster":
        try:
            event = HolsterEvent(str(kind_value))
        except ValueError:
            known = ", ".join(e.value for e in HolsterEvent)
            return Refused(Refusal.INVALID_FIELD, f"event: one of {known}"[:255], device)
    else:
        lat, lon = _coordinate(body, "lat", 90), _coordinate(body, "lon", 180)
        if lat is None or lon is None:
            return Refused(Refusal.INVALID_FIELD, "lat, lon: WGS-84 degrees", device)
    return Message(ref, device, seq, sent_at, sig, body, alarm=alarm, event=event, lat=lat, lon=lon,
                   count=count)  # fmt: skip


# One encoder for every message: `json.dumps` with these options builds a new one at each call,
# a third of the canonical form's cost, and the form is computed for every message the ingest takes.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(body: dict[str, Any]) -> bytes:
    """The bytes a device signs: the message without `sig`, keys sorted, compact, UTF-8."""
    return _CANONICAL.encode({k: v for k, v in body.items() if k != "sig"}).encode()


def sign(key: bytes, body: dict[str, Any]) -> str:
    """The HMAC-SHA256 signature of a message body, in hex (what a device puts in `sig`)."""
    # `hmac.digest` is OpenSSL's one-shot HMAC, without `hmac.new`'s Python object per message.
    return hmac.digest(key, canonical(body), "sha256").hex()


def signature_ok(key: bytes, message: Message) -> bool:
    """Whether `sig` is the device key's signature of the message (compared in constant time)."""
    return hmac.compare_digest(sign(key, message.body), message.sig.lower())


def freshness(
    message: Message, *, last_seq: int, now: datetime, window_s: int, taken: bool | None = None
) -> Refused | None:
    """Refuse a replay, or a message stamped further than `window_s` from now.

    A replay is a message numbered at or below the device's last accepted one (a QoS 1 copy of a
    message already taken, or an attacker's). For a position, `taken` says whether the device's
    message of that number was taken already (the database's unique index, docs/mqtt.md): when
    several ingest processes share the positions, one of a device's may arrive after a later one,
    and only a number taken already is a replay."""
    replayed = message.seq <= last_seq if taken is None else taken
    if replayed:
        return Refused(
            Refusal.REPLAYED,
            f"seq {message.seq} <= last accepted {last_seq}" if taken is None
            else f"seq {message.seq} taken already",
            message.device,
        )  # fmt: skip
    skew = (now - message.sent_at).total_seconds()
    if abs(skew) > window_s:
        return Refused(
            Refusal.STALE_TIMESTAMP, f"ts {skew:+.0f}s from now, window {window_s}s", message.device
        )
    return None


# ------------------------------------------------------------------------------------------- alarms

# What each alarm becomes in the 110 catalogue (categories.toml) and its usual priority there. A
# blocked fire lane is illegal parking (030202); an e-bike in a lift is a fire risk handled as help
# (050104) until it burns; a forced door is a burglary (010101).
ALARM_CATEGORY = {
    AlarmType.SMOKE: ("040101", "3"),
    AlarmType.DOOR_FORCED: ("010101", "2"),
    AlarmType.SOS: ("050104", "1"),
    AlarmType.EBIKE_IN_LIFT: ("050104", "3"),
    AlarmType.FIRE_LANE_BLOCKED: ("030202", "3"),
}
ALARM_TEXT = {
    AlarmType.SMOKE: "智慧小区烟感报警",
    AlarmType.DOOR_FORCED: "智慧小区门磁报警：门被强行打开",
    AlarmType.SOS: "智慧小区一键报警",
    AlarmType.EBIKE_IN_LIFT: "智慧小区：电动车进入电梯",
    AlarmType.FIRE_LANE_BLOCKED: "智慧小区：消防通道被占用",
}


@dataclass(frozen=True)
class RecentAlarm:
    """An alarm accepted earlier, as the alarm rule reads it."""

    device: str
    community: str
    alarm_type: AlarmType
    received_at: datetime
    incident_id: int | None


@dataclass(frozen=True)
class AlarmRuling:
    """What an alarm becomes: a new incident at `priority`, or joins `incident_id`; with reasons."""

    decision: AlarmDecision
    priority: str
    category_code: str
    reasons: tuple[str, ...]
    incident_id: int | None = None


def _demoted(priority: str) -> str:
    return str(min(3, int(priority) + 1))


def rule_alarm(
    *,
    device: str,
    community: str,
    alarm_type: AlarmType,
    now: datetime,
    recent: Sequence[RecentAlarm],
    device_score: Score,
    dedup_window_s: int,
    confirm_window_s: int,
    demote_at: float,
    min_outcomes: int,
) -> AlarmRuling:
    """Decide what one alarm becomes.

    1. The same device and type within `dedup_window_s` joins the open incident (a detector that
       keeps sounding is one fire, not twenty calls).
    2. Smoke from a second sensor of the same community within `confirm_window_s` is priority 1:
       two detectors rarely fail at once, so a confirmed smoke alarm is treated as a fire.
    3. Otherwise a device whose alarms were mostly false (score >= `demote_at` over at least
       `min_outcomes` closed alarms) is demoted one priority; it is never dropped, since the one real
       alarm of a noisy detector is the one that matters.
    """
    code, priority = ALARM_CATEGORY[alarm_type]
    for r in sorted(recent, key=lambda r: r.received_at, reverse=True):
        if (
            r.device == device
            and r.alarm_type is alarm_type
            and r.incident_id is not None
            and now - r.received_at <= timedelta(seconds=dedup_window_s)
        ):
            age = int((now - r.received_at).total_seconds())
            return AlarmRuling(
                AlarmDecision.DEDUPLICATED,
                priority,
                code,
                (f"dedup:{alarm_type.value}:{age}s<={dedup_window_s}s", f"incident:{r.incident_id}"),
                r.incident_id,
            )
    if alarm_type is AlarmType.SMOKE:
        confirming = [
            r
            for r in recent
            if r.alarm_type is AlarmType.SMOKE
            and r.community == community
            and r.device != device
            and now - r.received_at <= timedelta(seconds=confirm_window_s)
        ]
        if confirming:
            other = max(confirming, key=lambda r: r.received_at)
            return AlarmRuling(AlarmDecision.INCIDENT, "1", code, (f"smoke_confirmed_by:{other.device}",))
    reasons = [f"alarm:{alarm_type.value}"]
    if device_score.outcomes >= min_outcomes and device_score.value >= demote_at:
        reasons.append(f"false_alarm_score:{device_score.value:.2f}>={demote_at:.2f}")
        priority = _demoted(priority)
    return AlarmRuling(AlarmDecision.INCIDENT, priority, code, tuple(reasons))


@dataclass(frozen=True)
class Score:
    """A false-alarm score: the share of closed alarms that were false, smoothed toward one half
    (Laplace: (false + 1) / (outcomes + 2)), so that one false alarm does not brand a new device."""

    false: int
    outcomes: int

    @property
    def value(self) -> float:
        """The smoothed share of false alarms, 0 to 1."""
        return (self.false + 1) / (self.outcomes + 2)


# ------------------------------------------------------------------------------------------ holster


@dataclass(frozen=True)
class HolsterRuling:
    """What a holster event does: raise a new safety alert, join the active one, or only be logged."""

    action: Literal["raise", "join", "log"]
    reason: str


def rule_holster(event: HolsterEvent, *, active_alert_id: int | None) -> HolsterRuling:
    """A draw, a CEW trigger or a shot raises the officer's safety alert, or joins the one active:
    one danger is one incident, however many events it sends. Anything else is logged only; a
    holstering does not close the alert, since a person decides that the officer is safe."""
    if event in DANGER_EVENTS:
        if active_alert_id is not None:
            return HolsterRuling("join", f"joins_alert:{active_alert_id}")
        return HolsterRuling("raise", f"danger:{event.value}")
    return HolsterRuling("log", f"logged:{event.value}")


# --------------------------------------------------------------------------- crowds and drones

# ASSUMPTION (docs/mqtt.md): the graded crowd levels, as shares of a zone's capacity. 70 % asks for
# watch (open more gates, send stewards), 90 % for control (stop entry), 100 % is over capacity
# (divert, open emergency exits). Venue operators' crowd-management plans commonly grade this way;
# the figures are not taken from a Chengdu regulation and should be set per venue.
# These are a zone's thresholds unless it is given its own (watch, control, over, in percent).
DEFAULT_THRESHOLDS = (70, 90, 100)
MAX_THRESHOLD_PCT = 1000  # a zone counted against a nominal capacity may be graded above 100 %
LEVEL_NAMES = ("watch", "control", "over")

Ring = list[tuple[float, float]]  # (lon, lat) pairs, GeoJSON order


def polygon_problem(coordinates: Any) -> str | None:
    """Why a GeoJSON Polygon's `coordinates` cannot be a zone (None when it can): one outer ring of
    at least 4 [lon, lat] positions, closed (last = first), of at least 3 distinct corners, inside
    WGS-84 bounds, with an area."""
    if not isinstance(coordinates, list) or len(coordinates) != 1 or not isinstance(coordinates[0], list):
        return "one outer ring, as [[[lon, lat], ...]]"
    ring = coordinates[0]
    if len(ring) < 4:
        return "a ring of at least 4 positions (3 corners and the first again)"
    points: Ring = []
    for k, p in enumerate(ring):
        if (
            not isinstance(p, list | tuple)
            or len(p) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
        ):
            return f"position {k} is not [lon, lat]"
        try:
            lon, lat = float(p[0]), float(p[1])
        except OverflowError:  # an integer too large for a float is outside the bounds too
            return f"position {k} is outside WGS-84 bounds"
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0) or not (
            math.isfinite(lon) and math.isfinite(lat)
        ):
            return f"position {k} is outside WGS-84 bounds"
        points.append((lon, lat))
    if points[0] != points[-1]:
        return "the ring is not closed (its last position must equal its first)"
    if len(set(points)) < 3:
        return "a ring of at least 3 distinct corners"
    area2 = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(points))
    if abs(area2) < 1e-12:
        return "the ring has no area"
    return None


def point_in_polygon(lon: float, lat: float, ring: Sequence[Sequence[float]]) -> bool:
    """Whether the point lies inside the closed ring (even-odd ray casting); a point on an edge or a
    corner counts as inside, so a drone on a no-fly boundary is inside it."""
    n = len(ring)
    inside = False
    for k in range(n - 1):
        x1, y1 = float(ring[k][0]), float(ring[k][1])
        x2, y2 = float(ring[k + 1][0]), float(ring[k + 1][1])
        # On the edge: collinear and within its bounding box.
        cross = (x2 - x1) * (lat - y1) - (y2 - y1) * (lon - x1)
        if abs(cross) < 1e-12 and min(x1, x2) <= lon <= max(x1, x2) and min(y1, y2) <= lat <= max(y1, y2):
            return True
        if (y1 > lat) != (y2 > lat):
            x_at = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_at:
                inside = not inside
    return inside


@dataclass(frozen=True)
class CrowdRuling:
    """A zone's crowd level for a count: its percentage of capacity, the level reached ('' below the
    lowest), and whether it is a new, higher level than the one already raised (an alert)."""

    percent: float
    level: str
    raise_alert: bool


def level_rank(level: str) -> int:
    """A level's rank: 0 below watch, then watch 1, control 2, over 3."""
    return LEVEL_NAMES.index(level) + 1 if level in LEVEL_NAMES else 0


def rule_crowd(
    count: int, capacity: int, *, current_level: str, thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS
) -> CrowdRuling:
    """Grade a count against the zone's capacity and thresholds (watch, control, over, in percent). An
    alert is raised when the level rises above the zone's current one; a falling count lowers the
    level without an alert (it may rise again)."""
    percent = 100.0 * count / capacity
    level = next((name for at, name in zip(reversed(thresholds), reversed(LEVEL_NAMES), strict=True)
                  if percent >= at), "")  # fmt: skip
    return CrowdRuling(round(percent, 1), level, level_rank(level) > level_rank(current_level))


def thresholds_problem(watch: int, control: int, over: int) -> tuple[str, str] | None:
    """Why a zone's thresholds cannot grade it, as (field, reason), or None: each a whole percentage
    from 1 to `MAX_THRESHOLD_PCT`, rising strictly from watch to control to over."""
    for name, value in (("watch_pct", watch), ("control_pct", control), ("over_pct", over)):
        if not 1 <= value <= MAX_THRESHOLD_PCT:
            return name, f"a percentage from 1 to {MAX_THRESHOLD_PCT}"
    if control <= watch:
        return "control_pct", "control must be above watch"
    if over <= control:
        return "over_pct", "over must be above control"
    return None


def rule_drone(lon: float, lat: float, no_fly: Sequence[tuple[int, Sequence[Sequence[float]]]]) -> int | None:
    """The first no-fly zone (by id) the reported drone is in, or None when it is in none."""
    for zone_id, ring in no_fly:
        if point_in_polygon(lon, lat, ring):
            return zone_id
    return None
