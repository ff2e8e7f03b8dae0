"""Read side of risk events and warning plans, for pages and for other packages (outcomes, screening)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Row, func, select, true
from sqlalchemy.orm import Session

from pingan.antifraud.risk.choices import StepChannel, StepState
from pingan.antifraud.risk.model import RiskEvent, WarningPlan, WarningStep
from pingan.core import bulk, clock
from pingan.core.roles import Actor
from pingan.core.scoping import station_condition


def risk_event_person(session: Session, event_id: int) -> str | None:
    """The person key of stored risk event `event_id`, or None when there is no such event."""
    return session.execute(select(RiskEvent.person_key).where(RiskEvent.id == event_id)).scalar_one_or_none()


def plans_created_after(session: Session, after: datetime) -> list[WarningPlan]:
    """The plans created after `after`."""
    return list(session.execute(select(WarningPlan).where(WarningPlan.created_at > after)).scalars())


def plans_created_in(session: Session, start: datetime, end: datetime) -> list[WarningPlan]:
    """The plans created in [start, end), the largest amount at risk first."""
    return list(
        session.execute(
            select(WarningPlan)
            .where(WarningPlan.created_at >= start, WarningPlan.created_at < end)
            .order_by(WarningPlan.amount_at_risk_fen.desc())
        ).scalars()
    )


def plans_of_persons(
    session: Session, person_keys: Iterable[str], *, after: datetime, until: datetime
) -> list[WarningPlan]:
    """The plans of these persons created in (after, until], in one query."""
    return list(
        session.execute(
            select(WarningPlan).where(
                bulk.any_of(session, WarningPlan.person_key, set(person_keys)),
                WarningPlan.created_at <= until,
                WarningPlan.created_at > after,
            )
        ).scalars()
    )


def any_plan_of_persons(
    session: Session, person_keys: Iterable[str], *, after: datetime, until: datetime
) -> bool:
    """Whether any of these persons has a plan created in (after, until] (one row read at most)."""
    found = session.execute(
        select(WarningPlan.id)
        .where(
            bulk.any_of(session, WarningPlan.person_key, set(person_keys)),
            WarningPlan.created_at <= until,
            WarningPlan.created_at > after,
        )
        .limit(1)
    ).first()
    return found is not None


def later_events(
    session: Session, *, person_key: str, after: datetime, until: datetime, other_than_plan: int
) -> list[tuple[list[str], int]]:
    """The reasons and amount of each risk event of a person in (after, until] that another plan than this one raised."""
    rows = session.execute(
        select(RiskEvent.reasons, RiskEvent.amount_fen).where(
            RiskEvent.person_key == person_key,
            RiskEvent.occurred_at > after,
            RiskEvent.occurred_at <= until,
            RiskEvent.plan_id != other_than_plan,
        )
    ).all()
    return [(json.loads(reasons), amount) for reasons, amount in rows]


def events_in(
    session: Session, start: datetime, end: datetime
) -> Sequence[Row[str, str, datetime, datetime, str]]:
    """(reasons as JSON, person key, occurred at, detected at, engine) of each risk event that occurred
    in [start, end). The engine (`batch`, `stream`) says whether detection followed the transfer live."""
    return list(
        session.execute(
            select(
                RiskEvent.reasons,
                RiskEvent.person_key,
                RiskEvent.occurred_at,
                RiskEvent.detected_at,
                RiskEvent.engine,
            ).where(RiskEvent.occurred_at >= start, RiskEvent.occurred_at < end)
        ).all()
    )


def latest_activity_at(session: Session) -> datetime | None:
    """When the latest risk event occurred or the latest plan was created; None when there are none."""
    event_at = session.execute(select(func.max(RiskEvent.occurred_at))).scalar_one()
    plan_at = session.execute(select(func.max(WarningPlan.created_at))).scalar_one()
    found = [clock.ensure_utc(t) for t in (event_at, plan_at) if t is not None]
    return max(found) if found else None


def step_states(session: Session, plan_ids: Iterable[int]) -> dict[int, list[tuple[StepChannel, StepState]]]:
    """Each plan's steps as (channel, state), in one query per 500 plans."""
    ids = sorted(set(plan_ids))
    out: dict[int, list[tuple[StepChannel, StepState]]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(WarningStep.plan_id, WarningStep.channel, WarningStep.state)
            .where(WarningStep.plan_id.in_(chunk))
            .order_by(WarningStep.plan_id, WarningStep.seq)
        )
        for plan_id, channel, state in rows:
            out[plan_id].append((channel, state))
    return out


@dataclass(frozen=True)
class RuleHits:
    """How many risk events each rule raised, and the amount they carried (fen)."""

    counts: dict[str, int]
    amounts: dict[str, int]
    total: int


def rule_hits(session: Session) -> RuleHits:
    """Per rule id, the risk events that name it among their reasons, and their amounts."""
    counts: dict[str, int] = {}
    amounts: dict[str, int] = {}
    for reasons, amount in session.execute(select(RiskEvent.reasons, RiskEvent.amount_fen)).all():
        for rid in {r.split(":")[0] for r in json.loads(reasons)}:
            counts[rid] = counts.get(rid, 0) + 1
            amounts[rid] = amounts.get(rid, 0) + amount
    total = session.execute(select(func.count(RiskEvent.id))).scalar_one()
    return RuleHits(counts, amounts, total)


def events_in_view(actor: Actor) -> ColumnElement[bool]:
    """The condition that keeps the risk events within `actor`'s station view.

    A risk event has no station of its own: it is an officer's when a warning plan for the same person
    names the officer's station as the person's home. District-wide roles and grants see every event.
    """
    if actor.district_wide:
        return true()
    planned_here = select(WarningPlan.person_key).where(station_condition(actor, WarningPlan.home_station))
    return RiskEvent.person_key.in_(planned_here)


def plans_in_view(actor: Actor) -> ColumnElement[bool]:
    """The condition that keeps the warning plans of people whose home station is in `actor`'s view."""
    return station_condition(actor, WarningPlan.home_station)
