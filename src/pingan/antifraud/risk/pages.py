"""Early-warning pages: the live risk-event queue and a person's risk timeline.

The per-rule statistics are among screening's pages: the rules are screening's."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pingan.antifraud.risk import queries
from pingan.antifraud.risk.model import RiskEvent, WarningPlan
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.pages import render
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import NO_STATION_MESSAGE, no_station, record_list_read

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]


@router.get("/risk/events", response_class=HTMLResponse)
def risk_queue(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The live queue of the reader's station view: the latest events, then new ones pushed by the
    live stream (`/live/stream?topics=risk`, risk/live.py). The read is audited."""
    with session.begin():
        events = list(
            session.execute(
                select(RiskEvent).where(queries.events_in_view(actor)).order_by(RiskEvent.id.desc()).limit(50)
            ).scalars()
        )
        record_list_read(session, actor=actor, listing="risk_event", filters={}, count=len(events))
    scope_error = NO_STATION_MESSAGE if no_station(actor) else None
    return render(request, "risk_queue.html", events=events, scope_error=scope_error)


@router.get("/risk/persons/{person_key}", response_class=HTMLResponse)
def person_timeline(person_key: str, request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """A person's risk timeline within the reader's station view: events and plans in time order, with
    every step's state. The read is audited."""
    with session.begin():
        events = list(
            session.execute(
                select(RiskEvent)
                .where(RiskEvent.person_key == person_key, queries.events_in_view(actor))
                .order_by(RiskEvent.occurred_at)
            ).scalars()
        )
        plans = list(
            session.execute(
                select(WarningPlan)
                .where(WarningPlan.person_key == person_key, queries.plans_in_view(actor))
                .order_by(WarningPlan.created_at)
                .options(selectinload(WarningPlan.steps))
            ).scalars()
        )
        record_list_read(
            session,
            actor=actor,
            listing="risk_person",
            filters={"person": person_key},
            count=len(events) + len(plans),
        )
    items = [("event", e.occurred_at, e) for e in events] + [("plan", p.created_at, p) for p in plans]
    items.sort(key=lambda i: (i[1], i[0]))
    return render(request, "risk_person.html", person_key=person_key, items=items, loads=json.loads)
