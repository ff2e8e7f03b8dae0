"""Early-warning pages: the live risk-event queue (server-sent events) and a person's risk timeline.

The per-rule statistics are among screening's pages: the rules are screening's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pingan.antifraud.risk import queries
from pingan.antifraud.risk.model import RiskEvent, WarningPlan
from pingan.antifraud.risk.schemas import RiskEventOut
from pingan.core import db
from pingan.core.auth import actor_from_token, request_token, require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import Unauthorized
from pingan.core.pages import render
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import NO_STATION_MESSAGE, no_station, record_list_read

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]
SSE_POLL_S = 1.0


@router.get("/risk/events", response_class=HTMLResponse)
def risk_queue(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The live queue of the reader's station view: the latest events, then new ones pushed by
    server-sent events. The read is audited."""
    with session.begin():
        events = list(
            session.execute(
                select(RiskEvent).where(queries.events_in_view(actor)).order_by(RiskEvent.id.desc()).limit(50)
            ).scalars()
        )
        record_list_read(session, actor=actor, listing="risk_event", filters={}, count=len(events))
    last_id = events[0].id if events else 0
    scope_error = NO_STATION_MESSAGE if no_station(actor) else None
    return render(request, "risk_queue.html", events=events, last_id=last_id, scope_error=scope_error)


def _event_json(e: RiskEvent) -> str:
    return RiskEventOut.model_validate(e, from_attributes=True).model_dump_json()


async def _sse(after_id: int, limit_polls: int | None, token: str) -> AsyncIterator[str]:
    # The screening engines run in other processes, so the queue reads the table rather than
    # in-process events: every second, whatever is newer than the last id sent.
    last, polls = after_id, 0
    yield "retry: 2000\n\n"
    while limit_polls is None or polls < limit_polls:
        polls += 1
        with db.read_transaction() as session:
            # A stream outlives the request that opened it: the token is checked at every poll, so
            # the stream ends at the token's expiry, at logout and when the user is deactivated.
            try:
                actor = actor_from_token(session, token)
            except Unauthorized as exc:
                yield f"event: end\ndata: {json.dumps({'reason': exc.message})}\n\n"
                return
            fresh = list(
                session.execute(
                    select(RiskEvent)
                    .where(RiskEvent.id > last, queries.events_in_view(actor))
                    .order_by(RiskEvent.id)
                    .limit(200)
                ).scalars()
            )
            lines = [f"id: {e.id}\nevent: risk\ndata: {_event_json(e)}\n\n" for e in fresh]
        for line in lines:
            yield line
        if fresh:
            last = fresh[-1].id
        else:
            yield ": keep-alive\n\n"
        await asyncio.sleep(SSE_POLL_S)


@router.get("/risk/events/stream")
def risk_stream(
    request: Request,
    actor: Reader,
    after_id: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    polls: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> StreamingResponse:
    """Server-sent events: each new risk event as JSON (`event: risk`), resumable with Last-Event-ID."""
    last = request.headers.get("last-event-id")
    start = int(last) if last and last.isdigit() else after_id
    token = request_token(request)
    assert token is not None  # the Reader guard admitted the request with it
    return StreamingResponse(
        _sse(start, polls, token), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


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
