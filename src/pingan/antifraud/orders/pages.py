"""Pages of the stop-payment loop: orders queue, order timeline, finding approvals, appeals, figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from pingan.antifraud.orders import actions, queries
from pingan.antifraud.orders.choices import OrderState
from pingan.antifraud.orders.model import OrderAppeal
from pingan.core.auth import require_roles
from pingan.core.deps import CsrfChecked, DbSession
from pingan.core.errors import DomainError
from pingan.core.pages import render
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import record_list_read

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]
Deciders = Annotated[Actor, Depends(require_roles(*actions.FINDING_READERS))]
Supervisor = Annotated[Actor, Depends(require_roles(*actions.FINDING_APPROVERS))]
Analyst = Annotated[Actor, Depends(require_roles(*actions.ORDER_ISSUERS))]


@router.get("/orders", response_class=HTMLResponse)
def orders_page(request: Request, session: DbSession, actor: Reader, state: str = "") -> HTMLResponse:
    """The orders queue, filtered by state. The read is audited."""
    chosen = OrderState(state) if state in {s.value for s in OrderState} else None
    with session.begin():
        orders = queries.list_orders(session, state=chosen)
        record_list_read(
            session, actor=actor, listing="restriction_order", filters={"state": chosen}, count=len(orders)
        )
    return render(
        request,
        "orders.html",
        orders=orders,
        states=list(OrderState),
        state=chosen.value if chosen else "",
        alerts=queries.open_alerts(session),
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
