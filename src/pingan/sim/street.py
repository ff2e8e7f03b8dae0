"""The traffic brigade's recent weeks on the street, for the demo: noise sensors' hourly levels (taken
through the noise ingest, as the MQTT listener takes them), citizen reports of street racing and loud
exhausts, the brigade's night operations against them, the violations it recorded, and a campaign.
Each goes through its write path and is audited like one typed on a page.

The shape, all assumptions stated here (none is measured): racing happens on a few avenues on Friday
and Saturday nights and on a quarter of the other nights, from 22:00 to 02:00, with an hour's LAmax
around 94 dB(A) there; elsewhere an hour's LAmax is around 78 dB(A) by day and 70 at night, so a few
daytime hours pass 85 (a lorry, a horn). Violations are found by day, most of them at a few markets'
streets, most often riders without helmets; during the tricycle campaign the brigade finds twice the
tricycle violations on its streets, as enforcement finds what was already there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from pingan.command.roads import Roads
from pingan.core import db
from pingan.core.roles import Actor
from pingan.core.settings import get_settings
from pingan.traffic import actions, queries
from pingan.traffic.choices import CampaignOutcome, RacingKind, ViolationKind
from pingan.traffic.schemas import CampaignIn, EnforcementIn, RacingReportIn, ViolationIn

BEIJING = ZoneInfo("Asia/Shanghai")
RACING_HOURS = (22, 23, 0, 1)
REPORT_NOTES = (
    "摩托车改装排气，反复轰油门",
    "几辆车在路上追逐飙车",
    "深夜炸街，影响休息",
    "跑车连续加速，声音很大",
)
# Violation kinds found by day, in ViolationKind's order (an assumption).
_KIND_WEIGHT = np.array([0.15, 0.10, 0.10, 0.35, 0.10, 0.10, 0.05, 0.05])
_DAY_HOURS = np.array([0, 0, 0, 0, 0, 0, 1, 4, 8, 9, 8, 6, 5, 6, 8, 9, 9, 8, 5, 2, 1, 0, 0, 0], float)
_TRICYCLE = (
    ViolationKind.TRICYCLE_UNLICENSED,
    ViolationKind.TRICYCLE_PASSENGERS,
    ViolationKind.TRICYCLE_MOTORWAY,
)


@dataclass(frozen=True)
class StreetParams:
    """How much street life: noise sensors (`hot` of them on racing avenues) over `noise_days`, and
    violations over `violation_days`, `violations_per_day` of them on average."""

    seed: int = 2026
    sensors: int = 8
    hot: int = 3
    noise_days: int = 30
    violation_days: int = 90
    violations_per_day: float = 12.0
    markets: int = 12


@dataclass(frozen=True)
class StreetSeeded:
    """What the seed wrote."""

    readings: int
    reports: int
    operations: int
    violations: int
    campaigns: int


def seed(roads: Roads, *, now: datetime, actor: Actor, params: StreetParams = StreetParams()) -> StreetSeeded:
    """Write the street's recent weeks before `now` on the stored road graph `roads`, unless any noise
    reading, racing report or violation is recorded (then nothing)."""
    with db.transaction() as session:
        if queries.has_street_records(session):
            return StreetSeeded(0, 0, 0, 0, 0)
        snapper = actions.Snapper.load(session)
    rng = np.random.default_rng(params.seed)
    arterial = np.flatnonzero(np.isin(np.array(roads.road_class), ["primary", "secondary"]))
    sensed = rng.choice(arterial, size=params.sensors, replace=False)
    hot, quiet = sensed[: params.hot], sensed[params.hot :]
    today = now.astimezone(BEIJING).date()
    nights = [
        d for d in (today - timedelta(days=k) for k in range(1, params.noise_days + 1))
        if d.weekday() in (4, 5) or rng.random() < 0.25
    ]  # fmt: skip
    readings = _noise(roads, rng, hot, quiet, set(nights), today, now, params, snapper)
    reports: list[RacingReportIn] = []
    for night in nights:
        for edge in hot:
            for _ in range(int(rng.poisson(0.6))):
                at = _local(night, 22) + timedelta(minutes=int(rng.integers(0, 240)))
                if at >= now:
                    continue
                lat, lon = _on(roads, int(edge), float(rng.uniform(0.1, 0.9)))
                kind = RacingKind.LOUD_EXHAUST if rng.random() < 0.6 else RacingKind.RACING
                note = REPORT_NOTES[int(rng.integers(0, len(REPORT_NOTES)))]
                reports.append(RacingReportIn(occurred_at=at, lat=lat, lon=lon, kind=kind, note=note))
    operations = [
        EnforcementIn(
            edge_id=int(roads.edge_id[hot[0]]),
            started_at=_local(day, 22),
            ended_at=_local(day, 25),
            stops=int(rng.integers(10, 31)),
            vehicles_seized=int(rng.integers(0, 5)),
            cases=int(rng.integers(0, 4)),
            note="夜查飙车炸街",
        )
        for day in (today - timedelta(days=k) for k in range(2, params.noise_days, 7))
    ]
    markets = rng.choice(roads.edge_id.size, size=params.markets, replace=False)
    start_on = today - timedelta(days=30)
    campaign = CampaignIn(
        name="三轮车违法专项整治", target=ViolationKind.TRICYCLE_UNLICENSED, outcome=CampaignOutcome.VIOLATIONS,
        started_on=start_on, ended_on=today + timedelta(days=30),
        edges=[int(roads.edge_id[k]) for k in markets[:6]], note="市场周边道路，日间巡查",
    )  # fmt: skip
    violations = _violations(roads, rng, markets, start_on, set(campaign.edges), today, params)
    with db.transaction() as session:
        for r in reports:
            actions.check_record_racing_report(session, r, actor=actor)
            actions.do_record_racing_report(session, r, actor=actor, snapper=snapper)
        for o in operations:
            actions.check_record_enforcement(session, o, actor=actor)
            actions.do_record_enforcement(session, o, actor=actor)
        for v in violations:
            actions.check_record_violation(session, v, actor=actor)
            actions.do_record_violation(session, v, actor=actor, snapper=snapper)
        actions.check_add_campaign(session, campaign, actor=actor, today=today)
        actions.do_add_campaign(session, campaign, actor=actor)
    return StreetSeeded(readings, len(reports), len(operations), len(violations), 1)


def _local(day: date, hour: int) -> datetime:
    """`hour` o'clock Beijing time of `day` (25 is one in the morning after)."""
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING) + timedelta(hours=hour)


def _on(roads: Roads, k: int, t: float) -> tuple[float, float]:
    """The point a fraction `t` along segment index `k` (its nodes found by id: `node_id` ascends, as
    both the generator and the OpenStreetMap import number them)."""
    a, b = (int(np.searchsorted(roads.node_id, n)) for n in (roads.source[k], roads.target[k]))
    assert roads.node_id[a] == roads.source[k] and roads.node_id[b] == roads.target[k]
    return (
        float(roads.lat[a] + t * (roads.lat[b] - roads.lat[a])),
        float(roads.lon[a] + t * (roads.lon[b] - roads.lon[a])),
    )


def _noise(
    roads: Roads, rng: np.random.Generator, hot: np.ndarray, quiet: np.ndarray, nights: set[date],
    today: date, now: datetime, params: StreetParams, snapper: actions.Snapper,
) -> int:  # fmt: skip
    """Each sensor's hourly levels through the noise ingest, a day a transaction; returns how many."""
    root = get_settings().sensors.topic_root
    written = 0
    for n, k in enumerate([*hot, *quiet]):
        sensor = f"N-{n + 1:02d}"
        lat, lon = _on(roads, int(k), 0.5)
        seq = 0
        for back in range(params.noise_days, 0, -1):
            day = today - timedelta(days=back)
            with db.transaction() as session:
                for hour in range(24):
                    at = _local(day, hour)
                    racing_night = day if hour >= 22 else day - timedelta(days=1)
                    if k in hot and hour in RACING_HOURS and racing_night in nights:
                        lmax = rng.normal(94, 3)
                    else:
                        lmax = rng.normal(78 if 7 <= hour < 22 else 70, 4)
                    lmax = float(np.clip(lmax, 40, 125))
                    seq += 1
                    body = {
                        "v": 1, "sensor": sensor, "seq": seq, "ts": at.isoformat(), "lat": lat, "lon": lon,
                        "laeq_db": round(min(lmax - 8, 75.0), 1), "lmax_db": round(lmax, 1), "window_s": 3600,
                    }  # fmt: skip
                    got = actions.do_ingest_noise(
                        session, topic=f"{root}/noise/{sensor}/level", raw=json.dumps(body).encode(),
                        now=now, snapper=snapper,
                    )  # fmt: skip
                    written += got.accepted
    return written


def _violations(
    roads: Roads, rng: np.random.Generator, markets: np.ndarray, campaign_from: date, campaign_edges: set[int],
    today: date, params: StreetParams,
) -> list[ViolationIn]:  # fmt: skip
    """The violations found by day over the last `violation_days`, in time order."""
    kinds = list(ViolationKind)
    found: list[ViolationIn] = []
    for back in range(params.violation_days, 0, -1):
        day = today - timedelta(days=back)
        for _ in range(int(rng.poisson(params.violations_per_day))):
            kind = kinds[int(rng.choice(len(kinds), p=_KIND_WEIGHT))]
            k = (
                int(markets[int(rng.integers(0, markets.size))])
                if rng.random() < 0.7
                else int(rng.integers(0, roads.edge_id.size))
            )
            hour = int(rng.choice(24, p=_DAY_HOURS / _DAY_HOURS.sum()))
            lat, lon = _on(roads, k, float(rng.uniform(0.1, 0.9)))
            at = _local(day, hour) + timedelta(minutes=int(rng.integers(0, 60)))
            found.append(ViolationIn(kind=kind, occurred_at=at, lat=lat, lon=lon))
            campaign = day >= campaign_from and int(roads.edge_id[k]) in campaign_edges
            if campaign and kind in _TRICYCLE:  # the campaign's patrols find another
                lat, lon = _on(roads, k, float(rng.uniform(0.1, 0.9)))
                at = _local(day, int(rng.choice(24, p=_DAY_HOURS / _DAY_HOURS.sum()))) + timedelta(
                    minutes=int(rng.integers(0, 60))
                )
                found.append(ViolationIn(kind=kind, occurred_at=at, lat=lat, lon=lon))
    return sorted(found, key=lambda v: v.occurred_at)
