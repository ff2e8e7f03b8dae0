"""Pages of complaints and petitions: the queue with its live clocks, the intake form, a complaint's
page with its clocks, timeline, links and a form for each handling step, and the monthly figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pingan.core import audit, clock, listing
from pingan.core.auth import require_roles
from pingan.core.deps import CsrfChecked, DbSession
from pingan.core.downloads import BulletinFormat, bulletin_response, record_bulletin_export
from pingan.core.errors import DomainError, Invalid
from pingan.core.i18n import _, label
from pingan.core.org import all_stations
from pingan.core.pages import ECHARTS_JS, form_refusal, form_time, page_message, render, run_form
from pingan.core.roles import Actor
from pingan.supervision.callbacks import queries as callbacks_queries
from pingan.supervision.complaints import actions, bulletin_files, queries, rules
from pingan.supervision.complaints.choices import (
    CallbackResult,
    Channel,
    ComplaintStatus,
    Finding,
    ReviewOutcome,
    RootCause,
    SubjectKind,
)
from pingan.supervision.complaints.pack import in_force
from pingan.supervision.complaints.schemas import (
    AcceptIn,
    AnswerIn,
    AssignIn,
    CallbackIn,
    ComplaintIn,
    ExtensionRequestIn,
    FindingIn,
    NoteIn,
    ReviewDecisionIn,
    ReviewRequestIn,
)
from pingan.supervision.rules import BEIJING

router = APIRouter(include_in_schema=False)
Intake = Annotated[Actor, Depends(require_roles(*actions.INTAKE_ROLES))]
Handler = Annotated[Actor, Depends(require_roles(*actions.HANDLERS))]
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Text = Annotated[str, Form(max_length=8000)]
When = Annotated[str, Form(max_length=40)]


@router.get("/complaints", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    status: Annotated[str, Query(max_length=16)] = "",
    attention: Annotated[str, Query(max_length=3)] = "",
) -> HTMLResponse:
    """The queue: complaints in view by their next due time, counting down live."""
    now = clock.now()
    error = None
    rows: list[queries.QueueRow] = []
    try:
        chosen = listing.enum_filter(status, ComplaintStatus, "status")
        with session.begin():
            rows = queries.queue(session, actor, now=now, status=chosen, attention=attention == "1")
            audit.record(
                session,
                actor=actor,
                action="supervision.complaint_list_read",
                object_type="complaint",
                object_id=len(rows),
            )
    except DomainError as exc:
        error = page_message(exc)
    return render(
        request,
        "complaints_queue.html",
        400 if error else 200,
        rows=rows,
        categories=actions.categories(),
        statuses=list(ComplaintStatus),
        chosen={"status": status, "attention": attention},
        error=error,
        now=now,
    )


def _new_form(request: Request, status: int, form: dict[str, str], error: str | None) -> HTMLResponse:
    return render(
        request,
        "complaints_new.html",
        status,
        form=form,
        error=error,
        channels=list(Channel),
        subject_kinds=list(SubjectKind),
        categories=actions.categories(),
    )


@router.get("/complaints/new", response_class=HTMLResponse)
def new_page(request: Request, actor: Intake) -> HTMLResponse:
    """The intake form."""
    return _new_form(request, 200, {}, None)


@router.post("/complaints/new", response_class=HTMLResponse, response_model=None)
def new_form(
    request: Request,
    session: DbSession,
    actor: Intake,
    _csrf: CsrfChecked,
    channel: Annotated[str, Form(max_length=16)],
    received_at: When,
    complainant_name: Annotated[str, Form(max_length=64)],
    subject_kind: Annotated[str, Form(max_length=10)],
    subject_ref: Annotated[str, Form(max_length=64)],
    text: Text,
    complainant_phone: Annotated[str, Form(max_length=20)] = "",
    complainant_id_number: Annotated[str, Form(max_length=18)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    external_ref: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse | RedirectResponse:
    """Register a complaint from the form; a refusal comes back with the form filled in and why."""
    now = clock.now()
    form = {
        "channel": channel,
        "received_at": received_at,
        "complainant_name": complainant_name,
        "complainant_phone": complainant_phone,
        "complainant_id_number": complainant_id_number,
        "subject_kind": subject_kind,
        "subject_ref": subject_ref,
        "category": category,
        "external_ref": external_ref,
        "text": text,
    }
    try:
        body = ComplaintIn(
            channel=listing.enum_filter(channel, Channel, "channel") or Channel.COUNTER,
            received_at=form_time(received_at, "received_at"),
            external_ref=external_ref,
            complainant_name=complainant_name,
            complainant_phone=complainant_phone or None,
            complainant_id_number=complainant_id_number or None,
            subject_kind=listing.enum_filter(subject_kind, SubjectKind, "subject_kind") or SubjectKind.UNIT,
            subject_ref=subject_ref,
            category=category,
            text=text,
        )
        with session.begin():
            subject = actions.check_intake(session, body, actor=actor, now=now)
            complaint_id = actions.do_intake(session, body, subject, actor=actor, now=now).id
    except DomainError as exc:
        session.rollback()
        return _new_form(request, exc.status, form, page_message(exc))
    except ValidationError as exc:
        session.rollback()
        return _new_form(request, 422, form, form_refusal(exc))
    if actor.role not in actions.READERS:
        return _new_form(request, 201, {}, None)
    return RedirectResponse(f"/complaints/{complaint_id}", status_code=303)


def _complaint_page(
    request: Request,
    session: Session,
    actor: Actor,
    complaint_id: int,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    now = clock.now()
    with session.begin():
        c = actions.get_complaint(session, complaint_id, actor=actor)
        audit.record(
            session, actor=actor, action="supervision.complaint_read", object_type="complaint", object_id=c.id
        )
        clocks = rules.evaluate(actions.step_list(c), in_force(), at=now)
        page = render(
            request,
            "complaint.html",
            status,
            c=c,
            clocks=clocks,
            steps=list(c.steps),
            links=queries.links_of(session, c.id),
            attachments=queries.attachments_of(session, c.id),
            breaches=queries.breaches_of(session, c.id),
            deductions=queries.deductions_of(session, c.id),
            extension_requests=queries.extension_requests_of(session, c.id),
            categories=actions.categories(),
            findings=list(Finding),
            root_causes=list(RootCause),
            results=list(CallbackResult),
            outcomes=list(ReviewOutcome),
            error=error,
            now=now,
        )
    return page


def _check_month(month: str) -> None:
    """Invalid naming `month` unless it is written YYYY-MM."""
    if (
        len(month) != 7
        or not month[:4].isdigit()
        or month[4] != "-"
        or not month[5:].isdigit()
        or not 1 <= int(month[5:]) <= 12
    ):
        raise Invalid("give the month as YYYY-MM", field="month")
    if not 2000 <= int(month[:4]) <= 2099:
        raise Invalid("a month lies between the years 2000 and 2099", field="month")


def _bulletin_download(session: Session, actor: Actor, month: str, fmt: BulletinFormat) -> Response:
    """The month's bulletin as a file, with its audit entry in the transaction that read its figures;
    a file that cannot be made (no CJK font: 503) leaves no entry."""
    m = month or clock.now().astimezone(BEIJING).strftime("%Y-%m")
    _check_month(m)
    now = clock.now()
    with session.begin():
        doc = bulletin_files.BulletinFile(
            queries.bulletin(session, m, actor=actor),
            {s.code: s.name for s in all_stations(session)},
            now,
            callbacks_queries.month_figures(session, m, actor=actor),
        )
        content = bulletin_files.to_pdf(doc) if fmt == "pdf" else bulletin_files.to_xlsx(doc)
        record_bulletin_export(
            session,
            actor=actor,
            object_id=f"complaints:{m}",
            filters={"month": m},
            fmt=fmt,
            rows=doc.bulletin.received,
        )
    return bulletin_response(content, fmt, doc.filename(fmt))


@router.get("/complaints/bulletin.pdf", response_class=Response)
def bulletin_pdf(
    session: DbSession, actor: Reader, month: Annotated[str, Query(max_length=7)] = ""
) -> Response:
    """The monthly complaints bulletin as a PDF in the system's CJK font (503 when none), audited."""
    return _bulletin_download(session, actor, month, "pdf")


@router.get("/complaints/bulletin.xlsx", response_class=Response)
def bulletin_xlsx(
    session: DbSession, actor: Reader, month: Annotated[str, Query(max_length=7)] = ""
) -> Response:
    """The monthly complaints bulletin as an XLSX sheet, its figures as numbers, audited."""
    return _bulletin_download(session, actor, month, "xlsx")


@router.get("/complaints/bulletin", response_class=HTMLResponse)
def bulletin_page(
    request: Request, session: DbSession, actor: Reader, month: Annotated[str, Query(max_length=7)] = ""
) -> HTMLResponse:
    """The complaints part of the monthly bulletin: year over year, root causes, substantiated and
    repeat rates and satisfaction per station, each share with its sample size and interval."""
    m = month or clock.now().astimezone(BEIJING).strftime("%Y-%m")
    try:
        _check_month(m)
        with session.begin():
            b = queries.bulletin(session, m, actor=actor)
            cb = callbacks_queries.month_figures(session, m, actor=actor)
    except DomainError as exc:
        return render(
            request,
            "complaints_bulletin.html",
            exc.status,
            error=page_message(exc),
            b=None,
            cb=None,
            month=m,
            charts_json="{}",
            echarts=False,
        )
    labels = {
        "this_year": _("this year"),
        "last_year": _("a year before"),
        "share": _("satisfied (%)"),
        "low": _("95% interval, low"),
        "high": _("95% interval, high"),
        **{r.value: label(r) for r in RootCause},
    }
    return render(
        request,
        "complaints_bulletin.html",
        b=b,
        cb=cb,
        month=m,
        error=None,
        charts_json=json.dumps(queries.chart_options(b, labels), ensure_ascii=False).replace("</", "<\\/"),
        echarts=ECHARTS_JS.exists(),
    )


@router.get("/complaints/{complaint_id}", response_class=HTMLResponse)
def complaint_page(request: Request, complaint_id: int, session: DbSession, actor: Reader) -> HTMLResponse:
    """A complaint: its clocks counting down, timeline, links to repeats, attachments and the forms."""
    return _complaint_page(request, session, actor, complaint_id)


def _on_form(
    request: Request, session: Session, actor: Actor, complaint_id: int, write: Callable[[datetime], None]
) -> HTMLResponse | RedirectResponse:
    """Run one form on the page in one transaction; a refusal shows the page again with why."""
    return run_form(
        session,
        write,
        done=f"/complaints/{complaint_id}",
        again=lambda status, why: _complaint_page(
            request, session, actor, complaint_id, status=status, error=why
        ),
    )


@router.post("/complaints/{complaint_id}/accept", response_class=HTMLResponse, response_model=None)
def accept_form(
    request: Request,
    complaint_id: int,
    session: DbSession,
    actor: Handler,
    _csrf: CsrfChecked,
    at: When,
    decision: Annotated[str, Form(max_length=8)],
    note: Text = "",
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        data = AcceptIn(accept=decision == "accept", at=form_time(at, "at"), note=note)
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_accept(c, data, actor=actor, now=now)
        actions.do_accept(session, c, data, actor=actor, now=now)

    return _on_form(request, session, actor, complaint_id, write)


@router.post("/complaints/{complaint_id}/assign", response_class=HTMLResponse, response_model=None)
def assign_form(
    request: Request,
    complaint_id: int,
    session: DbSession,
    actor: Handler,
    _csrf: CsrfChecked,
    at: When,
    station_code: Annotated[str, Form(max_length=16)],
    note: Text = "",
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        data = AssignIn(station_code=station_code, at=form_time(at, "at"), note=note)
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_assign(session, c, data, actor=actor, now=now)
        actions.do_assign(session, c, data, actor=actor, now=now)

    return _on_form(request, session, actor, complaint_id, write)


@router.post("/complaints/{complaint_id}/notes", response_class=HTMLResponse, response_model=None)
def note_form(
    request: Request,
    complaint_id: int,
    session: DbSession,
    actor: Handler,
    _csrf: CsrfChecked,
    at: When,
    note: Text,
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        data = NoteIn(at=form_time(at, "at"), note=note)
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_note(c, data, actor=actor, now=now)
        actions.do_note(session, c, data, actor=actor, now=now)

    return _on_form(request, session, actor, complaint_id, write)


@router.post("/complaints/{complaint_id}/finding", response_class=HTMLResponse, response_model=None)
def finding_form(
    request: Request,
    complaint_id: int,
    session: DbSession,
    actor: Handler,
    _csrf: CsrfChecked,
    at: When,
    finding: Annotated[str, Form(max_length=20)],
    root_cause: Annotated[str, Form(max_length=20)],
    officer: Annotated[str, Form(max_length=64)] = "",
    note: Text = "",
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        data = FindingIn(
            finding=listing.enum_filter(finding, Finding, "finding") or Finding.NOT_SUBSTANTIATED,
            root_cause=listing.enum_filter(root_cause, RootCause, "root_cause") or RootCause.OUTSIDE_REMIT,
            officer=officer or None,
            at=form_time(at, "at"),
            note=note,
        )
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_finding(session, c, data, actor=actor, now=now)
        actions.do_finding(session, c, data, actor=actor, now=now)

    return _on_form(request, session, actor, complaint_id, write)


@router.post("/complaints/{complaint_id}/extension", response_class=HTMLResponse, response_model=None)
def extension_form(
    request: Request,
    complaint_id: int,
    session: DbSession,
    actor: Handler,
    _csrf: CsrfChecked,
    reason: Text,
    approver: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse | RedirectResponse:
    """Send the extension request to the approver's queue; the clock moves once it is approved."""

    def write(now: datetime) -> None:
        data = ExtensionRequestIn(approver=approver or None, reason=reason)
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_extension_request(session, c, data, actor=actor, now=now)
        actions.do_extension_request(session, c, data, actor=actor, now=now)

    return _on_form(request, session, actor, complaint_id, write)


@router.post("/complaints/{complaint_id}/answer", response_class=HTMLResponse, response_model=None)
def answer_form(
    request: Request,
    complaint_id: int,
    session: DbSession,
    actor: Handler,
    _csrf: CsrfChecked,
    at: When,
    text: Text,
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        data = AnswerIn(at=form_time(at, "at"), text=text)
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_answer(c, data, actor=actor, now=now)
        actions.do_answer(session, c, data, actor=actor, now=now)

    return _on_form(request, session, actor, complaint_id, write)


@router.post("/complaints/{complaint_id}/callback", response_class=HTMLResponse, response_model=None)
def callback_form(
    request: Request,
    complaint_id: int,
    session: DbSession,
    actor: Handler,
    _csrf: CsrfChecked,
    at: When,
    result: Annotated[str, Form(max_length=20)],
    note: Text = "",
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        chosen = listing.enum_filter(result, CallbackResult, "result")
        if chosen is None:
            raise Invalid("choose the call-back's result", field="result")
        data = CallbackIn(at=form_time(at, "at"), result=chosen, note=note)
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_callback(c, data, actor=actor, now=now)
        actions.do_callback(session, c, data, actor=actor, now=now)

    return _on_form(request, session, actor, complaint_id, write)


@router.post("/complaints/{complaint_id}/review-request", response_class=HTMLResponse, response_model=None)
def review_request_form(
    request: Request,
    complaint_id: int,
    session: DbSession,
    actor: Handler,
    _csrf: CsrfChecked,
    at: When,
    note: Text = "",
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        data = ReviewRequestIn(at=form_time(at, "at"), note=note)
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_review_request(c, data, actor=actor, now=now)
        actions.do_review_request(session, c, data, actor=actor, now=now)

    return _on_form(request, session, actor, complaint_id, write)


@router.post("/complaints/{complaint_id}/review-decision", response_class=HTMLResponse, response_model=None)
def review_decision_form(
    request: Request,
    complaint_id: int,
    session: DbSession,
    actor: Handler,
    _csrf: CsrfChecked,
    at: When,
    outcome: Annotated[str, Form(max_length=10)],
    note: Text,
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        chosen = listing.enum_filter(outcome, ReviewOutcome, "outcome")
        if chosen is None:
            raise Invalid("choose the review's outcome", field="outcome")
        data = ReviewDecisionIn(at=form_time(at, "at"), outcome=chosen, note=note)
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_review_decision(c, data, actor=actor, now=now)
        actions.do_review_decision(session, c, data, actor=actor, now=now)

    return _on_form(request, session, actor, complaint_id, write)
