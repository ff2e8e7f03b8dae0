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
from pingan.core import db, listing
from pingan.core.auth import actor_from_token, request_token, require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import Unauthorized
from pingan.core.pages import render
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import NO_STATION_MESSAGE, no_station, record_list_read

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]
SSE_POLL_S = 1.0


ListQuery = Annotated[listing.ListParams, Depends(listing.list_params)]


def _event_filter(rule: str, status: str, date_from: str, date_to: str, q: str) -> queries.RiskEventFilter:
    """The risk queue's filters from the query string; Invalid naming the bad one."""
    return queries.RiskEventFilter(
        rule=queries.rule_filter(rule),
        status=listing.choice_filter(status, queries.EVENT_STATUSES, "status"),
        date_from=listing.date_filter(date_from, "date_from"),
        date_to=listing.date_filter(date_to, "date_to"),
        search=listing.parse_search(q),
    )


def _audited_filters(f: queries.RiskEventFilter) -> dict[str, object]:
    return listing.filters_for_audit(
        {"rule": f.rule, "status": f.status, "date_from": f.date_from, "date_to": f.date_to}, f.search
    )


@router.get("/risk/events", response_class=HTMLResponse)
def risk_queue(
    request: Request,
    session: DbSession,
    actor: Reader,
    params: ListQuery,
    rule: Annotated[str, Query(max_length=32)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """The risk queue of the reader's station view, filtered by rule, status and day, searched,
    sorted and paged; new events are pushed by server-sent events. The read is audited."""
    sort = listing.parse_sort(queries.RISK_EVENT_LIST, params.sort)
    f = _event_filter(rule, status, date_from, date_to, params.q)
    session.rollback()  # the read and its audit entry are one transaction of their own
    with session.begin():
        page = listing.fetch_page(
            session,
            queries.RISK_EVENT_LIST,
            queries.risk_event_list_query(f, actor=actor),
            sort,
            cursor=params.cursor,
            limit=params.limit,
        )
        last_id = queries.latest_event_id(session, actor=actor)
        record_list_read(
            session,
            actor=actor,
            listing="risk_event",
            filters={**_audited_filters(f), "sort": params.sort or None, "cursor": params.cursor or None},
            count=len(page.rows),
        )
    raw = {"rule": rule, "status": status, "date_from": date_from, "date_to": date_to, **params.carried()}
    return render(
        request,
        "risk_queue.html",
        lst=listing.ListView(
            path="/risk/events",
            params=raw,
            page=page,
            export_path="/risk/events/export",
            error=NO_STATION_MESSAGE if no_station(actor) else None,
        ),
        f=raw,
        statuses=queries.EVENT_STATUSES,
        reasons_of=queries.reasons_of,
        last_id=last_id,
    )


@router.get("/risk/events/export", response_model=None)
def risk_events_export(
    session: DbSession,
    actor: Reader,
    params: ListQuery,
    format: Annotated[str, Query(max_length=8)] = "csv",
    rule: Annotated[str, Query(max_length=32)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
) -> StreamingResponse:
    """Every risk event the queue's filters select, as CSV or XLSX, within the reader's view, audited
    (`risk_event.export`)."""
    fmt = listing.export_format(format)
    sort = listing.parse_sort(queries.RISK_EVENT_LIST, params.sort)
    f = _event_filter(rule, status, date_from, date_to, params.q)
    return listing.export_response(
        session,
        actor=actor,
        spec=queries.RISK_EVENT_LIST,
        query=queries.risk_event_list_query(f, actor=actor),
        sort=sort,
        columns=queries.RISK_EVENT_EXPORT,
        fmt=fmt,
        filters={**_audited_filters(f), "sort": sort.param},
        filename="risk-events",
    )


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
