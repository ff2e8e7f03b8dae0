"""The read side of traffic safety, for pages, the API and other packages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pingan.command.queries import RoadSegments, road_segments
from pingan.traffic import rules, safety
from pingan.traffic.choices import Cause, CountermeasureKind, Severity
from pingan.traffic.model import Accident, Countermeasure, SegmentVolume


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
    pivot = datetime.combine(first, time(0), tzinfo=UTC)
    start = pivot - timedelta(days=DAYS_PER_YEAR * years_before)
    if now <= pivot + timedelta(days=30):
        return None
    before = segment_table(session, start=start, end=pivot)
    after = segment_table(session, start=pivot, end=now)
    s = before.segments
    pos = {int(e): k for k, e in enumerate(s.edge_id.tolist())}
    treated = np.array(sorted({pos[m.edge_id] for m in measures if m.edge_id in pos}), dtype=np.int64)
    every_treated = {
        pos[m.edge_id] for m in session.execute(select(Countermeasure)).scalars() if m.edge_id in pos
    }
    if treated.size == 0 or before.counts.sum() == 0:
        return None
    classes = np.array(s.road_class)
    comparison = np.array(
        [k for k in range(classes.size) if k not in every_treated and classes[k] in set(classes[treated])],
        dtype=np.int64,
    )
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
