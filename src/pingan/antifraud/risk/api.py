"""Risk events and warning plans over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pingan.antifraud.risk import queries
from pingan.antifraud.risk.model import RiskEvent, WarningPlan
from pingan.antifraud.risk.schemas import PlanOut, RiskEventOut
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import NotFound
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import record_list_read

router = APIRouter(prefix="/api/v1", tags=["early warning"])
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]


@router.get("/risk-events", response_model=list[RiskEventOut])
def list_risk_events(
    session: DbSession,
    actor: Reader,
    after_id: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    person_key: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RiskEventOut]:
    """Risk events within the caller's station view, newest first (or after `after_id`, oldest first,
    for a live queue). The read is audited."""
    q = select(RiskEvent).where(queries.events_in_view(actor))
    if person_key:
        q = q.where(RiskEvent.person_key == person_key)
    q = (
        q.where(RiskEvent.id > after_id).order_by(RiskEvent.id.asc())
        if after_id
        else q.order_by(RiskEvent.id.desc())
    )
    with session.begin():
        events = [
            RiskEventOut.model_validate(e, from_attributes=True)
            for e in session.execute(q.limit(limit)).scalars()
        ]
        record_list_read(
            session,
            actor=actor,
            listing="risk_event",
            filters={"after_id": after_id or None, "person_key": person_key},
            count=len(events),
        )
    return events


@router.get("/warning-plans/{plan_id}", response_model=PlanOut)
def get_plan(plan_id: int, session: DbSession, actor: Reader) -> PlanOut:
    """One warning plan with its steps."""
    plan = session.execute(
        select(WarningPlan)
        .where(WarningPlan.id == plan_id, queries.plans_in_view(actor))
        .options(selectinload(WarningPlan.steps))
    ).scalar_one_or_none()
    if plan is None:
        raise NotFound(f"no warning plan {plan_id}", field="plan_id")
    return PlanOut.model_validate(plan, from_attributes=True)
