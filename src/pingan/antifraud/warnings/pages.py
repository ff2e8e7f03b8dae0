"""Pages of warning delivery: figures and deliveries, a person's warning timeline (texts and call audio),
and the home-visit queue for officers with the supervisor's overdue alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy import Select, or_, select

from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports import queries as report_queries
from pingan.antifraud.warnings import queries, rules
from pingan.antifraud.warnings.choices import ChannelKind, DeliveryState
from pingan.antifraud.warnings.figures import compute_figures
from pingan.antifraud.warnings.model import WarningAlert, WarningDelivery, WarningMessage
from pingan.antifraud.warnings.visits import actions as visit_actions
from pingan.antifraud.warnings.visits.actions import VISIT_STAFF
from pingan.antifraud.warnings.visits.choices import VisitOutcome, VisitState
from pingan.antifraud.warnings.visits.model import HomeVisitTask
from pingan.core import listing
from pingan.core.auth import require_roles
from pingan.core.deps import CsrfChecked, DbSession
from pingan.core.errors import DomainError, NotFound
from pingan.core.pages import render
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import (
    NO_STATION_MESSAGE,
    check_station,
    no_station,
    record_list_read,
    station_condition,
)

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]
FieldStaff = Annotated[Actor, Depends(require_roles(*VISIT_STAFF))]


ListQuery = Annotated[listing.ListParams, Depends(listing.list_params)]


def _delivery_filter(channel: str, status: str, q: str) -> queries.DeliveryFilter:
    """The deliveries list's filters from the query string; Invalid naming the bad one."""
    return queries.DeliveryFilter(
        channel=listing.enum_filter(channel, ChannelKind, "channel"),
        status=listing.enum_filter(status, DeliveryState, "status"),
        search=listing.parse_search(q),
    )


def _audited_filters(f: queries.DeliveryFilter) -> dict[str, object]:
    return listing.filters_for_audit({"channel": f.channel, "status": f.status}, f.search)


@router.get("/warnings", response_class=HTMLResponse)
def warnings_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    params: ListQuery,
    channel: Annotated[str, Query(max_length=16)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """Figures, open alerts and the deliveries of the officer's station (the district's, for
    district-wide roles and grants), filtered by channel and status, searched, sorted and paged; the
    read of the delivery list is audited."""
    sort = listing.parse_sort(queries.DELIVERY_LIST, params.sort)
    f = _delivery_filter(channel, status, params.q)
    figures = compute_figures(session)
    session.rollback()  # the list read and its audit entry are one transaction of their own
    with session.begin():
        page = listing.fetch_page(
            session,
            queries.DELIVERY_LIST,
            queries.delivery_list_query(f, actor=actor),
            sort,
            cursor=params.cursor,
            limit=params.limit,
        )
        alerts = list(session.execute(_open_alerts(actor)).scalars())
        record_list_read(
            session,
            actor=actor,
            listing="warning_delivery",
            filters={**_audited_filters(f), "sort": params.sort or None, "cursor": params.cursor or None},
            count=len(page.rows),
        )
    raw = {"channel": channel, "status": status, **params.carried()}
    return render(
        request,
        "warnings.html",
        f=figures,
        lst=listing.ListView(
            path="/warnings",
            params=raw,
            page=page,
            export_path="/warnings/export",
            error=NO_STATION_MESSAGE if no_station(actor) else None,
        ),
        chosen=raw,
        channels=list(ChannelKind),
        states=list(DeliveryState),
        alerts=alerts,
        scope_error=NO_STATION_MESSAGE if no_station(actor) else None,
    )


@router.get("/warnings/export", response_model=None)
def warnings_export(
    session: DbSession,
    actor: Reader,
    params: ListQuery,
    format: Annotated[str, Query(max_length=8)] = "csv",
    channel: Annotated[str, Query(max_length=16)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
) -> StreamingResponse:
    """Every delivery the list's filters select, as CSV or XLSX: phones masked, within the reader's
    station view, audited (`warning_delivery.export`)."""
    fmt = listing.export_format(format)
    sort = listing.parse_sort(queries.DELIVERY_LIST, params.sort)
    f = _delivery_filter(channel, status, params.q)
    return listing.export_response(
        session,
        actor=actor,
        spec=queries.DELIVERY_LIST,
        query=queries.delivery_list_query(f, actor=actor),
        sort=sort,
        columns=queries.DELIVERY_EXPORT,
        fmt=fmt,
        filters={**_audited_filters(f), "sort": sort.param},
        filename="warnings",
    )


def _open_alerts(actor: Actor, kind: str | None = None) -> Select[WarningAlert]:
    """Open alerts of the actor's station view, and those of no station (a gateway down)."""
    q = select(WarningAlert).where(
        WarningAlert.closed_at.is_(None),
        or_(WarningAlert.station_code.is_(None), station_condition(actor, WarningAlert.station_code)),
    )
    return q if kind is None else q.where(WarningAlert.kind == kind)


@router.get("/warnings/persons/{pseudonym}", response_class=HTMLResponse)
def person_page(request: Request, pseudonym: str, session: DbSession, actor: Reader) -> HTMLResponse:
    """One person's warning timeline within the reader's station view: every text sent and every
    call's audio. The read is audited."""
    with session.begin():
        deliveries = list(
            session.execute(
                select(WarningDelivery)
                .where(
                    WarningDelivery.person_pseudonym == pseudonym,
                    station_condition(actor, WarningDelivery.home_station_code),
                )
                .order_by(WarningDelivery.received_at)
            ).scalars()
        )
        visits = list(
            session.execute(
                select(HomeVisitTask).where(
                    HomeVisitTask.person_pseudonym == pseudonym,
                    station_condition(actor, HomeVisitTask.station_code),
                )
            ).scalars()
        )
        record_list_read(
            session,
            actor=actor,
            listing="warning_person",
            filters={"person": pseudonym},
            count=len(deliveries) + len(visits),
        )
    # Reach is derived here from the messages, by the rule: delivered only on a delivery report,
    # answered only on an answered call, "recorded, not sent" for what only the outbox took.
    reach = {d.id: rules.delivery_reach((m.kind, m.state) for m in d.messages) for d in deliveries}
    message_reach = {m.id: rules.message_reach(m.kind, m.state) for d in deliveries for m in d.messages}
    return render(
        request,
        "warnings_person.html",
        pseudonym=pseudonym,
        deliveries=deliveries,
        reach=reach,
        message_reach=message_reach,
        visits=visits,
        scope_error=NO_STATION_MESSAGE if no_station(actor) else None,
    )


@router.get("/warnings/messages/{message_id}/audio", response_model=None)
def message_audio(message_id: int, session: DbSession, actor: Reader) -> FileResponse:
    """The WAV a call played (or, from the outbox, would have played)."""
    m = session.get(WarningMessage, message_id)
    if m is None or not m.audio_path or not Path(m.audio_path).exists():
        raise NotFound(f"no audio for message {message_id}")
    check_station(actor, m.delivery.home_station_code, what=f"audio for message {message_id}")
    return FileResponse(m.audio_path, media_type="audio/wav")


@router.get("/warnings/visits", response_class=HTMLResponse)
def visits_page(request: Request, session: DbSession, actor: FieldStaff, error: str = "") -> HTMLResponse:
    """Open home-visit tasks of the officer's station (the district's, for supervisors and grants) by
    deadline; overdue ones and their alerts are marked for the supervisor. The read is audited."""
    with session.begin():
        tasks = list(
            session.execute(
                select(HomeVisitTask)
                .where(
                    HomeVisitTask.state != VisitState.DONE,
                    station_condition(actor, HomeVisitTask.station_code),
                )
                .order_by(HomeVisitTask.deadline_at)
            ).scalars()
        )
        alerts = list(session.execute(_open_alerts(actor, "visit_overdue")).scalars())
        report_ids = [t.report_id for t in tasks if t.report_id is not None]
        reports = report_queries.reports_by_id(session, report_ids)
        record_list_read(
            session, actor=actor, listing="home_visit", filters={"open_only": True}, count=len(tasks)
        )
    if no_station(actor) and not error:
        error = NO_STATION_MESSAGE
    return render(
        request,
        "warnings_visits.html",
        tasks=tasks,
        alerts=alerts,
        outcomes=list(VisitOutcome),
        error=error,
        reports=reports,
    )


@router.post("/warnings/visits/{task_id}/confirm-report", response_model=None)
def visit_confirm_report(
    request: Request, task_id: int, session: DbSession, actor: FieldStaff, _csrf: CsrfChecked
) -> RedirectResponse:
    """The receiving officer confirms the report a key-2 call opened (受案登记): the robot starts on it."""
    try:
        with session.begin():
            task = visit_actions.get_task(session, task_id, actor=actor)
            if task.report_id is None:
                raise NotFound(f"task {task_id} has no report to confirm")
            report = report_actions.get_report(session, task.report_id)
            report_actions.check_confirm_report(report, actor=actor)
            report_actions.do_confirm_report(session, report, actor=actor)
    except DomainError as exc:
        return RedirectResponse(f"/warnings/visits?{urlencode({'error': str(exc)})}", status_code=303)
    return RedirectResponse("/warnings/visits", status_code=303)


@router.post("/warnings/visits/{task_id}/accept", response_model=None)
def visit_accept(
    request: Request, task_id: int, session: DbSession, actor: FieldStaff, _csrf: CsrfChecked
) -> RedirectResponse:
    """Accept a task from the queue."""
    try:
        with session.begin():
            task = visit_actions.get_task(session, task_id, actor=actor)
            visit_actions.check_accept(task, actor=actor)
            visit_actions.do_accept(session, task, actor=actor)
    except DomainError as exc:
        return RedirectResponse(f"/warnings/visits?{urlencode({'error': str(exc)})}", status_code=303)
    return RedirectResponse("/warnings/visits", status_code=303)


@router.post("/warnings/visits/{task_id}/outcome", response_model=None)
def visit_outcome(
    request: Request,
    task_id: int,
    session: DbSession,
    actor: FieldStaff,
    _csrf: CsrfChecked,
    outcome: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Record a visit's outcome from the form."""
    try:
        with session.begin():
            task = visit_actions.get_task(session, task_id, actor=actor)
            value = visit_actions.check_outcome(task, outcome=outcome, actor=actor)
            visit_actions.do_record_outcome(session, task, outcome=value, note=note, actor=actor)
    except DomainError as exc:
        return RedirectResponse(f"/warnings/visits?{urlencode({'error': str(exc)})}", status_code=303)
    return RedirectResponse("/warnings/visits", status_code=303)
