"""The read side of community mediation, for pages, the API and other packages."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from pingan.community import rules
from pingan.community.actions import clocks_of
from pingan.community.choices import ClockState, DisputeStatus, DisputeType, Grade
from pingan.community.model import ClockBreach, Dispute, DisputeGrade, DisputeLink, StationTask
from pingan.core.roles import Actor
from pingan.core.scoping import station_condition

BEIJING = ZoneInfo("Asia/Shanghai")
GRADE_ORDER = {Grade.RED: 0, Grade.ORANGE: 1, Grade.YELLOW: 2, Grade.BLUE: 3}


def disputes_in_view(actor: Actor) -> ColumnElement[bool]:
    """The disputes of `actor`'s station view."""
    return station_condition(actor, Dispute.station_code)


@dataclass(frozen=True)
class QueueRow:
    """A dispute in the mediator's queue with its clocks and the next deadline that matters."""

    dispute: Dispute
    clocks: list[rules.Clock]
    next_deadline: datetime | None
    open_tasks: int


def queue(session: Session, actor: Actor, *, now: datetime, limit: int = 200) -> list[QueueRow]:
    """Disputes that still need work: open ones, and agreed ones whose follow-up or confirmation clock
    runs; reddest first, then the nearest deadline."""
    disputes = list(
        session.execute(
            select(Dispute)
            .where(disputes_in_view(actor), Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.AGREED]))
            .options(selectinload(Dispute.parties), selectinload(Dispute.mediators))
            .order_by(Dispute.taken_in_at.desc())
            .limit(limit * 4)
        ).scalars()
    )
    tasks: dict[int, int] = defaultdict(int)
    if disputes:
        for t in session.execute(
            select(StationTask).where(
                StationTask.dispute_id.in_([d.id for d in disputes]), StationTask.done_at.is_(None)
            )
        ).scalars():
            tasks[t.dispute_id] += 1
    rows = []
    for d in disputes:
        cs = clocks_of(d, now=now)
        pending = [c for c in cs if c.state not in (ClockState.MET, ClockState.LAPSED)]
        if d.status is DisputeStatus.AGREED and not pending and not tasks[d.id]:
            continue
        nxt = min((c.deadline for c in pending), default=None)
        rows.append(QueueRow(d, cs, nxt, tasks[d.id]))
    rows.sort(
        key=lambda r: (
            GRADE_ORDER[r.dispute.grade],
            r.next_deadline or datetime.max.replace(tzinfo=now.tzinfo),
            r.dispute.id,
        )
    )
    return rows[:limit]


@dataclass(frozen=True)
class DisputeView:
    """A dispute with everything its page shows."""

    dispute: Dispute
    clocks: list[rules.Clock]
    grades: list[DisputeGrade]
    contributions: list[rules.Contribution]
    earlier: list[DisputeLink]
    later: list[DisputeLink]
    tasks: list[StationTask]
    breaches: list[ClockBreach]


def dispute_view(session: Session, dispute: Dispute, *, now: datetime) -> DisputeView:
    """The dispute's clocks, its grades (latest last) with the latest's contributions, its links,
    tasks and recorded breaches."""
    grades = list(
        session.execute(
            select(DisputeGrade).where(DisputeGrade.dispute_id == dispute.id).order_by(DisputeGrade.id)
        ).scalars()
    )
    contributions = (
        [rules.Contribution(n, v, p) for n, v, p in json.loads(grades[-1].contributions)] if grades else []
    )
    earlier = list(
        session.execute(
            select(DisputeLink).where(DisputeLink.dispute_id == dispute.id).order_by(DisputeLink.earlier_id)
        ).scalars()
    )
    later = list(
        session.execute(
            select(DisputeLink).where(DisputeLink.earlier_id == dispute.id).order_by(DisputeLink.dispute_id)
        ).scalars()
    )
    tasks = list(
        session.execute(
            select(StationTask).where(StationTask.dispute_id == dispute.id).order_by(StationTask.id)
        ).scalars()
    )
    breaches = list(
        session.execute(
            select(ClockBreach).where(ClockBreach.dispute_id == dispute.id).order_by(ClockBreach.id)
        ).scalars()
    )
    return DisputeView(
        dispute, clocks_of(dispute, now=now), grades, contributions, earlier, later, tasks, breaches
    )


@dataclass(frozen=True)
class EmployerRow:
    """Wage arrears of one employer: cases, owed, recovered, and still open."""

    employer: str
    cases: int
    open_cases: int
    owed_fen: int
    recovered_fen: int

    @property
    def outstanding_fen(self) -> int:
        """Owed and not recovered."""
        return self.owed_fen - self.recovered_fen


def wage_cases(session: Session, actor: Actor, *, limit: int = 50) -> tuple[list[Dispute], list[EmployerRow]]:
    """The biggest open wage-arrears cases (by amount still owed) and the totals per employer."""
    disputes = list(
        session.execute(
            select(Dispute).where(disputes_in_view(actor), Dispute.kind == DisputeType.WAGE_ARREARS)
        ).scalars()
    )
    open_cases = sorted(
        (d for d in disputes if d.status is DisputeStatus.OPEN or d.recovered_fen < d.owed_fen),
        key=lambda d: (-(d.owed_fen - d.recovered_fen), d.id),
    )[:limit]
    by: dict[str, list[Dispute]] = defaultdict(list)
    for d in disputes:
        by[d.employer].append(d)
    employers = [
        EmployerRow(
            name,
            len(ds),
            sum(1 for d in ds if d.status is DisputeStatus.OPEN),
            sum(d.owed_fen for d in ds),
            sum(d.recovered_fen for d in ds),
        )
        for name, ds in by.items()
    ]
    employers.sort(key=lambda e: (-e.outstanding_fen, e.employer))
    return open_cases, employers


@dataclass(frozen=True)
class MonthRow:
    """One month's figures: taken in, resolved by agreement, average days to close, repeats, escalated."""

    month: str
    taken_in: int
    agreed: int
    closed: int
    average_days: float | None
    repeats: int
    escalated: int

    @property
    def resolved_pct(self) -> float | None:
        """Agreed of those taken in, in per cent."""
        return 100.0 * self.agreed / self.taken_in if self.taken_in else None


def monthly(session: Session, actor: Actor) -> list[MonthRow]:
    """Figures per month of intake (Beijing time), oldest first."""
    rows = session.execute(
        select(Dispute.taken_in_at, Dispute.status, Dispute.closed_at, Dispute.repeat_count).where(
            disputes_in_view(actor)
        )
    ).all()
    acc: dict[str, list[tuple[DisputeStatus, float | None, int]]] = defaultdict(list)
    for taken, status, closed, repeats in rows:
        month = taken.astimezone(BEIJING).strftime("%Y-%m")
        days = (closed - taken).total_seconds() / 86400 if closed is not None else None
        acc[month].append((status, days, repeats))
    out = []
    for month in sorted(acc):
        items = acc[month]
        spans = [d for _, d, _ in items if d is not None]
        out.append(
            MonthRow(
                month,
                len(items),
                sum(1 for s, _, _ in items if s is DisputeStatus.AGREED),
                len(spans),
                sum(spans) / len(spans) if spans else None,
                sum(1 for _, _, r in items if r > 0),
                sum(1 for s, _, _ in items if s is DisputeStatus.ESCALATED),
            )
        )
    return out


def open_tasks(session: Session, actor: Actor) -> list[StationTask]:
    """Station tasks not yet done, soonest due first."""
    return list(
        session.execute(
            select(StationTask)
            .where(station_condition(actor, StationTask.station_code), StationTask.done_at.is_(None))
            .order_by(StationTask.due_at, StationTask.id)
        ).scalars()
    )
