"""The read side of call-backs: the tasks in view, the draws, and a month's figures with the
satisfaction per station (each share with its base and 95% Wilson interval)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core.roles import Actor
from pingan.core.scoping import station_condition
from pingan.supervision.callbacks import rules
from pingan.supervision.callbacks.choices import CallbackOutcome, TaskState
from pingan.supervision.callbacks.model import CallbackDraw, CallbackTask


def tasks(
    session: Session, actor: Actor, *, state: TaskState | None = None, limit: int = 200
) -> Sequence[CallbackTask]:
    """Call-back tasks in view: those to call first, oldest closed incident first; then those made."""
    q = select(CallbackTask).where(station_condition(actor, CallbackTask.station_code))
    if state is not None:
        q = q.where(CallbackTask.state == state)
    return session.scalars(
        q.order_by(CallbackTask.state.desc(), CallbackTask.incident_closed_at, CallbackTask.id).limit(limit)
    ).all()


def draws(session: Session, *, limit: int = 20) -> Sequence[CallbackDraw]:
    """The latest weekly draws, newest week first."""
    return session.scalars(select(CallbackDraw).order_by(CallbackDraw.week_start.desc()).limit(limit)).all()


@dataclass(frozen=True)
class StationFigures:
    station_code: str
    figures: rules.Figures


@dataclass(frozen=True)
class MonthFigures:
    """The call-back figures of the weeks whose Monday falls in a month (Beijing calendar)."""

    month: str
    weeks: int
    figures: rules.Figures
    by_station: list[StationFigures]


def _month_days(month: str) -> tuple[date, date]:
    year, mon = int(month[:4]), int(month[5:7])
    return date(year, mon, 1), date(year + (mon == 12), mon % 12 + 1, 1)


def month_figures(session: Session, month: str, *, actor: Actor | None = None) -> MonthFigures:
    """The month's figures: call-back rate over the closed incidents the weeks drew from, reach rate,
    satisfaction; per station the same but the call-back rate (the draw keeps the district's base)."""
    first, after = _month_days(month)
    week_draws = session.scalars(
        select(CallbackDraw).where(CallbackDraw.week_start >= first, CallbackDraw.week_start < after)
    ).all()
    ids = [d.id for d in week_draws]
    q = select(CallbackTask.station_code, CallbackTask.outcome).where(CallbackTask.draw_id.in_(ids))
    if actor is not None:
        q = q.where(station_condition(actor, CallbackTask.station_code))
    per_station: dict[str, list[CallbackOutcome | None]] = {}
    for station, outcome in session.execute(q) if ids else ():
        per_station.setdefault(station, []).append(outcome)
    outcomes = [o for rows in per_station.values() for o in rows]
    by_station = [
        StationFigures(code, rules.figures(0, len(rows), rows)) for code, rows in sorted(per_station.items())
    ]
    # Lowest lower bound of satisfaction first: the stations to look at.
    by_station.sort(key=lambda s: (s.figures.satisfaction.low, s.station_code))
    return MonthFigures(
        month=month,
        weeks=len(week_draws),
        figures=rules.figures(sum(d.eligible for d in week_draws), len(outcomes), outcomes),
        by_station=by_station,
    )
