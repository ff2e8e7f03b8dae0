"""A synthetic year of 110 calls, plus the current year to date, over the district's stations.

Every parameter is in `IncidentParams` (one place). A subtype's calls per day are a Poisson draw of

    calls_per_day × share × season(month) × week(weekday) × trend ** (days since start / 365)

so the year-over-year change of a subtype over the same calendar period is its `trend`, up to noise:
the falls the demo reports (pickpocketing −63%, e-bike theft −62%) come out of the data, not a table.
Hours follow a diurnal profile per 类别; places are uniform points in a station's area (stations
weighted by `station_weights`). Callers come from a pool drawn with the district's name and phone
generators (`people.names`, `people.phone_numbers`), Zipf-weighted so that some call again and again.
A share of new incidents gets duplicate calls minutes later, near the same place. Texts come from the
varied-wording generator `sim.calls`. Response times (sign-off, dispatch, travel, time on scene)
are drawn per call so that a replay is the same every time. Deterministic per seed.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from pingan.sim import calls, people
from pingan.sim.geography import Station, district_stations
from pingan.sim.world import stream

BEIJING = timedelta(hours=8)


def _shares() -> dict[str, float]:
    """Each subtype's share of a day's calls in the base year (sums to 1)."""
    raw = {
        "010101": 3.0, "010102": 4.0, "010103": 4.5, "010104": 0.6, "010105": 3.0,
        "010201": 0.8, "010202": 0.8, "010301": 4.0, "010302": 1.0, "010401": 1.5, "010402": 0.4,
        "010501": 1.2, "010502": 0.2,
        "020101": 5.0, "020102": 4.0, "020103": 2.5, "020104": 3.0, "020201": 3.0, "020202": 2.0,
        "020301": 4.0, "020302": 2.0, "020303": 1.5, "020401": 1.0, "020402": 1.5,
        "030101": 3.0, "030102": 7.0, "030201": 3.0, "030202": 4.0,
        "040101": 1.0, "040102": 0.5, "040201": 1.0, "040202": 0.3,
        "050101": 2.0, "050102": 4.0, "050103": 2.0, "050104": 5.0, "050201": 4.0,
        "060101": 2.0, "060102": 3.0,
    }  # fmt: skip
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()}


def _trends() -> dict[str, float]:
    """Current year over the year before, per subtype (1.0: no change).

    Pickpocketing and e-bike theft fall most (campaigns); the other criminal and public-order
    subtypes fall a little, so that illegal incidents (类别 01 and 02) fall about a fifth overall.
    """
    out = {code: 1.0 for code in _shares()}
    for code in out:
        if code[:2] in ("01", "02"):
            out[code] = 0.855
    out["010102"] = 0.37  # pickpocketing −63%
    out["010103"] = 0.38  # e-bike theft −62%
    return out


def _seasons() -> dict[str, tuple[float, int]]:
    """(amplitude, peak month) of a subtype's seasonal cosine; others are flat."""
    return {
        "010103": (0.45, 7),  # e-bike theft in summer
        "010102": (0.2, 2),  # pickpocketing in the Spring Festival crowds
        "020301": (0.3, 7),  # noise on summer nights
        "040101": (0.5, 1),  # fire in winter
        "040102": (0.3, 1),
        "040202": (0.6, 7),  # swimming
        "050103": (0.25, 1),
    }


# Relative call volume by hour (Beijing time) for each 类别; the lowest hours are around 04:00.
_DAY = (2, 1.5, 1, 0.7, 0.6, 0.8, 1.5, 3, 4.5, 5, 5, 5, 5, 4.5, 4.5, 5, 5.5, 6, 6, 5.5, 5, 4.5, 3.5, 2.5)
_NIGHT = (5, 4, 3, 2, 1, 0.8, 0.8, 1, 1.5, 2, 2.5, 3, 3, 3, 3, 3, 3.5, 4, 5, 6, 7, 7.5, 7, 6)
DIURNAL: dict[str, tuple[float, ...]] = {
    "01": _DAY,
    "02": _NIGHT,
    "03": (1, 0.6, 0.4, 0.3, 0.4, 1, 3, 7, 8, 5, 4, 4, 4, 4, 4, 4.5, 6, 8, 7, 4, 3, 2.5, 2, 1.5),
    "04": _DAY,
    "05": _DAY,
    "06": _NIGHT,
}
# Relative volume Monday..Sunday.
WEEKLY = (0.95, 0.95, 0.95, 1.0, 1.1, 1.2, 1.15)


@dataclass(frozen=True)
class IncidentParams:
    """Every knob of the incident generator (documented in docs/sim.md)."""

    seed: int = 1
    start: date = date(2025, 1, 1)  # the base year starts here (Beijing time)
    until: date = date(2026, 11, 30)  # last day generated, inclusive (the current year to date)
    calls_per_day: float = 60.0  # mean in the base year, before season and weekday
    shares: dict[str, float] = field(default_factory=_shares)
    trends: dict[str, float] = field(default_factory=_trends)
    seasons: dict[str, tuple[float, int]] = field(default_factory=_seasons)
    duplicate_share: float = 0.08  # new incidents that get 1-2 more calls about them
    callers: int = 4000  # size of the caller pool
    caller_zipf: float = 1.3  # heavier tail: a few callers call often
    anonymous_share: float = 0.1
    units_per_station: int = 3


@dataclass(frozen=True)
class SimCall:
    """One generated call. Times are UTC; durations in seconds; `duplicate_of` is a `seq`."""

    seq: int
    received_at: datetime
    caller_name: str | None
    caller_phone: str | None
    text: str
    category_code: str
    station_code: str
    lat: float
    lon: float
    kind: str  # new, hoax or duplicate
    duplicate_of: int | None
    sign_off_s: int
    dispatch_s: int
    travel_s: int
    on_scene_s: int

    def to_json(self) -> str:
        d = asdict(self)
        d["received_at"] = self.received_at.isoformat().replace("+00:00", "Z")
        return json.dumps(d, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> SimCall:
        d = json.loads(line)
        d["received_at"] = datetime.fromisoformat(d["received_at"].replace("Z", "+00:00"))
        return cls(**d)


@dataclass(frozen=True)
class SimUnit:
    call_sign: str
    station_code: str
    shift: str  # day (08-20 Beijing) or night (20-08)


def units(params: IncidentParams, stations: tuple[Station, ...] | None = None) -> list[SimUnit]:
    """The units of each station: alternately day and night shift."""
    out = []
    for s in stations or district_stations():
        for k in range(params.units_per_station):
            out.append(SimUnit(f"{s.code}-{k + 1}", s.code, "day" if k % 2 == 0 else "night"))
    return out


def rate(params: IncidentParams, code: str, day: date) -> float:
    """Expected calls of subtype `code` on `day`."""
    amp, peak = params.seasons.get(code, (0.0, 1))
    season = 1 + amp * math.cos(2 * math.pi * (day.month - peak) / 12)
    years = (day - params.start).days / 365
    return float(
        params.calls_per_day
        * params.shares[code]
        * season
        * WEEKLY[day.weekday()]
        * params.trends.get(code, 1.0) ** years
    )


def generate_calls(params: IncidentParams, stations: tuple[Station, ...] | None = None) -> Iterator[SimCall]:
    """Every call from `start` to `until`, in time order; the same params give the same calls."""
    stations = stations or district_stations()
    pool_rng = stream(params.seed, 9001)
    names = people.names(pool_rng, params.callers).to_pylist()
    phones = people.phone_numbers(pool_rng, params.callers).to_pylist()
    weights = 1 / np.arange(1, params.callers + 1) ** params.caller_zipf
    weights /= weights.sum()
    codes = sorted(params.shares)
    seq = 0
    day = params.start
    while day <= params.until:
        rng = stream(params.seed, 9002, day.toordinal())
        text_rng = random.Random(f"incidents:{params.seed}:{day.isoformat()}")
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - BEIJING
        todays: list[tuple[datetime, dict[str, object]]] = []
        for code in codes:
            n = int(rng.poisson(rate(params, code, day)))
            if not n:
                continue
            hours = np.array(DIURNAL[code[:2]])
            hour = rng.choice(24, size=n, p=hours / hours.sum())
            secs = hour * 3600 + rng.integers(0, 3600, size=n)
            st = rng.integers(0, len(stations), size=n)
            u = rng.uniform(0.05, 0.95, size=(2, n))
            callers = rng.choice(params.callers, size=n, p=weights)
            anon = rng.random(n) < params.anonymous_share
            dup = rng.random(n) < params.duplicate_share
            for i in range(n):
                s = stations[int(st[i])]
                todays.append(
                    (
                        midnight + timedelta(seconds=int(secs[i])),
                        {
                            "code": code,
                            "station": s,
                            "lat": round(s.south + float(u[0, i]) * (s.north - s.south), 6),
                            "lon": round(s.west + float(u[1, i]) * (s.east - s.west), 6),
                            "caller": None if anon[i] else int(callers[i]),
                            "dups": int(rng.integers(1, 3)) if dup[i] and code[:2] != "06" else 0,
                        },
                    )
                )
        todays.sort(key=lambda t: (t[0], str(t[1]["code"])))
        # Sequence numbers follow the order calls come in, duplicates included.
        pending: list[tuple[datetime, int, dict[str, object]]] = []
        for at, c in todays:
            pending.append((at, 0, c))
            for k in range(int(c["dups"])):  # type: ignore[call-overload]
                pending.append((at + timedelta(seconds=int(rng.integers(60, 900))), k + 1, c))
        pending.sort(key=lambda t: (t[0], t[1]))
        first_seq: dict[int, int] = {}
        for at, dup_no, c in pending:
            code, place = str(c["code"]), c["station"]
            assert isinstance(place, Station)
            caller = c["caller"]
            if dup_no == 0:
                first_seq[id(c)] = seq
                lat, lon = float(c["lat"]), float(c["lon"])  # type: ignore[arg-type]
                caller_i = caller
            else:
                lat = round(float(c["lat"]) + float(rng.normal(0, 0.0004)), 6)  # type: ignore[arg-type]
                lon = round(float(c["lon"]) + float(rng.normal(0, 0.0004)), 6)  # type: ignore[arg-type]
                caller_i = int(rng.choice(params.callers, p=weights))
            kind = "hoax" if code[:2] == "06" else ("new" if dup_no == 0 else "duplicate")
            yield SimCall(
                seq=seq,
                received_at=at,
                caller_name=names[caller_i] if isinstance(caller_i, int) else None,
                caller_phone=phones[caller_i] if isinstance(caller_i, int) else None,
                text=calls.call_text(text_rng, code[:4]).text,
                category_code=code,
                station_code=place.code,
                lat=lat,
                lon=lon,
                kind=kind,
                duplicate_of=first_seq[id(c)] if dup_no else None,
                sign_off_s=int(min(600, rng.lognormal(math.log(15), 0.6))),
                dispatch_s=int(min(1800, rng.lognormal(math.log(60), 0.7))),
                travel_s=int(min(3600, rng.lognormal(math.log(330), 0.5))),
                on_scene_s=int(min(7200, rng.lognormal(math.log(1200), 0.5))),
            )
            seq += 1
        day += timedelta(days=1)


def write_jsonl(params: IncidentParams, out: Path) -> int:
    """Write the calls, one JSON object a line, to `out`; returns how many."""
    n = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for c in generate_calls(params):
            f.write(c.to_json() + "\n")
            n += 1
    return n


def read_jsonl(path: Path) -> list[SimCall]:
    """The calls of a file `write_jsonl` wrote."""
    with path.open(encoding="utf-8") as f:
        return [SimCall.from_json(line) for line in f if line.strip()]


def year_over_year(
    items: list[SimCall], codes: set[str] | None, *, through: tuple[int, int]
) -> tuple[int, int, float]:
    """Counts of the last two years from 1 January to `through` (month, day), Beijing time, and the change."""
    years: dict[int, int] = {}
    for c in items:
        if codes is not None and c.category_code not in codes:
            continue
        if c.kind == "duplicate":
            continue
        local = c.received_at + BEIJING
        if (local.month, local.day) <= through:
            years[local.year] = years.get(local.year, 0) + 1
    last = max(years) if years else 0
    before, now = years.get(last - 1, 0), years.get(last, 0)
    return before, now, (now - before) / before if before else float("nan")
