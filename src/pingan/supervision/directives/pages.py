"""Directive pages: the list, a directive with its stations' answers, the issue form with its
near-duplicate warning, a station's inbox with the answer forms, and the monthly bulletin (page with
charts, XLSX, PDF)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pingan.core import clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.downloads import BulletinFormat, bulletin_response, record_bulletin_export
from pingan.core.errors import DomainError, Invalid, NotFound
from pingan.core.i18n import N_
from pingan.core.org import all_stations
from pingan.core.pages import form_time, page_message, render
from pingan.core.roles import Actor
from pingan.supervision.directives import actions, bulletin, queries, rules
from pingan.supervision.directives.api import similar_out
from pingan.supervision.directives.choices import AnswerState, RequiredAnswer
from pingan.supervision.directives.schemas import AnswerIn, DirectiveIn

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Issuer = Annotated[Actor, Depends(require_roles(*actions.ISSUERS))]
Answerer = Annotated[Actor, Depends(require_roles(*actions.ANSWERERS))]
BULLETIN_READERS = actions.READERS - actions.ANSWERERS
BulletinReader = Annotated[Actor, Depends(require_roles(*BULLETIN_READERS))]


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"field {where!r}: {err.get('msg', '')}"


def state_of(deadline: datetime, answered_at: datetime | None, now: datetime) -> AnswerState:
    return AnswerState(rules.answer_state(deadline, answered_at, now=now))


@router.get("/directives", response_class=HTMLResponse)
def directive_list_page(
    request: Request, session: DbSession, actor: Reader, q: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    """Directives in view, newest first, with how many stations have answered; searched by subject or text."""
    now = clock.now()
    with session.begin():
        rows = queries.directive_list(session, actor=actor, search=q.strip(), limit=200)
        items = [
            {
                "d": d,
                "answered": sum(1 for r in d.recipients if r.answered_at is not None),
                "stations": len(d.recipients),
                "overdue": sum(
                    1 for r in d.recipients if state_of(d.deadline, r.answered_at, now) is AnswerState.OVERDUE
                ),
            }
            for d in rows
        ]
    return render(request, "directives_list.html", items=items, q=q)


def _new_page(
    request: Request,
    session: Session,
    *,
    form: dict[str, Any],
    status: int = 200,
    error: str | None = None,
    similar: list[Any] | None = None,
) -> HTMLResponse:
    stations = all_stations(session)
    return render(
        request,
        "directives_new.html",
        status,
        stations=stations,
        kinds=list(RequiredAnswer),
        form=form,
        error=error,
        similar=similar or [],
    )


@router.get("/directives/new", response_class=HTMLResponse)
def new_directive_page(request: Request, session: DbSession, actor: Issuer) -> HTMLResponse:
    """The form to issue a directive."""
    with session.begin():
        return _new_page(request, session, form={"stations": []})


@router.post("/directives", response_class=HTMLResponse, response_model=None)
def issue_directive_form(
    request: Request,
    session: DbSession,
    actor: Issuer,
    _csrf: CsrfChecked,
    subject: Annotated[str, Form(max_length=200)],
    text: Annotated[str, Form(max_length=8000)],
    deadline: Annotated[str, Form(max_length=40)],
    required_answer: Annotated[str, Form(max_length=16)],
    stations: Annotated[list[str] | None, Form()] = None,
    confirm_duplicate: Annotated[str, Form(max_length=3)] = "",
) -> HTMLResponse | RedirectResponse:
    """Issue a directive from the form. Near duplicates come back listed with their similarity and a
    box to confirm; a refusal comes back with the form filled in and the reason. Nothing is sent then."""
    now = clock.now()
    chosen = [s for s in (stations or []) if s][:200]
    form = {
        "subject": subject,
        "text": text,
        "deadline": deadline,
        "required_answer": required_answer,
        "stations": chosen,
    }
    try:
        if required_answer not in {k.value for k in RequiredAnswer}:
            raise Invalid(N_("choose the answer the directive requires"), field="required_answer")
        body = DirectiveIn(
            subject=subject,
            text=text,
            stations=chosen,
            deadline=form_time(deadline, "deadline"),
            required_answer=RequiredAnswer(required_answer),
            confirm_duplicate=confirm_duplicate == "1",
        )
        with session.begin():
            checked = actions.check_issue_directive(session, body, actor=actor, now=now)
            if checked.similar and not body.confirm_duplicate:
                similar = similar_out(session, checked.similar)
                return _new_page(request, session, form=form, status=409, similar=similar)
            directive = actions.do_issue_directive(session, body, checked, actor=actor, now=now)
            directive_id = directive.id
    except DomainError as exc:
        session.rollback()
        with session.begin():
            return _new_page(request, session, form=form, status=exc.status, error=page_message(exc))
    except ValidationError as exc:
        session.rollback()
        with session.begin():
            return _new_page(request, session, form=form, status=422, error=_first_error(exc))
    return RedirectResponse(f"/directives/{directive_id}", status_code=303)


@router.get("/directives/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request, session: DbSession, actor: Answerer, error: str | None = None
) -> HTMLResponse:
    """The officer's station's directives: awaiting answer first, by deadline, each with its answer form."""
    now = clock.now()
    with session.begin():
        rows = queries.inbox(session, actor.station_code) if actor.station_code else []
        items = [{"r": r, "state": state_of(r.directive.deadline, r.answered_at, now)} for r in rows]
    return render(request, "directives_inbox.html", items=items, has_station=actor.station_code is not None)


@router.post("/directives/{directive_id}/answer", response_class=HTMLResponse, response_model=None)
def answer_form(
    request: Request,
    directive_id: int,
    session: DbSession,
    actor: Answerer,
    _csrf: CsrfChecked,
    text: Annotated[str, Form(max_length=8000)],
    minutes_spent: Annotated[str, Form(max_length=8)],
) -> HTMLResponse | RedirectResponse:
    """Answer a directive for the officer's station from the inbox; a refusal shows the inbox with why."""
    if not 1 <= directive_id <= MAX_ROW_ID:
        raise NotFound("no directive", field="id")
    now = clock.now()
    try:
        if not minutes_spent.strip().isdigit():
            raise Invalid(N_("give the minutes spent as a whole number"), field="minutes_spent")
        body = AnswerIn(text=text, minutes_spent=int(minutes_spent))
        with session.begin():
            recipient = actions.get_recipient(session, directive_id, actor=actor)
            actions.check_answer(recipient, body, actor=actor, now=now)
            actions.do_answer(session, recipient, body, actor=actor, now=now)
    except DomainError as exc:
        session.rollback()
        return _inbox_refused(request, session, actor, exc.status, page_message(exc))
    except ValidationError as exc:
        session.rollback()
        return _inbox_refused(request, session, actor, 422, _first_error(exc))
    return RedirectResponse(f"/directives/{directive_id}", status_code=303)


def _inbox_refused(
    request: Request, session: Session, actor: Actor, status: int, message: str
) -> HTMLResponse:
    now = clock.now()
    with session.begin():
        rows = queries.inbox(session, actor.station_code) if actor.station_code else []
        items = [{"r": r, "state": state_of(r.directive.deadline, r.answered_at, now)} for r in rows]
    return render(
        request,
        "directives_inbox.html",
        status,
        items=items,
        has_station=actor.station_code is not None,
        error=message,
    )


def _month(raw: str | None) -> tuple[int, int]:
    if not raw:
        today = clock.now().astimezone(rules.BEIJING).date()
        return today.year, today.month
    try:
        d = datetime.strptime(raw, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid("give the month as YYYY-MM", field="month") from None
    if not 2001 <= d.year <= 2099:
        raise Invalid("give the month as YYYY-MM", field="month")
    return d.year, d.month


def _charts_json(data: dict[str, Any]) -> Markup:
    """JSON for a `<script type="application/json">` block: `<` escaped so no tag can close it."""
    return Markup(json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"))  # noqa: S704 - escaped


@router.get("/directives/bulletin", response_class=HTMLResponse)
def bulletin_page(
    request: Request,
    session: DbSession,
    actor: BulletinReader,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> HTMLResponse:
    """The monthly directives bulletin: per station against a year before, by month year over year, and
    the stations' weekly load with the minutes spent answering."""
    year, m = _month(month)
    now = clock.now()
    start, end = rules.month_bounds(year, m)
    with session.begin():
        b = bulletin.build(session, year, m, now=now)
        load = queries.station_load(session, start=start, end=end)
    return render(
        request,
        "directives_bulletin.html",
        b=b,
        load=load,
        charts_json=_charts_json(b.charts()),
    )


def _bulletin_download(session: Session, actor: Actor, month: str | None, fmt: BulletinFormat) -> Response:
    """The month's directives bulletin as a file, audited in the transaction that read its figures."""
    year, m = _month(month)
    with session.begin():
        b = bulletin.build(session, year, m, now=clock.now())
        content = bulletin.to_pdf(b) if fmt == "pdf" else bulletin.to_xlsx(b)
        record_bulletin_export(
            session,
            actor=actor,
            object_id=f"directives:{b.month_text}",
            filters={"month": b.month_text},
            fmt=fmt,
            rows=b.month_yoy.this,
        )
    return bulletin_response(content, fmt, f"directives-bulletin-{b.month_text}.{fmt}")


@router.get("/directives/bulletin.xlsx")
def bulletin_xlsx(
    session: DbSession, actor: BulletinReader, month: Annotated[str | None, Query(max_length=7)] = None
) -> Response:
    """The monthly directives bulletin as a workbook, audited."""
    return _bulletin_download(session, actor, month, "xlsx")


@router.get("/directives/bulletin.pdf")
def bulletin_pdf(
    session: DbSession, actor: BulletinReader, month: Annotated[str | None, Query(max_length=7)] = None
) -> Response:
    """The monthly directives bulletin as a PDF in the system's CJK font (503 when none), audited."""
    return _bulletin_download(session, actor, month, "pdf")


@router.get("/directives/{directive_id}", response_class=HTMLResponse)
def directive_page(request: Request, directive_id: int, session: DbSession, actor: Reader) -> HTMLResponse:
    """A directive: its text, deadline and the answer required, and each station's answer and time spent."""
    if not 1 <= directive_id <= MAX_ROW_ID:
        raise NotFound("no directive", field="id")
    now = clock.now()
    with session.begin():
        d = queries.get_directive(session, directive_id, actor=actor)
        recipients = [{"r": r, "state": state_of(d.deadline, r.answered_at, now)} for r in d.recipients]
        similar_ids = [int(x) for x in d.similar_to.split(",") if x]
        similar = queries.directives_by_id(session, similar_ids)
        mine = next(
            (r for r in d.recipients if r.station_code == actor.station_code and r.answered_at is None), None
        )
        return render(
            request,
            "directives_detail.html",
            d=d,
            recipients=recipients,
            similar=[similar[i] for i in similar_ids if i in similar],
            can_answer=mine is not None and actor.role in actions.ANSWERERS,
        )
