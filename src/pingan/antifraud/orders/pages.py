"""Pages of the stop-payment loop: orders queue, order timeline, finding approvals, appeals, figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy import select

from pingan.antifraud.banks.directory import BANKS
from pingan.antifraud.orders import actions, queries
from pingan.antifraud.orders.choices import OrderKind, OrderState
from pingan.antifraud.orders.model import OrderAppeal
from pingan.core import listing
from pingan.core.auth import require_roles
from pingan.core.deps import CsrfChecked, DbSession
from pingan.core.errors import DomainError
from pingan.core.pages import render
from pingan.core.pii import PiiKind, lookup_key
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import NO_STATION_MESSAGE, no_station, record_list_read

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]
Deciders = Annotated[Actor, Depends(require_roles(*actions.FINDING_READERS))]
Supervisor = Annotated[Actor, Depends(require_roles(*actions.FINDING_APPROVERS))]
Analyst = Annotated[Actor, Depends(require_roles(*actions.ORDER_ISSUERS))]


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


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: int, session: DbSession, actor: Reader) -> HTMLResponse:
    """One order with its full timeline and appeal form."""
    order = actions.get_order(session, order_id)
    appeals = list(session.execute(select(OrderAppeal).where(OrderAppeal.order_id == order.id)).scalars())
    return render(request, "order.html", o=order, appeals=appeals, error=None)


@router.post("/orders/{order_id}/appeal", response_class=HTMLResponse, response_model=None)
def appeal_submit(
    request: Request,
    order_id: int,
    session: DbSession,
    actor: Reader,
    _csrf: CsrfChecked,
    appellant: Annotated[str, Form()],
    statement: Annotated[str, Form()],
) -> HTMLResponse | RedirectResponse:
    """Record an appeal from the form."""
    try:
        with session.begin():
            order = actions.get_order(session, order_id)
            actions.check_file_appeal(order, statement)
            actions.do_file_appeal(session, order, appellant=appellant, statement=statement, actor=actor)
    except DomainError as exc:
        order = actions.get_order(session, order_id)
        appeals = list(session.execute(select(OrderAppeal).where(OrderAppeal.order_id == order.id)).scalars())
        return render(request, "order.html", 422, o=order, appeals=appeals, error=str(exc))
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


def _order_page_refused(
    request: Request, session: DbSession, order_id: int, exc: DomainError
) -> HTMLResponse:
    order = actions.get_order(session, order_id)
    appeals = queries.appeals(session, order_id=order.id)
    return render(request, "order.html", exc.status, o=order, appeals=appeals, error=str(exc))


@router.post("/orders/{order_id}/convert", response_class=HTMLResponse, response_model=None)
def convert_submit(
    request: Request,
    order_id: int,
    session: DbSession,
    actor: Analyst,
    _csrf: CsrfChecked,
    finding_id: Annotated[int, Form(ge=1, le=2**62)],
) -> HTMLResponse | RedirectResponse:
    """Convert a stop-payment into a freeze from the order page (as `POST /api/v1/orders/{id}/convert`)."""
    try:
        with session.begin():
            order = actions.get_order(session, order_id)
            finding = actions.get_finding(session, finding_id)
            actions.check_convert(session, order, finding, actor=actor)
            freeze = actions.do_convert(session, order, finding, actor=actor)
    except DomainError as exc:
        return _order_page_refused(request, session, order_id, exc)
    return RedirectResponse(f"/orders/{freeze.id}", status_code=303)


@router.post("/orders/{order_id}/renew", response_class=HTMLResponse, response_model=None)
def renew_submit(
    request: Request,
    order_id: int,
    session: DbSession,
    actor: Analyst,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form(min_length=4, max_length=255)],
) -> HTMLResponse | RedirectResponse:
    """Renew an executed order from the order page (as `POST /api/v1/orders/{id}/renew`)."""
    try:
        with session.begin():
            order = actions.get_order(session, order_id)
            actions.check_renew(order, actor=actor)
            renewal = actions.do_renew(session, order, actor=actor, reason=reason)
    except DomainError as exc:
        return _order_page_refused(request, session, order_id, exc)
    return RedirectResponse(f"/orders/{renewal.id}", status_code=303)


@router.get("/findings", response_class=HTMLResponse)
def findings_page(request: Request, session: DbSession, actor: Deciders) -> HTMLResponse:
    """The approval queue: each draft finding with its evidence and how long it has waited."""
    drafts = [queries.finding_out(f) for f in queries.approval_queue(session)]
    return render(request, "findings.html", drafts=drafts, error=None)


@router.post("/findings/{finding_id}/decision", response_class=HTMLResponse, response_model=None)
def finding_decision(
    request: Request,
    finding_id: int,
    session: DbSession,
    actor: Supervisor,
    _csrf: CsrfChecked,
    decision: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """A supervisor approves or refuses a draft finding."""
    try:
        with session.begin():
            finding = actions.get_finding(session, finding_id)
            actions.check_decide_finding(finding, actor=actor)
            actions.do_decide_finding(session, finding, approve=decision == "approve", note=note, actor=actor)
    except DomainError as exc:
        drafts = [queries.finding_out(f) for f in queries.approval_queue(session)]
        return render(request, "findings.html", 422, drafts=drafts, error=str(exc))
    return RedirectResponse("/findings", status_code=303)


@router.get("/orders-figures", response_class=HTMLResponse)
def figures_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The stop-payment loop's outcome figures."""
    return render(request, "order_figures.html", f=queries.figures(session))
