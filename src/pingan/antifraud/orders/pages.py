"""Pages of the stop-payment loop: orders queue, order timeline, finding approvals, appeals, figures."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import Field, ValidationError

from pingan.antifraud.banks.directory import BANKS, bank_name
from pingan.antifraud.orders import actions, finding_queries, queries, rules
from pingan.antifraud.orders.choices import FindingKind, FindingStatus, OrderKind, OrderState
from pingan.antifraud.orders.model import PoliceFinding
from pingan.antifraud.orders.schemas import AppealDecisionIn, AppealIn, ConvertIn, ReleaseIn, RenewIn
from pingan.core import clock, listing
from pingan.core.auth import require_roles
from pingan.core.deps import CsrfChecked, DbSession
from pingan.core.errors import Conflict, DomainError, Invalid
from pingan.core.i18n import N_, _
from pingan.core.pages import fen_from_yuan, render
from pingan.core.pii import PiiKind, lookup_key
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import NO_STATION_MESSAGE, no_station, record_list_read

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]
Deciders = Annotated[Actor, Depends(require_roles(*actions.FINDING_READERS))]
Supervisor = Annotated[Actor, Depends(require_roles(*actions.FINDING_APPROVERS))]
Analyst = Annotated[Actor, Depends(require_roles(*actions.ORDER_ISSUERS))]
AppealTakers = Annotated[Actor, Depends(require_roles(*actions.APPEAL_FILERS))]


ListQuery = Annotated[listing.ListParams, Depends(listing.list_params)]


def _order_filter(
    report: str, bank: str, account: str, state: str, kind: str, q: str
) -> queries.OrderListFilter:
    """The orders list's filters from the query string; Invalid naming the bad one. A typed account
    number is kept only as its pseudonym."""
    return queries.OrderListFilter(
        report_id=listing.int_filter(report, "report"),
        bank=listing.choice_filter(bank, [b.code for b in BANKS], "bank"),
        account=lookup_key(PiiKind.CARD, account, field="account") if account.strip() else None,
        state=listing.enum_filter(state, OrderState, "state"),
        kind=listing.enum_filter(kind, OrderKind, "kind"),
        search=listing.parse_search(q),
    )


def _audited_filters(f: queries.OrderListFilter) -> dict[str, object]:
    return listing.filters_for_audit(
        {"report": f.report_id, "bank": f.bank, "account": f.account, "state": f.state, "kind": f.kind},
        f.search,
    )


@router.get("/orders", response_class=HTMLResponse)
def orders_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    params: ListQuery,
    report: Annotated[str, Query(max_length=10)] = "",
    bank: Annotated[str, Query(max_length=16)] = "",
    account: Annotated[str, Query(max_length=32)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
    kind: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """The orders list within the reader's station view, filtered by report, bank, account, state and
    kind, searched, sorted and paged by cursor. The read is audited."""
    sort = listing.parse_sort(queries.ORDER_LIST, params.sort)
    f = _order_filter(report, bank, account, state, kind, params.q)
    session.rollback()  # the read and its audit entry are one transaction of their own
    with session.begin():
        page = listing.fetch_page(
            session,
            queries.ORDER_LIST,
            queries.order_list_query(f, actor=actor),
            sort,
            cursor=params.cursor,
            limit=params.limit,
        )
        record_list_read(
            session,
            actor=actor,
            listing="restriction_order",
            filters={**_audited_filters(f), "sort": params.sort or None, "cursor": params.cursor or None},
            count=len(page.rows),
        )
    raw = {
        "report": report,
        "bank": bank,
        "account": account,
        "state": state,
        "kind": kind,
        **params.carried(),
    }
    return render(
        request,
        "orders.html",
        lst=listing.ListView(
            path="/orders",
            params=raw,
            page=page,
            export_path="/orders/export",
            error=NO_STATION_MESSAGE if no_station(actor) else None,
        ),
        f=raw,
        states=list(OrderState),
        kinds=list(OrderKind),
        banks=BANKS,
        alerts=queries.open_alerts(session),
    )


@router.get("/orders/export", response_model=None)
def orders_export(
    session: DbSession,
    actor: Reader,
    params: ListQuery,
    format: Annotated[str, Query(max_length=8)] = "csv",
    report: Annotated[str, Query(max_length=10)] = "",
    bank: Annotated[str, Query(max_length=16)] = "",
    account: Annotated[str, Query(max_length=32)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
    kind: Annotated[str, Query(max_length=16)] = "",
) -> StreamingResponse:
    """Every order the list's filters select, as CSV or XLSX: masked, within the reader's view,
    audited (`restriction_order.export`)."""
    fmt = listing.export_format(format)
    sort = listing.parse_sort(queries.ORDER_LIST, params.sort)
    f = _order_filter(report, bank, account, state, kind, params.q)
    return listing.export_response(
        session,
        actor=actor,
        spec=queries.ORDER_LIST,
        query=queries.order_list_query(f, actor=actor),
        sort=sort,
        columns=queries.ORDER_EXPORT,
        fmt=fmt,
        filters={**_audited_filters(f), "sort": sort.param},
        filename="orders",
    )


# What the order page says after each decision (`?done=`): a code, never text from the request.
DONE_MESSAGES = {
    "converted": N_("Converted: this freeze replaces the stop-payment and is on its way to the bank."),
    "renewed": N_("Renewed: this order replaces the old one for a new term and is on its way to the bank."),
    "released": N_("Released: the bank is told to lift the order."),
    "appeal_filed": N_("Appeal filed: a supervisor decides it within 7 days."),
    "appeal_upheld": N_("Appeal upheld: the order is released."),
    "appeal_dismissed": N_("Appeal dismissed: the order stands."),
}


def _field_errors(exc: ValidationError, names: dict[str, str] | None = None) -> dict[str, str]:
    """Each refused field's message, keyed by the form's name for it (`names` renames)."""
    errors: dict[str, str] = {}
    for e in exc.errors():
        field = ".".join(str(p) for p in e["loc"]) or "body"
        errors.setdefault((names or {}).get(field, field), str(e["msg"]))
    return errors


def _render_order(
    request: Request,
    session: DbSession,
    order_id: int,
    actor: Actor,
    *,
    status: int = 200,
    done: str = "",
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The order page: the order, its basis and term, the decisions `actor` may take on it, its
    timeline and appeals; after a refusal, the message beside the field and the values entered."""
    session.rollback()  # a refused write's transaction is over; read afresh
    order = actions.get_order(session, order_id)
    view = queries.order_view(session, order)
    role = actor.role
    may_convert = role in actions.ORDER_ISSUERS and rules.conversion_problem(order.kind, order.state) is None
    return render(
        request,
        "order.html",
        status,
        o=order,
        v=view,
        done=_(DONE_MESSAGES[done]) if done in DONE_MESSAGES else None,
        error=error,
        errors=errors or {},
        values=values or {},
        findings=queries.approved_findings_naming(session, order) if may_convert else [],
        may_convert=may_convert,
        may_renew=role in actions.ORDER_ISSUERS
        and rules.renewal_problem(order.kind, order.state, order.renewals) is None,
        may_release=role in actions.FINDING_APPROVERS
        and rules.transition_problem(order.state, OrderState.RELEASED) is None,
        may_decide_appeal=role in actions.APPEAL_DECIDERS,
        may_file_appeal=role in actions.APPEAL_FILERS and order.state in rules.LIVE_STATES,
    )


def _refused(
    request: Request,
    session: DbSession,
    order_id: int,
    actor: Actor,
    exc: DomainError,
    values: dict[str, str],
    names: dict[str, str] | None = None,
) -> HTMLResponse:
    """The order page again with the refusal beside its field (or at the top) and the values kept."""
    field = (names or {}).get(exc.field or "", exc.field or "")
    errors = {field: exc.message} if field else {}
    return _render_order(
        request, session, order_id, actor, status=exc.status, error=str(exc), errors=errors, values=values
    )


def _done(order_id: int, what: str) -> RedirectResponse:
    return RedirectResponse(f"/orders/{order_id}?{urlencode({'done': what})}", status_code=303)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    request: Request, order_id: int, session: DbSession, actor: Reader, done: str = ""
) -> HTMLResponse:
    """One order: its bank, basis, term and countdown, the decisions the reader's role may take on it
    (each with its legal basis), its timeline in Beijing time and its appeals."""
    return _render_order(request, session, order_id, actor, done=done)


@router.post("/orders/{order_id}/appeal", response_class=HTMLResponse, response_model=None)
def appeal_submit(
    request: Request,
    order_id: int,
    session: DbSession,
    actor: AppealTakers,
    _csrf: CsrfChecked,
    appellant: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Record a holder's appeal from the form (as `POST /api/v1/orders/{id}/appeals`)."""
    values = {"appellant": appellant, "statement": statement}
    try:
        body = AppealIn(appellant=appellant, statement=statement)
    except ValidationError as exc:
        return _render_order(
            request, session, order_id, actor, status=422, errors=_field_errors(exc), values=values
        )
    try:
        with session.begin():
            order = actions.get_order(session, order_id)
            actions.check_file_appeal(order, body.statement)
            actions.do_file_appeal(
                session, order, appellant=body.appellant, statement=body.statement, actor=actor
            )
    except DomainError as exc:
        return _refused(request, session, order_id, actor, exc, values)
    return _done(order_id, "appeal_filed")


@router.post("/orders/{order_id}/convert", response_class=HTMLResponse, response_model=None)
def convert_submit(
    request: Request,
    order_id: int,
    session: DbSession,
    actor: Analyst,
    _csrf: CsrfChecked,
    finding_id: Annotated[str, Form()] = "",
    amount_yuan: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Convert a stop-payment into a freeze from the order page (as `POST /api/v1/orders/{id}/convert`)."""
    values = {"finding_id": finding_id, "amount_yuan": amount_yuan}
    try:
        body = ConvertIn.model_validate({"finding_id": finding_id, "amount_fen": fen_from_yuan(amount_yuan)})
    except ValueError as exc:  # ValidationError is a ValueError
        errors = _field_errors(exc) if isinstance(exc, ValidationError) else {"amount_fen": str(exc)}
        return _render_order(request, session, order_id, actor, status=422, errors=errors, values=values)
    try:
        with session.begin():
            order = actions.get_order(session, order_id)
            finding = actions.get_finding(session, body.finding_id)
            actions.check_convert(session, order, finding, actor=actor)
            freeze = actions.do_convert(session, order, finding, actor=actor, amount_fen=body.amount_fen)
    except DomainError as exc:
        return _refused(request, session, order_id, actor, exc, values)
    return _done(freeze.id, "converted")


@router.post("/orders/{order_id}/renew", response_class=HTMLResponse, response_model=None)
def renew_submit(
    request: Request,
    order_id: int,
    session: DbSession,
    actor: Analyst,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Renew an executed order from the order page (as `POST /api/v1/orders/{id}/renew`)."""
    values = {"reason": reason}
    try:
        body = RenewIn(reason=reason)
    except ValidationError as exc:
        return _render_order(
            request, session, order_id, actor, status=422, errors=_field_errors(exc), values=values
        )
    try:
        with session.begin():
            order = actions.get_order(session, order_id)
            actions.check_renew(order, actor=actor)
            renewal = actions.do_renew(session, order, actor=actor, reason=body.reason)
    except DomainError as exc:
        return _refused(request, session, order_id, actor, exc, values)
    return _done(renewal.id, "renewed")


@router.post("/orders/{order_id}/release", response_class=HTMLResponse, response_model=None)
def release_submit(
    request: Request,
    order_id: int,
    session: DbSession,
    actor: Supervisor,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """A supervisor releases an order from the order page (as `POST /api/v1/orders/{id}/release`)."""
    values = {"release_reason": reason}
    names = {"reason": "release_reason"}
    try:
        body = ReleaseIn(reason=reason)
    except ValidationError as exc:
        errors = _field_errors(exc, names)
        return _render_order(request, session, order_id, actor, status=422, errors=errors, values=values)
    try:
        with session.begin():
            order = actions.get_order(session, order_id)
            actions.check_release(order)
            actions.do_release(session, order, reason=body.reason, actor=actor)
    except DomainError as exc:
        return _refused(request, session, order_id, actor, exc, values, names)
    return _done(order_id, "released")


@router.post("/appeals/{appeal_id}/decision", response_class=HTMLResponse, response_model=None)
def appeal_decision_submit(
    request: Request,
    appeal_id: int,
    session: DbSession,
    actor: Supervisor,
    _csrf: CsrfChecked,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """A supervisor upholds or dismisses an appeal from its order's page (as `POST /api/v1/appeals/{id}/decision`)."""
    appeal = actions.get_appeal(session, appeal_id)
    order_id = appeal.order_id
    session.rollback()  # the look-up's implicit transaction ends before the decision's own
    names = {"reason": "appeal_reason", "upheld": "appeal_reason"}
    try:
        body = AppealDecisionIn.model_validate({"upheld": decision == "uphold", "reason": reason})
    except ValidationError as exc:
        errors = _field_errors(exc, names)
        return _render_order(request, session, order_id, actor, status=422, errors=errors)
    try:
        with session.begin():
            appeal = actions.get_appeal(session, appeal_id)
            actions.check_decide_appeal(appeal, actor=actor, reason=body.reason)
            actions.do_decide_appeal(session, appeal, upheld=body.upheld, reason=body.reason, actor=actor)
    except DomainError as exc:
        return _refused(request, session, order_id, actor, exc, {}, names)
    return _done(order_id, "appeal_upheld" if body.upheld else "appeal_dismissed")


# ---- the findings queue (认定审批) ---------------------------------------------------------------

_DONE = {"approved", "refused"}


def _finding_filter(*, history: bool, status: str, kind: str, q: str) -> finding_queries.FindingFilter:
    """A findings list's filters from the query string; Invalid naming the bad one. A typed card number
    is kept only as its pseudonym."""
    return finding_queries.FindingFilter(
        history=history,
        status=listing.enum_filter(status, FindingStatus, "status") if history else None,
        kind=listing.enum_filter(kind, FindingKind, "kind"),
        search=listing.parse_search(q),
    )


def _finding_audit(f: finding_queries.FindingFilter) -> dict[str, object]:
    status: object = f.status if f.history else FindingStatus.DRAFT
    return listing.filters_for_audit({"status": status or "decided", "kind": f.kind}, f.search)


def _finding_page(
    session: DbSession, actor: Actor, f: finding_queries.FindingFilter, params: listing.ListParams
) -> listing.Page:
    """One page of a findings list, its read audited; the caller holds the transaction."""
    spec = finding_queries.HISTORY_LIST if f.history else finding_queries.QUEUE_LIST
    sort = listing.parse_sort(spec, params.sort)
    page = listing.fetch_page(
        session,
        spec,
        finding_queries.findings_query(f),
        sort,
        cursor=params.cursor,
        limit=min(params.limit, finding_queries.PAGE_SIZE),
    )
    record_list_read(
        session,
        actor=actor,
        listing="police_finding",
        filters={**_finding_audit(f), "sort": params.sort or None, "cursor": params.cursor or None},
        count=len(page.rows),
    )
    return page


def _queue(
    request: Request,
    session: DbSession,
    actor: Actor,
    params: listing.ListParams,
    *,
    kind: str = "",
    done: str = "",
    n: int = 0,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    f = _finding_filter(history=False, status="", kind=kind, q=params.q)
    session.rollback()  # the read and its audit entry are one transaction of their own
    with session.begin():
        page = _finding_page(session, actor, f, params)
        items = [
            (d, finding_queries.evidence_of(d), finding_queries.approval_plan(session, [d]).orders)
            for d in (row[0] for row in page.rows)
        ]
    raw = {"kind": kind, **params.carried()}
    return render(
        request,
        "findings.html",
        status_code,
        items=items,
        lst=listing.ListView(path="/findings", params=raw, page=page, export_path="/findings/export"),
        f=raw,
        kinds=list(FindingKind),
        done=done if done in _DONE else "",
        done_count=max(0, min(n, 200)),
        error=error,
        now=clock.now(),
        bank_name=bank_name,
    )


@router.get("/findings", response_class=HTMLResponse)
def findings_page(
    request: Request,
    session: DbSession,
    actor: Deciders,
    params: ListQuery,
    kind: Annotated[str, Query(max_length=16)] = "",
    done: Annotated[str, Query(max_length=16)] = "",
    n: Annotated[int, Query(ge=0, le=200)] = 0,
) -> HTMLResponse:
    """The approval queue, 20 drafts a page, longest waiting first (or sorted by accounts or amount),
    searched by case number or card: each with its evidence as tables and the accounts its approval
    will stop or freeze, with their caps. The read is audited."""
    return _queue(request, session, actor, params, kind=kind, done=done, n=n)


@router.get("/findings/history", response_class=HTMLResponse)
def findings_history(
    request: Request,
    session: DbSession,
    actor: Deciders,
    params: ListQuery,
    status: Annotated[str, Query(max_length=16)] = "",
    kind: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """Decided findings, newest decision first (or sorted otherwise), 20 a page, searched by case
    number or card: who approved or refused, when and why."""
    f = _finding_filter(history=True, status=status, kind=kind, q=params.q)
    session.rollback()  # the read and its audit entry are one transaction of their own
    with session.begin():
        page = _finding_page(session, actor, f, params)
    raw = {"status": status, "kind": kind, **params.carried()}
    return render(
        request,
        "findings_history.html",
        items=[row[0] for row in page.rows],
        lst=listing.ListView(
            path="/findings/history", params=raw, page=page, export_path="/findings/history/export"
        ),
        f=raw,
        statuses=[FindingStatus.APPROVED, FindingStatus.REFUSED],
        kinds=list(FindingKind),
    )


def _findings_export(
    session: DbSession, actor: Actor, params: listing.ListParams, f: finding_queries.FindingFilter, fmt: str
) -> StreamingResponse:
    chosen = listing.export_format(fmt)
    spec = finding_queries.HISTORY_LIST if f.history else finding_queries.QUEUE_LIST
    sort = listing.parse_sort(spec, params.sort)
    return listing.export_response(
        session,
        actor=actor,
        spec=spec,
        query=finding_queries.findings_export_query(f),
        sort=sort,
        columns=finding_queries.FINDING_EXPORT,
        fmt=chosen,
        filters={**_finding_audit(f), "sort": sort.param},
        filename="findings-history" if f.history else "findings",
    )


@router.get("/findings/export", response_model=None)
def findings_export(
    session: DbSession,
    actor: Deciders,
    params: ListQuery,
    format: Annotated[str, Query(max_length=8)] = "csv",
    kind: Annotated[str, Query(max_length=16)] = "",
) -> StreamingResponse:
    """Every draft the queue's filters select, as CSV or XLSX: masked cards, Beijing time, yuan;
    audited (`police_finding.export`)."""
    f = _finding_filter(history=False, status="", kind=kind, q=params.q)
    return _findings_export(session, actor, params, f, format)


@router.get("/findings/history/export", response_model=None)
def findings_history_export(
    session: DbSession,
    actor: Deciders,
    params: ListQuery,
    format: Annotated[str, Query(max_length=8)] = "csv",
    status: Annotated[str, Query(max_length=16)] = "",
    kind: Annotated[str, Query(max_length=16)] = "",
) -> StreamingResponse:
    """Every decided finding the history's filters select, as CSV or XLSX: masked cards, Beijing time,
    yuan; audited (`police_finding.export`)."""
    f = _finding_filter(history=True, status=status, kind=kind, q=params.q)
    return _findings_export(session, actor, params, f, format)


@router.post("/findings/{finding_id}/decision", response_class=HTMLResponse, response_model=None)
def finding_decision(
    request: Request,
    finding_id: int,
    session: DbSession,
    actor: Supervisor,
    _csrf: CsrfChecked,
    decision: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse | RedirectResponse:
    """A supervisor approves or refuses one draft finding; a refusal says why."""
    try:
        if decision not in ("approve", "refuse"):
            raise Invalid("decision: approve or refuse", field="decision")
        if decision == "refuse" and not note.strip():
            raise Invalid("note: a refusal says why", field="note")
        with session.begin():
            finding = actions.get_finding(session, finding_id)
            actions.check_decide_finding(finding, actor=actor)
            actions.do_decide_finding(session, finding, approve=decision == "approve", note=note, actor=actor)
    except DomainError as exc:
        return _queue(request, session, actor, listing.ListParams(), error=str(exc), status_code=exc.status)
    done = "approved" if decision == "approve" else "refused"
    return RedirectResponse(f"/findings?done={done}&n=1", status_code=303)


def _confirmation(
    request: Request,
    session: DbSession,
    ids: list[int],
    actor: Actor,
    *,
    error: str | None = None,
    refusals: list[tuple[PoliceFinding, DomainError]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with session.begin():
        findings = finding_queries.drafts_by_id(session, ids)
        plan = finding_queries.approval_plan(session, findings)
        if refusals is None:
            refusals = []
            for f in findings:
                try:
                    actions.check_decide_finding(f, actor=actor)
                except DomainError as exc:
                    refusals.append((f, exc))
    return render(
        request,
        "findings_confirm.html",
        status_code,
        findings=findings,
        plan=plan,
        refusals=refusals,
        error=error,
    )


FindingIds = Annotated[list[Annotated[int, Field(ge=1, le=2**62)]] | None, Query(max_length=200)]


@router.get("/findings/confirm", response_class=HTMLResponse)
def findings_confirm(
    request: Request, session: DbSession, actor: Supervisor, ids: FindingIds = None
) -> HTMLResponse:
    """The confirmation step of a bulk approval: every account the selected findings will stop or
    freeze, with its cap and the totals. Nothing is written here."""
    if not ids:
        raise Invalid("ids: select at least one finding", field="ids")
    return _confirmation(request, session, ids, actor)


@router.post("/findings/approve", response_class=HTMLResponse, response_model=None)
def findings_approve(
    request: Request,
    session: DbSession,
    actor: Supervisor,
    _csrf: CsrfChecked,
    ids: Annotated[list[Annotated[int, Field(ge=1, le=2**62)]], Form(max_length=200)],
    plan: Annotated[str, Form(max_length=64)],
    note: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse | RedirectResponse:
    """Approve the confirmed findings: all or none, in one transaction.

    Each finding goes through the single-finding action (`check_decide_finding`, `do_decide_finding`),
    and so is audited one by one. All or none: the confirmation page showed the orders of all of them
    together (an account two findings name is stopped once), so approving only some would issue
    orders nobody confirmed. A refused finding, or a plan changed since the page was opened (an order
    issued, an account registered), writes nothing and shows the confirmation again, saying why.
    """
    refusals: list[tuple[PoliceFinding, DomainError]] = []
    try:
        with session.begin():
            findings = finding_queries.drafts_by_id(session, ids)
            if finding_queries.approval_plan(session, findings).digest() != plan:
                raise Conflict(
                    "plan: what approval will stop or freeze changed since this page was opened; check it again",
                    field="plan",
                )
            for f in findings:
                try:
                    actions.check_decide_finding(f, actor=actor)
                except DomainError as exc:
                    refusals.append((f, exc))
            if not refusals:
                for f in findings:
                    actions.do_decide_finding(session, f, approve=True, note=note, actor=actor)
    except DomainError as exc:
        return _confirmation(request, session, ids, actor, error=str(exc), status_code=exc.status)
    if refusals:
        status = max(exc.status for _, exc in refusals)
        return _confirmation(request, session, ids, actor, refusals=refusals, status_code=status)
    return RedirectResponse(f"/findings?done=approved&n={len(ids)}", status_code=303)


@router.get("/orders-figures", response_class=HTMLResponse)
def figures_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The stop-payment loop's outcome figures."""
    return render(request, "order_figures.html", f=queries.figures(session))
