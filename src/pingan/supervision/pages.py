"""Pages of law-enforcement supervision: the case list, a case with its timeline and live deadlines,
the warnings of the case officer and their supervisor, and the rule pack with its citations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pingan.core import clock, listing
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.errors import DomainError, Invalid, NotFound
from pingan.core.i18n import _
from pingan.core.pages import form_time, page_message, render
from pingan.core.roles import Actor
from pingan.core.scoping import NO_STATION_MESSAGE, check_station, no_station, record_list_read
from pingan.supervision import actions, approvals, ledger, queries
from pingan.supervision.actions import status_now
from pingan.supervision.choices import (
    GROUND_LABELS,
    CaseKind,
    CaseStatus,
    EventKind,
    MovementKind,
    PartyRole,
    RequestStanding,
)
from pingan.supervision.complaints import actions as complaint_actions
from pingan.supervision.complaints import queries as complaint_queries
from pingan.supervision.model import CaseBreach, SupervisionCase
from pingan.supervision.pack import in_force
from pingan.supervision.rules import BEIJING
from pingan.supervision.schemas import CaseIn, CloseIn, EventIn, ExplanationIn, PartyIn, StepRequestIn

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.CASE_READERS))]
Writer = Annotated[Actor, Depends(require_roles(*actions.CASE_WRITERS))]
Explainer = Annotated[Actor, Depends(require_roles(*actions.EXPLAINERS))]
ListQuery = Annotated[listing.ListParams, Depends(listing.list_params)]
# The steps a case page offers to record (opening and closing have their own forms).
RECORDABLE = [k for k in EventKind if k not in actions.NOT_RECORDED_DIRECTLY]


@router.get("/supervision", response_class=HTMLResponse)
def case_list_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    params: ListQuery,
    kind: Annotated[str, Query(max_length=16)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    officer: Annotated[str, Query(max_length=64)] = "",
    attention: Annotated[str, Query(max_length=3)] = "",
) -> HTMLResponse:
    """Cases in view, filtered by kind, status, officer and whether a deadline needs attention; searched
    by case number, title or a party's ID number; sorted and paged. The read is audited."""
    now = clock.now()
    raw = {"kind": kind, "status": status, "officer": officer, "attention": attention, **params.carried()}
    error = None
    try:
        sort = listing.parse_sort(queries.CASE_LIST, params.sort)
        f = queries.CaseFilter(
            kind=listing.enum_filter(kind, CaseKind, "kind"),
            status=listing.enum_filter(status, CaseStatus, "status"),
            officer=officer or None,
            attention=attention == "1",
            search=listing.parse_search(params.q),
        )
        with session.begin():
            page = listing.fetch_page(
                session,
                queries.CASE_LIST,
                queries.case_list_query(f, actor=actor, now=now),
                sort,
                cursor=params.cursor,
                limit=params.limit,
            )
            record_list_read(
                session,
                actor=actor,
                listing="supervision_case",
                filters=listing.filters_for_audit(
                    {"kind": f.kind, "status": f.status, "officer": f.officer}, f.search
                ),
                count=len(page.rows),
            )
    except DomainError as exc:
        error = page_message(exc)
        page = listing.empty_page(listing.parse_sort(queries.CASE_LIST, None))
    return render(
        request,
        "supervision_cases.html",
        400 if error else 200,
        lst=listing.ListView(
            path="/supervision",
            params=raw,
            page=page,
            error=error or (NO_STATION_MESSAGE if no_station(actor) else None),
        ),
        chosen=raw,
        kinds=list(CaseKind),
        statuses=list(CaseStatus),
        now=now,
    )


def ground(flag: str) -> str:
    """A ground's name in the page's language (the code itself where the pack names a new one)."""
    return _(GROUND_LABELS[flag]) if flag in GROUND_LABELS else flag


def _case_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    case_id: int,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    now = clock.now()
    pack = in_force()
    with session.begin():
        case = actions.get_case(session, case_id, actor=actor)
        labels = queries.party_labels(case.parties)
        deadlines = [
            (d, status_now(d, now), pack.by_id.get(d.rule_id))
            for d in queries.case_deadlines(session, case.id)
        ]
        breaches = [(b, pack.by_id.get(b.rule_id)) for b in queries.case_breaches(session, case.id)]
        events = sorted(case.events, key=lambda e: (e.at, e.id))
        parties = list(case.parties)
        parties_by_id = {p.id: p for p in parties}
        items = [
            (i, next((m for m in ledger.movements_of(session, i.id) if m.confirmed_at is None), None))
            for i in ledger.items_of(session, case.id)
        ]
        requests = approvals.of_case(session, case.id)
        standings = {r.id: approvals.standing(r, now) for r in requests}
        # The item's pending, or approved and not lapsed, request to return or dispose of it (one at a
        # time), and the latest lapsed approval (shown, with a new request's form).
        item_request = {
            r.item_id: r
            for r in requests
            if r.item_id is not None
            and standings[r.id] in (RequestStanding.PENDING, RequestStanding.APPROVED)
        }
        item_lapsed = {
            r.item_id: r
            for r in requests
            if r.item_id is not None and standings[r.id] is RequestStanding.LAPSED
        }
        withdrawable = {r.id for r in requests if approvals.may_withdraw(r, actor=actor, now=now)}
        registered = {i.label for i, _m in items}
        unregistered = sorted(
            {e.item for e in events if e.kind is EventKind.SEIZURE and e.item and e.item not in registered}
        )
    return render(
        request,
        "supervision_case.html",
        status,
        case=case,
        parties=parties,
        parties_by_id=parties_by_id,
        events=events,
        deadlines=deadlines,
        breaches=breaches,
        subject=lambda s: queries.subject_label(s, labels),
        recordable=RECORDABLE,
        party_roles=list(PartyRole),
        rules=sorted(
            (r for r in pack.rules if r.extensions and case.kind in r.case_kinds), key=lambda r: r.id
        ),
        flags=sorted(actions.known_flags(pack)),
        ground=ground,
        error=error,
        now=now,
        items=items,
        unregistered=unregistered,
        movement_kinds=list(MovementKind),
        requests=requests,
        standings=standings,
        item_request=item_request,
        item_lapsed=item_lapsed,
        withdrawable=withdrawable,
        needs_approval=actions.NEEDS_APPROVAL,
        me=actor.username,
        may_write=actor.role in actions.CASE_WRITERS,
        may_request=actor.role in approvals.FILERS,
    )


@router.get("/supervision/cases/new", response_class=HTMLResponse)
def new_case_page(request: Request, actor: Writer) -> HTMLResponse:
    """The form to open a case under supervision."""
    return render(request, "supervision_new_case.html", kinds=list(CaseKind), form={}, error=None)


@router.post("/supervision/cases", response_class=HTMLResponse, response_model=None)
def open_case_form(
    request: Request,
    session: DbSession,
    actor: Writer,
    _csrf: CsrfChecked,
    number: Annotated[str, Form(max_length=40)],
    kind: Annotated[str, Form(max_length=16)],
    title: Annotated[str, Form(max_length=200)],
    station_code: Annotated[str, Form(max_length=16)],
    officer: Annotated[str, Form(max_length=64)],
    supervisor: Annotated[str, Form(max_length=64)],
    opened_at: Annotated[str, Form(max_length=40)],
    incident_id: Annotated[str, Form(max_length=12)] = "",
    fraud_report_id: Annotated[str, Form(max_length=12)] = "",
) -> HTMLResponse | RedirectResponse:
    """Open a case from the form; a refusal comes back with the form filled in and the reason."""
    now = clock.now()
    form = {
        "number": number,
        "kind": kind,
        "title": title,
        "station_code": station_code,
        "officer": officer,
        "supervisor": supervisor,
        "opened_at": opened_at,
        "incident_id": incident_id,
        "fraud_report_id": fraud_report_id,
    }
    try:
        body = CaseIn(
            number=number,
            kind=listing.enum_filter(kind, CaseKind, "kind") or CaseKind.CRIMINAL,
            title=title,
            station_code=station_code,
            officer=officer,
            supervisor=supervisor,
            opened_at=form_time(opened_at, "opened_at"),
            incident_id=int(incident_id) if incident_id.isdigit() else None,
            fraud_report_id=int(fraud_report_id) if fraud_report_id.isdigit() else None,
        )
        with session.begin():
            actions.check_open_case(session, body, actor=actor, now=now)
            case = actions.do_open_case(session, body, actor=actor, now=now)
            case_id = case.id
    except DomainError as exc:
        session.rollback()
        return render(
            request,
            "supervision_new_case.html",
            exc.status,
            kinds=list(CaseKind),
            form=form,
            error=page_message(exc),
        )
    except ValueError as exc:
        session.rollback()
        return render(
            request,
            "supervision_new_case.html",
            422,
            kinds=list(CaseKind),
            form=form,
            error=str(exc).splitlines()[0],
        )
    return RedirectResponse(f"/supervision/cases/{case_id}", status_code=303)


def validation_message(exc: ValidationError) -> str:
    """A request model's refusal as a page says it: the field, then why."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "form"
    return f"field {field!r}: {first.get('msg', 'invalid')}"


def _on_case_form(
    request: Request,
    session: Session,
    actor: Actor,
    case_id: int,
    write: Callable[[], None],
    *,
    anchor: str = "",
) -> HTMLResponse | RedirectResponse:
    """Run a case page's form: `write` parses and writes in one transaction. A refusal (a
    DomainError, or a value the request model refuses, whose message names the field) shows the case
    page again with why; nothing is written."""
    try:
        write()
    except DomainError as exc:
        session.rollback()
        return _case_page(request, session, actor, case_id, status=exc.status, error=page_message(exc))
    except ValidationError as exc:
        session.rollback()
        return _case_page(request, session, actor, case_id, status=422, error=validation_message(exc))
    except ValueError as exc:
        session.rollback()
        return _case_page(request, session, actor, case_id, status=422, error=str(exc).splitlines()[0])
    return RedirectResponse(f"/supervision/cases/{case_id}{anchor}", status_code=303)


@router.post("/supervision/cases/{case_id}/close", response_class=HTMLResponse, response_model=None)
def close_case_form(
    request: Request,
    case_id: int,
    session: DbSession,
    actor: Writer,
    _csrf: CsrfChecked,
    at: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=2000)],
) -> HTMLResponse | RedirectResponse:
    """Close the case from its page."""
    now = clock.now()

    def write() -> None:
        data = CloseIn(at=form_time(at, "at"), note=note)
        with session.begin():
            case = actions.get_case(session, case_id, actor=actor)
            actions.check_close_case(case, data, actor=actor, now=now)
            actions.do_close_case(session, case, data, actor=actor, now=now)

    return _on_case_form(request, session, actor, case_id, write)


@router.get("/supervision/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, session: DbSession, actor: Reader) -> HTMLResponse:
    """A case: parties (masked), live deadlines with their countdown, the timeline, breaches."""
    if not 1 <= case_id <= MAX_ROW_ID:
        raise NotFound("no case", field="id")
    return _case_page(request, session, actor, case_id)


def _event_in(
    kind: str,
    at: str,
    party_id: str,
    item: str,
    flags: list[str] | None,
    rule_id: str,
    extension_id: str,
    amount: str,
    note: str,
) -> EventIn:
    """The step form's fields as the request model (the same form records or requests a step)."""
    try:
        event_kind = EventKind(kind)
    except ValueError as exc:
        raise Invalid(f"unknown step {kind!r}", field="kind") from exc
    ext_rule, _, ext_id = rule_id.partition("/") if "/" in rule_id else (rule_id, "", extension_id)
    return EventIn(
        kind=event_kind,
        at=form_time(at, "at"),
        party_id=int(party_id) if party_id.isdigit() else None,
        item=item.strip(),
        flags=[f for f in (flags or []) if f],
        rule_id=ext_rule or None,
        extension_id=(ext_id or extension_id) or None,
        amount=int(amount) if amount.isdigit() else None,
        note=note,
    )


@router.post("/supervision/cases/{case_id}/events", response_class=HTMLResponse, response_model=None)
def record_event_form(
    request: Request,
    case_id: int,
    session: DbSession,
    actor: Writer,
    _csrf: CsrfChecked,
    kind: Annotated[str, Form(max_length=40)],
    at: Annotated[str, Form(max_length=40)],
    party_id: Annotated[str, Form(max_length=12)] = "",
    item: Annotated[str, Form(max_length=64)] = "",
    flags: Annotated[list[str] | None, Form()] = None,
    rule_id: Annotated[str, Form(max_length=60)] = "",
    extension_id: Annotated[str, Form(max_length=40)] = "",
    amount: Annotated[str, Form(max_length=4)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Record a step that needs no approval from the case page; refused steps (one that needs approval
    among them: it is sent to the approver instead) come back with the reason."""
    now = clock.now()

    def write() -> None:
        data = _event_in(kind, at, party_id, item, flags, rule_id, extension_id, amount, note)
        with session.begin():
            case = actions.get_case(session, case_id, actor=actor)
            actions.check_event(session, case, data, actor=actor, now=now)
            actions.do_record_event(session, case, data, actor=actor, now=now)

    return _on_case_form(request, session, actor, case_id, write)


@router.post("/supervision/cases/{case_id}/requests", response_class=HTMLResponse, response_model=None)
def request_step_form(
    request: Request,
    case_id: int,
    session: DbSession,
    actor: Writer,
    _csrf: CsrfChecked,
    kind: Annotated[str, Form(max_length=40)],
    at: Annotated[str, Form(max_length=40)],
    party_id: Annotated[str, Form(max_length=12)] = "",
    item: Annotated[str, Form(max_length=64)] = "",
    flags: Annotated[list[str] | None, Form()] = None,
    rule_id: Annotated[str, Form(max_length=60)] = "",
    extension_id: Annotated[str, Form(max_length=40)] = "",
    amount: Annotated[str, Form(max_length=4)] = "",
    approver: Annotated[str, Form(max_length=64)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Send the step form to the approver it names instead of recording it: it queues on their page,
    and is recorded when they approve it."""
    now = clock.now()

    def write() -> None:
        step = _event_in(kind, at, party_id, item, flags, rule_id, extension_id, amount, note)
        data = StepRequestIn(**step.model_dump(), approver=approver.strip())
        with session.begin():
            case = actions.get_case(session, case_id, actor=actor)
            approvals.check_request_step(session, case, data, actor=actor, now=now)
            approvals.do_request_step(session, case, data, actor=actor, now=now)

    return _on_case_form(request, session, actor, case_id, write, anchor="#requests")


@router.post("/supervision/cases/{case_id}/parties", response_class=HTMLResponse, response_model=None)
def add_party_form(
    request: Request,
    case_id: int,
    session: DbSession,
    actor: Writer,
    _csrf: CsrfChecked,
    role: Annotated[PartyRole, Form()],
    name: Annotated[str, Form(max_length=64)],
    national_id: Annotated[str, Form(max_length=18)] = "",
) -> HTMLResponse | RedirectResponse:
    """Add a person to the case from its page."""
    now = clock.now()

    def write() -> None:
        data = PartyIn(role=role, name=name, national_id=national_id.strip() or None)
        with session.begin():
            case = actions.get_case(session, case_id, actor=actor)
            actions.check_add_party(session, case, data, actor=actor)
            actions.do_add_party(session, case, data, actor=actor, now=now)

    return _on_case_form(request, session, actor, case_id, write)


@router.post(
    "/supervision/breaches/{breach_id}/explanation", response_class=HTMLResponse, response_model=None
)
def explain_form(
    request: Request,
    breach_id: int,
    session: DbSession,
    actor: Explainer,
    _csrf: CsrfChecked,
    text: Annotated[str, Form(max_length=2000)],
) -> HTMLResponse | RedirectResponse:
    """Explain a breach from the case page; the explanation is audited."""
    now = clock.now()
    breach = session.get(CaseBreach, breach_id) if 1 <= breach_id <= MAX_ROW_ID else None
    if breach is None:
        raise NotFound("no breach", field="id")
    case_id = breach.case_id
    session.rollback()

    def write() -> None:
        data = ExplanationIn(text=text)
        with session.begin():
            breach = session.get_one(CaseBreach, breach_id)
            case = session.get_one(SupervisionCase, case_id)
            check_station(actor, case.station_code, what="breach")
            actions.check_explain(session, breach, case, actor=actor)
            actions.do_explain(session, breach, data, actor=actor, now=now)

    return _on_case_form(request, session, actor, case_id, write, anchor="#breaches")


@router.get("/supervision/warnings", response_class=HTMLResponse)
def warnings_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """Deadlines due soon or passed unmet: the case officer's and their supervisor's own cases; every
    case in view for the legal-supervision office. Below them, for the roles that read complaints, the
    complaint clocks (acceptance, handling, review) due soon or breached, each linking its complaint;
    an officer never sees them, as the complainant is protected from the officer complained of."""
    now = clock.now()
    pack = in_force()
    with session.begin():
        rows = queries.warnings_for(session, actor, now=now)
        complaint_rows = (
            complaint_queries.clock_warnings(session, actor, now=now)
            if actor.role in complaint_actions.READERS
            else None
        )
        latest = queries.digests_of(session, actor.username, days=1, today=now.astimezone(BEIJING).date())
    return render(
        request,
        "supervision_warnings.html",
        rows=[(r, pack.by_id.get(r.deadline.rule_id)) for r in rows],
        complaint_rows=complaint_rows,
        digest=latest[0] if latest else None,
        pack=pack,
        now=now,
    )


@router.get("/supervision/digests", response_class=HTMLResponse)
def digests_page(
    request: Request, session: DbSession, actor: Reader, days: Annotated[int, Query(ge=1, le=90)] = 14
) -> HTMLResponse:
    """The daily digests sent to this user over the last `days` days, the latest first: each morning's
    deadlines of their cases due soon or passed, as sent."""
    now = clock.now()
    with session.begin():
        digests = queries.digests_of(session, actor.username, days=days, today=now.astimezone(BEIJING).date())
    return render(request, "supervision_digests.html", digests=digests, days=days, pack=in_force())


@router.get("/supervision/rules", response_class=HTMLResponse)
def rules_page(request: Request, actor: Reader) -> HTMLResponse:
    """The rule pack in force: each rule with its citation, dates, deadline, extensions and approvers."""
    pack = in_force()
    return render(
        request,
        "supervision_rules.html",
        pack=pack,
        rules=sorted(pack.rules, key=lambda r: r.id),
        ground=ground,
    )
