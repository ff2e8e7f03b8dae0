"""Early-warning pages: the live risk-event queue and a person's risk timeline.

The per-rule statistics are among screening's pages: the rules are screening's."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pingan.antifraud.risk import queries
from pingan.antifraud.risk.model import RiskEvent, WarningPlan
from pingan.core import listing
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.pages import render
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import NO_STATION_MESSAGE, no_station, record_list_read

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]


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
    sorted and paged; new events are pushed on top by the live stream
    (`/live/stream?topics=risk`, risk/live.py). The read is audited."""
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
        reasons_in_words=queries.reasons_in_words,
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
