"""Risk events, warning plans and the watchlist over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pingan.antifraud.risk import queries
from pingan.antifraud.risk.model import RiskEvent, WarningPlan
from pingan.antifraud.risk.schemas import DelistIn, PlanOut, RiskEventOut, WatchlistIn, WatchlistOut
from pingan.antifraud.watchlist import actions as watch
from pingan.antifraud.watchlist import queries as watch_queries
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.errors import NotFound
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor, Role
from pingan.core.scoping import record_list_read

router = APIRouter(prefix="/api/v1", tags=["early warning"])
Reader = Annotated[Actor, Depends(require_roles(Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR, Role.OFFICER))]
Analyst = Annotated[Actor, Depends(require_roles(Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR))]


@router.get("/risk-events", response_model=list[RiskEventOut])
def list_risk_events(
    session: DbSession,
    actor: Reader,
    after_id: int = 0,
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


@router.get("/watchlist", response_model=list[WatchlistOut])
def list_watchlist(
    session: DbSession, actor: Analyst, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[WatchlistOut]:
    """Watchlist entries, newest first."""
    rows = watch_queries.recent_entries(session, limit=limit)
    return [WatchlistOut.model_validate(e, from_attributes=True) for e in rows]


@router.post("/watchlist", response_model=WatchlistOut, status_code=201)
def add_to_watchlist(body: WatchlistIn, session: DbSession, actor: Analyst) -> WatchlistOut:
    """List an account with its source and evidence (it warns payers; it orders nothing)."""
    card = protect(PiiKind.CARD, body.card_number, field="card_number")
    with session.begin():
        entry = watch.do_list_account(
            session,
            account_pseudonym=card.pseudonym,
            account_masked=card.masked,
            bank=body.bank,
            source=body.source,
            evidence=dict(body.evidence),
            confidence=body.confidence,
            actor=actor,
        )
    return WatchlistOut.model_validate(entry, from_attributes=True)


@router.post("/watchlist/{entry_id}/delist", response_model=WatchlistOut)
def delist(entry_id: int, body: DelistIn, session: DbSession, actor: Analyst) -> WatchlistOut:
    """Delist an entry, with the reason (an appeal upheld, an error found)."""
    watch.check_delist(actor, body.reason)
    with session.begin():
        entry = watch.do_delist(session, entry_id=entry_id, reason=body.reason, actor=actor)
    return WatchlistOut.model_validate(entry, from_attributes=True)
