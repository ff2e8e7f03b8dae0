"""Statistics of the 110 incidents: year-over-year and month-over-month change by category and by
station, and hotspots on H3 cells tested against each cell's own history.

The rules (`change`, `poisson_upper_tail`, `hotspots`) are pure; `period_table` and `hotspot_scan`
read the incidents. Both read every incident alike, whether it came by the API, a page, the
simulator or `pingan incidents import`: they see only `received_at`, `category_code`,
`station_code` and `lat`/`lon`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import h3
from scipy.stats import poisson
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.command.categories import catalogue
from pingan.command.choices import Disposition, StatsGrouping
from pingan.command.model import Incident
from pingan.command.queries import BEIJING
from pingan.core.roles import Actor

# The calls that count as incidents here: a new incident and a hoax call. An attached call and a
# duplicate report an event already counted.
COUNTED = (Disposition.NEW, Disposition.HOAX)
YOY_FORMULA = "同比 = (本期 − 去年同期) ÷ 去年同期"
MOM_FORMULA = "环比 = (本期 − 上期) ÷ 上期"
NO_BASE = "—"
DEFAULT_RESOLUTION = 8
MIN_RESOLUTION, MAX_RESOLUTION = 5, 10
DEFAULT_HISTORY = 8
DEFAULT_ALPHA = 0.05
# A cell with fewer incidents than this in the window is never a hotspot, however quiet its past.
MIN_HOTSPOT_COUNT = 3


# What a change table is broken down by: 类别 (`class`), 类型 (`type`) or station.
Grouping = StatsGrouping


# ---------------------------------------------------------------------------------------------------
# Pure rules


def change(current: int, base: int) -> float | None:
    """(current − base) ÷ base; None when the base is zero (no rate can be stated)."""
    if base == 0:
        return None
    return (current - base) / base


def format_change(value: float | None) -> str:
    """A change as pages print it: `+12.5%`, `−40.0%`, or `—` when the base was zero."""
    if value is None or not math.isfinite(value):
        return NO_BASE
    pct = value * 100
    sign = "+" if pct > 0 else ("−" if pct < 0 else "")
    return f"{sign}{abs(pct):.1f}%"


@dataclass(frozen=True)
class Period:
    """A calendar month in Beijing time, with its year-ago month and the month before it."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """`YYYY-MM`; a ValueError otherwise."""
        y, _, m = text.partition("-")
        if len(y) != 4 or len(m) != 2 or not (y.isdigit() and m.isdigit()):
            raise ValueError("give the month as YYYY-MM")
        year, month = int(y), int(m)
        if not (2000 <= year <= 2099 and 1 <= month <= 12):
            raise ValueError("give a month between 2000-01 and 2099-12")
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Period:
        index = self.year * 12 + self.month - 1 + months
        return Period(index // 12, index % 12 + 1)

    @property
    def last_year(self) -> Period:
        return self.shift(-12)

    @property
    def previous(self) -> Period:
        return self.shift(-1)

    def bounds(self) -> tuple[datetime, datetime]:
        """The month's start and end (exclusive), in UTC."""
        start = datetime.combine(date(self.year, self.month, 1), time(0), tzinfo=BEIJING)
        nxt = self.shift(1)
        end = datetime.combine(date(nxt.year, nxt.month, 1), time(0), tzinfo=BEIJING)
        return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class ChangeRow:
    """One line of a change table: the group, its counts in the three periods, and both rates."""

    key: str
    name: str
    current: int
    last_year: int
    previous: int

    @property
    def yoy(self) -> float | None:
        return change(self.current, self.last_year)

    @property
    def mom(self) -> float | None:
        return change(self.current, self.previous)


def change_rows(
    current: Counter[str], last_year: Counter[str], previous: Counter[str], names: dict[str, str]
) -> list[ChangeRow]:
    """One row per group seen in any of the three periods, the largest current count first."""
    keys = set(current) | set(last_year) | set(previous)
    rows = [
        ChangeRow(
            key=k, name=names.get(k, k), current=current[k], last_year=last_year[k], previous=previous[k]
        )
        for k in keys
    ]
    return sorted(rows, key=lambda r: (-r.current, r.key))


def poisson_upper_tail(count: int, mean: float) -> float:
    """P(X ≥ count) for X ~ Poisson(mean): how surprising `count` is if the cell behaves as before."""
    if count <= 0:
        return 1.0
    return float(poisson.sf(count - 1, mean))


@dataclass(frozen=True)
class CellScore:
    """One H3 cell: its count in the window, its history, the expected count, the test's p-value."""

    cell: str
    count: int
    history: tuple[int, ...]
    expected: float
    p_value: float
    hotspot: bool
    lat: float
    lon: float


def hotspots(
    current: Counter[str],
    history: Sequence[Counter[str]],
    *,
    alpha: float = DEFAULT_ALPHA,
    min_count: int = MIN_HOTSPOT_COUNT,
) -> list[CellScore]:
    """Score every cell seen in the window against its own previous windows.

    Expected count λ = (sum of the cell's counts in the N previous windows + 0.5) ÷ N: the mean, with
    half an incident added so that a cell with an empty past has a small positive rate rather than
    zero. The p-value is P(X ≥ count) under Poisson(λ). A cell is a hotspot when its count is at
    least `min_count` and its p-value is below `alpha` ÷ (number of cells tested): a Bonferroni
    correction, so that testing many cells does not flag some by chance alone.
    """
    n = max(len(history), 1)
    cells = [c for c, k in current.items() if k > 0]
    threshold = alpha / max(len(cells), 1)
    out = []
    for cell in cells:
        past = tuple(h[cell] for h in history)
        expected = (sum(past) + 0.5) / n
        p = poisson_upper_tail(current[cell], expected)
        lat, lon = h3.cell_to_latlng(cell)
        out.append(
            CellScore(
                cell=cell,
                count=current[cell],
                history=past,
                expected=expected,
                p_value=p,
                hotspot=current[cell] >= min_count and p < threshold,
                lat=lat,
                lon=lon,
            )
        )
    return sorted(out, key=lambda s: (s.p_value, -s.count, s.cell))


# ---------------------------------------------------------------------------------------------------
# Queries


@dataclass(frozen=True)
class _Row:
    received_at: datetime
    category_code: str | None
    station_code: str | None
    lat: float | None
    lon: float | None


def _incidents(session: Session, actor: Actor, start: datetime, end: datetime) -> list[_Row]:
    rows = session.execute(
        select(
            Incident.received_at, Incident.category_code, Incident.station_code, Incident.lat, Incident.lon
        ).where(
            Incident.received_at >= start,
            Incident.received_at < end,
            Incident.disposition.in_(COUNTED),
        )
    ).all()
    return [_Row(*r) for r in rows if actor.sees_station(r.station_code)]


def _key(row: _Row, grouping: Grouping) -> str:
    if grouping is Grouping.STATION:
        return row.station_code or ""
    code = row.category_code or ""
    return code[: 2 if grouping is Grouping.CLASS else 4]


def _names(grouping: Grouping, session: Session) -> dict[str, str]:
    if grouping is Grouping.STATION:
        from pingan.core.org import all_stations

        return {s.code: s.name for s in all_stations(session)}
    return {code: c.name for code, c in catalogue().by_code.items()}


@dataclass(frozen=True)
class PeriodTable:
    """A change table of one month: its periods, the total row and one row per group."""

    period: Period
    grouping: Grouping
    total: ChangeRow
    rows: list[ChangeRow]


def period_table(session: Session, actor: Actor, *, period: Period, grouping: Grouping) -> PeriodTable:
    """Counts of `period`, the same month a year earlier and the month before, with YoY and MoM."""
    counts: list[Counter[str]] = []
    for p in (period, period.last_year, period.previous):
        start, end = p.bounds()
        counts.append(Counter(_key(r, grouping) for r in _incidents(session, actor, start, end)))
    total = ChangeRow(
        key="",
        name="",
        current=sum(counts[0].values()),
        last_year=sum(counts[1].values()),
        previous=sum(counts[2].values()),
    )
    rows = change_rows(counts[0], counts[1], counts[2], _names(grouping, session))
    return PeriodTable(period, grouping, total, rows)


@dataclass(frozen=True)
class HotspotScan:
    """A hotspot scan: its window, how many previous windows it compared with, and the cells."""

    start: datetime
    end: datetime
    windows: int
    resolution: int
    alpha: float
    cells: list[CellScore]


def cell_counts(rows: Iterable[_Row], resolution: int) -> Counter[str]:
    """Incidents per H3 cell at `resolution`; those without coordinates are left out."""
    return Counter(
        h3.latlng_to_cell(r.lat, r.lon, resolution) for r in rows if r.lat is not None and r.lon is not None
    )


def hotspot_scan(
    session: Session,
    actor: Actor,
    *,
    end: datetime,
    days: int = 28,
    windows: int = DEFAULT_HISTORY,
    resolution: int = DEFAULT_RESOLUTION,
    alpha: float = DEFAULT_ALPHA,
) -> HotspotScan:
    """Cells of the `days` before `end`, each against its `windows` previous windows of equal length."""
    span = timedelta(days=days)
    start = end - span
    rows = _incidents(session, actor, start - span * windows, end)
    current = cell_counts((r for r in rows if r.received_at >= start), resolution)
    history = [
        cell_counts(
            (r for r in rows if start - span * (i + 1) <= r.received_at < start - span * i), resolution
        )
        for i in range(windows)
    ]
    cells = hotspots(current, history, alpha=alpha)
    return HotspotScan(start, end, windows, resolution, alpha, cells)
