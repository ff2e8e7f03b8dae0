"""The read side of traffic safety, for pages, the API and other packages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from pingan.command.queries import RoadSegments, road_segments
from pingan.command.roads import metres_per_degree
from pingan.core.i18n import N_
from pingan.traffic import density, rules, safety
from pingan.traffic.choices import (
    CampaignOutcome,
    Cause,
    CountermeasureKind,
    NoiseRefusal,
    Severity,
    ViolationKind,
)
from pingan.traffic.model import (
    Accident,
    Campaign,
    Countermeasure,
    NoiseDeadLetter,
    NoiseReading,
    RacingEnforcement,
    RacingReport,
    SegmentVolume,
    Violation,
)


def causes_of(accident: Accident) -> list[Cause]:
    """The accident's contributory factors, in the order recorded."""
    return [Cause(c) for c in accident.causes.split(",") if c]


def clock_of(accident: Accident, *, now: datetime) -> rules.FindingClock:
    """Where the accident's finding stands now."""
    return rules.finding_clock(
        scene_investigated_at=accident.scene_investigated_at,
        tests_ordered=accident.tests_ordered,
        tests_reported_at=accident.tests_reported_at,
        finding_issued_at=accident.finding_issued_at,
        now=now,
    )


def has_accidents(session: Session) -> bool:
    """Whether any accident is recorded."""
    return session.execute(select(Accident.id).limit(1)).first() is not None


def has_street_records(session: Session) -> bool:
    """Whether any noise reading, street-racing report or violation is recorded."""
    return any(
        session.execute(select(model.id).limit(1)).first() is not None
        for model in (NoiseReading, RacingReport, Violation)
    )


def accident_detail(session: Session, accident_id: int) -> Accident | None:
    """One accident with its vehicles and people."""
    return session.execute(
        select(Accident)
        .where(Accident.id == accident_id)
        .options(selectinload(Accident.vehicles), selectinload(Accident.people))
    ).scalar_one_or_none()


def recent_accidents(
    session: Session, *, major_only: bool = False, flagged_only: bool = False, limit: int = 200
) -> list[Accident]:
    """The latest accidents first; `flagged_only`: those whose place a human must set."""
    q = select(Accident).order_by(Accident.occurred_at.desc(), Accident.id.desc()).limit(limit)
    if major_only:
        q = q.where(Accident.major.is_(True))
    if flagged_only:
        q = q.where(Accident.edge_id.is_(None))
    return list(session.execute(q).scalars())


def countermeasures(session: Session) -> list[Countermeasure]:
    """Every countermeasure, the latest first."""
    return list(
        session.execute(
            select(Countermeasure).order_by(Countermeasure.installed_on.desc(), Countermeasure.id.desc())
        ).scalars()
    )


# ---------------------------------------------------------------------------------------------------
# Black spots and before–after, from the stored accidents and the command platform's road graph

# Volumes (AADT, vehicles a day) assumed for a segment with no count in `traffic_segment_volume`, by
# road class: rough urban figures, stated as an assumption. Within a class they do not vary, so the
# SPF of a class with no counts is fitted on length alone (safety.fit_spf).
CLASS_DEFAULT_AADT = {"primary": 20_000.0, "secondary": 8_000.0, "tertiary": 5_000.0}
OTHER_DEFAULT_AADT = 1_500.0
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class SegmentTable:
    """The road graph's segments with their accident counts over a window, aligned by index."""

    segments: RoadSegments
    aadt: np.ndarray
    counts: np.ndarray
    ksi: np.ndarray
    years: float


def segment_table(session: Session, *, start: datetime, end: datetime) -> SegmentTable:
    """Counts of snapped accidents per segment in [start, end), with each segment's volume."""
    segs = road_segments(session)
    pos = {int(e): k for k, e in enumerate(segs.edge_id.tolist())}
    counts = np.zeros(segs.edge_id.size, dtype=np.int64)
    ksi = np.zeros(segs.edge_id.size, dtype=np.int64)
    rows = session.execute(
        select(Accident.edge_id, Accident.severity).where(
            Accident.edge_id.is_not(None), Accident.occurred_at >= start, Accident.occurred_at < end
        )
    ).all()
    for edge_id, severity in rows:
        k = pos.get(int(edge_id or 0))
        if k is not None:
            counts[k] += 1
            ksi[k] += severity in (Severity.FATAL, Severity.SERIOUS)
    counted = {
        int(e): float(v) for e, v in session.execute(select(SegmentVolume.edge_id, SegmentVolume.aadt))
    }
    aadt = np.array(
        [
            counted.get(int(e), CLASS_DEFAULT_AADT.get(c, OTHER_DEFAULT_AADT))
            for e, c in zip(segs.edge_id.tolist(), segs.road_class, strict=True)
        ],
        dtype=float,
    )
    years = (end - start).total_seconds() / 86_400 / DAYS_PER_YEAR
    return SegmentTable(segs, aadt, counts, ksi, years)


@dataclass(frozen=True)
class BlackSpot:
    """A ranked segment with its EB figures over the window."""

    rank: int
    edge_id: int
    road_class: str
    length_m: float
    observed: int
    predicted: float
    eb: float
    excess: float
    excess_low: float
    excess_high: float
    severity_weighted: float
    lat: float
    lon: float
    coordinates: tuple[tuple[float, float], tuple[float, float]]


def black_spots(session: Session, *, end: datetime, years: int = 3, top: int = 50) -> list[BlackSpot]:
    """The `top` segments by EB excess over the `years` before `end`; empty with no accidents."""
    table = segment_table(session, start=end - timedelta(days=DAYS_PER_YEAR * years), end=end)
    if table.counts.sum() == 0:
        return []
    s = table.segments
    r = safety.eb_ranking(
        np.array(s.road_class), table.counts, table.aadt, s.length_m, table.years, ksi=table.ksi
    )
    out = []
    for rank, k in enumerate(r.order()[:top].tolist(), start=1):
        out.append(
            BlackSpot(
                rank=rank,
                edge_id=int(s.edge_id[k]),
                road_class=s.road_class[k],
                length_m=float(s.length_m[k]),
                observed=int(table.counts[k]),
                predicted=float(r.predicted[k]),
                eb=float(r.eb[k]),
                excess=float(r.excess[k]),
                excess_low=float(r.excess_low[k]),
                excess_high=float(r.excess_high[k]),
                severity_weighted=float(r.severity_weighted[k]),
                lat=float((s.a_lat[k] + s.b_lat[k]) / 2),
                lon=float((s.a_lon[k] + s.b_lon[k]) / 2),
                coordinates=((float(s.a_lon[k]), float(s.a_lat[k])), (float(s.b_lon[k]), float(s.b_lat[k]))),
            )
        )
    return out


def countermeasure_effect(
    session: Session, *, kind: CountermeasureKind | None, now: datetime, years_before: int = 3
) -> safety.Effect | None:
    """The EB before–after estimate of the countermeasures of `kind` (all kinds when None) on their
    segments, against the untreated segments of the same classes; None when it cannot be estimated
    (no countermeasure of the kind, no time after, or no accidents before in the comparison group).

    Each treated segment's before period is the `years_before` years before its countermeasure, and
    its after period from then to `now`; the comparison group is counted over the same calendar
    periods as the earliest treatment (a simplification: one window for the whole group).
    """
    q = select(Countermeasure)
    if kind is not None:
        q = q.where(Countermeasure.kind == kind)
    measures = list(session.execute(q).scalars())
    if not measures:
        return None
    first = min(m.installed_on for m in measures)
    every_treated = {m.edge_id for m in session.execute(select(Countermeasure)).scalars()}
    return eb_effect(
        session,
        treated_edges={m.edge_id for m in measures},
        untreated_excluded=every_treated,
        pivot=datetime.combine(first, time(0), tzinfo=UTC),
        end=now,
        years_before=years_before,
    )


def eb_effect(
    session: Session,
    *,
    treated_edges: set[int],
    untreated_excluded: set[int],
    pivot: datetime,
    end: datetime,
    years_before: int = 3,
) -> safety.Effect | None:
    """The EB before–after estimate on `treated_edges`, before = the `years_before` years before `pivot`,
    after = [pivot, end); the comparison group is every segment of the treated classes not in
    `untreated_excluded` (nor treated). None when it cannot be estimated (under 30 days after, no
    treated segment on the graph, no accidents before, or no comparison group)."""
    start = pivot - timedelta(days=DAYS_PER_YEAR * years_before)
    if end <= pivot + timedelta(days=30):
        return None
    before = segment_table(session, start=start, end=pivot)
    after = segment_table(session, start=pivot, end=end)
    s = before.segments
    pos = {int(e): k for k, e in enumerate(s.edge_id.tolist())}
    treated = np.array(sorted({pos[e] for e in treated_edges if e in pos}), dtype=np.int64)
    excluded = {pos[e] for e in untreated_excluded | treated_edges if e in pos}
    if treated.size == 0 or before.counts.sum() == 0:
        return None
    classes = np.array(s.road_class)
    treated_classes = set(classes[treated].tolist())
    comparison = np.array(
        [k for k in range(classes.size) if k not in excluded and classes[k] in treated_classes],
        dtype=np.int64,
    )
    if comparison.size == 0:
        return None
    r = safety.eb_ranking(classes, before.counts, before.aadt, s.length_m, before.years)
    mu_a = r.predicted * (after.years / before.years)
    try:
        return safety.eb_before_after(
            eb_before=r.eb[treated],
            weight_before=r.weight[treated],
            mu_before=r.predicted[treated],
            mu_after=mu_a[treated],
            observed_before=before.counts[treated],
            observed_after=after.counts[treated],
            comparison_before=int(before.counts[comparison].sum()),
            comparison_after=int(after.counts[comparison].sum()),
            comparison_mu_before=float(r.predicted[comparison].sum()),
            comparison_mu_after=float(mu_a[comparison].sum()),
            years_before=before.years,
            years_after=after.years,
        )
    except ValueError:
        return None


BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class MonthFigures:
    """One month's accidents, deaths and injuries (serious and slight) in Beijing time."""

    year: int
    month: int
    accidents: int
    deaths: int
    injuries: int


def monthly_figures(session: Session, *, years: tuple[int, ...]) -> list[MonthFigures]:
    """The figures of every month of `years`, in order (months with none count zero)."""
    start = datetime(min(years), 1, 1, tzinfo=BEIJING).astimezone(UTC)
    end = datetime(max(years) + 1, 1, 1, tzinfo=BEIJING).astimezone(UTC)
    tally: dict[tuple[int, int], list[int]] = {(y, m): [0, 0, 0] for y in years for m in range(1, 13)}
    rows = session.execute(
        select(
            Accident.occurred_at, Accident.deaths, Accident.serious_injuries, Accident.slight_injuries
        ).where(Accident.occurred_at >= start, Accident.occurred_at < end)
    ).all()
    for at, deaths, serious, slight in rows:
        local = at.astimezone(BEIJING)
        t = tally.get((local.year, local.month))
        if t is not None:
            t[0] += 1
            t[1] += deaths
            t[2] += serious + slight
    return [MonthFigures(y, m, *tally[(y, m)]) for y in sorted(years) for m in range(1, 13)]


# ---------------------------------------------------------------- street racing and loud exhausts

# A point off the road graph is placed in a grid cell of CELL_DEG degrees (about 500 m in Chengdu).
CELL_DEG = 0.005


def place_of(edge_id: int | None, lat: float, lon: float) -> str:
    """A hot spot's place: `segment:ID` on the road graph, else `cell:LAT,LON` (the cell's corner)."""
    if edge_id is not None:
        return f"segment:{edge_id}"
    return f"cell:{math.floor(lat / CELL_DEG) * CELL_DEG:.3f},{math.floor(lon / CELL_DEG) * CELL_DEG:.3f}"


def place_segment(place: str) -> int | None:
    """The road segment a place (`place_of`) names; None for a grid cell."""
    kind, _, ref = place.partition(":")
    return int(ref) if kind == "segment" else None


def place_cell(place: str) -> tuple[str, str]:
    """The south-west corner (lat, lon, as written) of a grid cell's place (`place_of`)."""
    lat, _, lon = place.partition(":")[2].partition(",")
    return lat, lon


def place_point(place: str, segments: RoadSegments) -> tuple[float, float] | None:
    """Where a place lies (lat, lon): a segment's midpoint, a cell's centre; None if unknown."""
    edge_id = place_segment(place)
    if edge_id is not None:
        hits = np.flatnonzero(segments.edge_id == edge_id)
        if hits.size == 0:
            return None
        k = int(hits[0])
        return (
            float((segments.a_lat[k] + segments.b_lat[k]) / 2),
            float((segments.a_lon[k] + segments.b_lon[k]) / 2),
        )
    lat, lon = place_cell(place)
    return float(lat) + CELL_DEG / 2, float(lon) + CELL_DEG / 2


@dataclass(frozen=True)
class RacingPicture:
    """Street racing over a window: hot places and hours, proposed patrols, what they came from."""

    hot_spots: list[rules.HotSpot]
    patrols: list[rules.PatrolPlan]
    readings: int
    reports: int
    refused_media: int


def racing_picture(session: Session, *, end: datetime, days: int = 30, top: int = 20) -> RacingPicture:
    """The hot places and hours (Beijing time) of the `days` before `end` from noise readings and
    citizen reports, the `top` of them, and patrols proposed for the five hottest places."""
    start = end - timedelta(days=days)
    readings = session.execute(
        select(NoiseReading.edge_id, NoiseReading.lat, NoiseReading.lon, NoiseReading.measured_at,
               NoiseReading.lmax_db)
        .where(NoiseReading.measured_at >= start, NoiseReading.measured_at < end)
    ).all()  # fmt: skip
    reports = session.execute(
        select(RacingReport.edge_id, RacingReport.lat, RacingReport.lon, RacingReport.occurred_at).where(
            RacingReport.occurred_at >= start, RacingReport.occurred_at < end
        )
    ).all()
    refused = session.execute(
        select(func.count()).where(
            NoiseDeadLetter.reason == NoiseRefusal.FORBIDDEN_MEDIA,
            NoiseDeadLetter.received_at >= start,
            NoiseDeadLetter.received_at < end,
        )
    ).scalar_one()
    spots = rules.racing_hot_spots(
        [place_of(e, la, lo) for e, la, lo, _, _ in readings],
        np.array([at.astimezone(BEIJING).hour for *_, at, _ in readings], dtype=np.int64),
        np.array([db for *_, db in readings], dtype=float),
        [place_of(e, la, lo) for e, la, lo, _ in reports],
        np.array([at.astimezone(BEIJING).hour for *_, at in reports], dtype=np.int64),
    )
    return RacingPicture(spots[:top], rules.propose_patrols(spots), len(readings), len(reports), int(refused))


def racing_reports(session: Session, *, limit: int = 50) -> list[RacingReport]:
    """The latest citizen reports of street racing."""
    return list(
        session.execute(
            select(RacingReport)
            .order_by(RacingReport.occurred_at.desc(), RacingReport.id.desc())
            .limit(limit)
        ).scalars()
    )


def enforcements(session: Session, *, limit: int = 50) -> list[RacingEnforcement]:
    """The latest operations against street racing and their results."""
    return list(
        session.execute(
            select(RacingEnforcement)
            .order_by(RacingEnforcement.started_at.desc(), RacingEnforcement.id.desc())
            .limit(limit)
        ).scalars()
    )


def noise_dead_letters(session: Session, *, limit: int = 50) -> list[NoiseDeadLetter]:
    """The latest refused noise messages."""
    return list(
        session.execute(select(NoiseDeadLetter).order_by(NoiseDeadLetter.id.desc()).limit(limit)).scalars()
    )


# ------------------------------------------------------------------------- network kernel density


@dataclass(frozen=True)
class SegmentDensity:
    """The road graph's segments with the network kernel density of accidents at each (per km)."""

    segments: RoadSegments
    density: np.ndarray
    bandwidth_m: float
    events: int


def accident_density(
    session: Session, *, end: datetime, years: int = 3, bandwidth_m: float = 300.0
) -> SegmentDensity:
    """Network KDE of the snapped accidents of the `years` before `end` along the road graph. An
    accident's place along its segment is its projection on it (flat metres near the district)."""
    segs = road_segments(session)
    start = end - timedelta(days=DAYS_PER_YEAR * years)
    rows = session.execute(
        select(Accident.edge_id, Accident.lat, Accident.lon).where(
            Accident.edge_id.is_not(None), Accident.occurred_at >= start, Accident.occurred_at < end
        )
    ).all()
    pos = {int(e): k for k, e in enumerate(segs.edge_id.tolist())}
    found = [(pos[e], la, lo) for e, la, lo in rows if e is not None and e in pos]
    if not found or segs.edge_id.size == 0:
        return SegmentDensity(segs, np.zeros(segs.edge_id.size), bandwidth_m, 0)
    k = np.array([f[0] for f in found], dtype=np.int64)
    lat = np.array([f[1] for f in found])
    lon = np.array([f[2] for f in found])
    my, mx = metres_per_degree(float(np.concatenate([segs.a_lat, segs.b_lat]).mean()))
    ax, ay, bx, by = segs.a_lon[k] * mx, segs.a_lat[k] * my, segs.b_lon[k] * mx, segs.b_lat[k] * my
    dx, dy = bx - ax, by - ay
    t = np.clip(((lon * mx - ax) * dx + (lat * my - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0, 1)
    u, v = density.node_ids(segs.a_lat, segs.a_lon, segs.b_lat, segs.b_lon)
    d = density.network_kde(u, v, segs.length_m, k, t * segs.length_m[k], bandwidth_m=bandwidth_m)
    return SegmentDensity(segs, d, bandwidth_m, len(found))


# ------------------------------------------------------------------ violations and campaigns


@dataclass(frozen=True)
class ViolationTally:
    """Violations counted by kind, by place and by hour of the day (Beijing time)."""

    by_kind: dict[ViolationKind, int]
    by_place: list[tuple[str, int]]
    by_hour: list[int]
    total: int


def violation_tally(session: Session, *, start: datetime, end: datetime, top: int = 20) -> ViolationTally:
    """The violations found in [start, end): by kind, the `top` places, each hour."""
    rows = session.execute(
        select(Violation.kind, Violation.edge_id, Violation.lat, Violation.lon, Violation.occurred_at).where(
            Violation.occurred_at >= start, Violation.occurred_at < end
        )
    ).all()
    by_kind = dict.fromkeys(ViolationKind, 0)
    places: dict[str, int] = {}
    hours = [0] * 24
    for kind, e, la, lo, at in rows:
        by_kind[kind] += 1
        p = place_of(e, la, lo)
        places[p] = places.get(p, 0) + 1
        hours[at.astimezone(BEIJING).hour] += 1
    ranked = sorted(places.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return ViolationTally(by_kind, ranked, hours, len(rows))


def campaigns(session: Session) -> list[Campaign]:
    """Every campaign, the latest first."""
    return list(
        session.execute(select(Campaign).order_by(Campaign.started_on.desc(), Campaign.id.desc())).scalars()
    )


def campaign_edges(c: Campaign) -> list[int]:
    """The segments a campaign covers (empty: the whole district)."""
    return [int(e) for e in c.edges.split(",") if e]


# What plain counts can and cannot say (shown beside every count that is not an EB estimate).
COUNT_CAVEAT = N_(
    "Plain counts, not an effect estimate: violations found rise with how hard officers look, so a "
    "campaign raises its own counts; no correction for regression to the mean, trend or enforcement effort."
)
NO_COMPARISON_CAVEAT = N_(
    "Plain counts: the EB before-after method needs a comparison group of untreated segments and "
    "accidents before; this campaign has none (a district-wide campaign, or too little data)."
)
EB_CAVEAT = N_("EB before-after with a comparison group (Hauer 1997); 95% normal interval.")


@dataclass(frozen=True)
class CampaignFigures:
    """A campaign's before–after figures: counts before (the same length of time just before) and
    during, and the EB estimate where accidents are the outcome and it can be made."""

    campaign: Campaign
    method: str
    caveat: str
    before: int
    during: int
    before_days: int
    during_days: int
    effect: safety.Effect | None


def campaign_figures(
    session: Session, c: Campaign, *, now: datetime, years_before: int = 3
) -> CampaignFigures:
    """Before and during counts on the campaign's segments (or the district) of its outcome; for
    accidents, the EB before–after estimate against the segments it does not cover."""
    start = datetime.combine(c.started_on, time(0), tzinfo=BEIJING).astimezone(UTC)
    end = min(datetime.combine(c.ended_on + timedelta(days=1), time(0), tzinfo=BEIJING).astimezone(UTC), now)
    span = max(end - start, timedelta(0))
    edges = campaign_edges(c)

    def count(lo: datetime, hi: datetime) -> int:
        if c.outcome is CampaignOutcome.ACCIDENTS:
            q = (
                select(func.count())
                .select_from(Accident)
                .where(Accident.occurred_at >= lo, Accident.occurred_at < hi)
            )
            if edges:
                q = q.where(Accident.edge_id.in_(edges))
        else:
            q = (
                select(func.count())
                .select_from(Violation)
                .where(Violation.occurred_at >= lo, Violation.occurred_at < hi)
            )
            if edges:
                q = q.where(Violation.edge_id.in_(edges))
            if c.target is not None:
                q = q.where(Violation.kind == c.target)
        return int(session.execute(q).scalar_one())

    before, during = count(start - span, start), count(start, end)
    effect = None
    if c.outcome is CampaignOutcome.ACCIDENTS and edges:
        effect = eb_effect(
            session, treated_edges=set(edges), untreated_excluded=set(), pivot=start, end=end,
            years_before=years_before,
        )  # fmt: skip
    if effect is not None:
        method, caveat = "eb_before_after", EB_CAVEAT
    elif c.outcome is CampaignOutcome.ACCIDENTS:
        method, caveat = "plain_counts", NO_COMPARISON_CAVEAT
    else:
        method, caveat = "plain_counts", COUNT_CAVEAT
    days = span.days
    return CampaignFigures(c, method, caveat, before, during, days, days, effect)
