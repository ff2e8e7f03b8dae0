"""The approver's page: requests waiting on the reader's decision (approve, or refuse with the reason),
the seized-property approvals asked of the reader with how they stand (lapsed, used, withdrawn), the
reader's own requests with the form to withdraw one, and the month's deductions in view with the form
to appeal one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core import clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.errors import DomainError, Invalid
from pingan.core.pages import page_message, render
from pingan.core.roles import Actor
from pingan.supervision import actions, approvals, pages, scores
from pingan.supervision.choices import DeductionKind, RequestState
from pingan.supervision.model import ApprovalRequest, QualityEntry
from pingan.supervision.pack import in_force

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.CASE_READERS))]
Filer = Annotated[Actor, Depends(require_roles(*approvals.FILERS))]


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    month: str,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    now = clock.now()
    session.rollback()
    with session.begin():
        queue = approvals.queue_for(session, actor)
        mine = approvals.filed_by(session, actor)
        asked = approvals.property_asked_of(session, actor)
        entries = session.scalars(
            select(QualityEntry)
            .where(QualityEntry.month == month, QualityEntry.kind == DeductionKind.DEDUCTION)
            .order_by(QualityEntry.station_code, QualityEntry.id)
        ).all()
        entries = [e for e in entries if actor.sees_station(e.station_code)][:500]
        ids = [e.id for e in entries]
        decided = set(
            session.scalars(select(QualityEntry.appeal_of).where(QualityEntry.appeal_of.in_(ids))).all()
        )
        pending = set(
            session.scalars(
                select(ApprovalRequest.entry_id).where(
                    ApprovalRequest.entry_id.in_(ids), ApprovalRequest.state == RequestState.PENDING
                )
            ).all()
        )
    return render(
        request,
        "supervision_approvals.html",
        status,
        queue=queue,
        mine=[(r, approvals.standing(r, now)) for r in mine],
        asked=[(r, approvals.standing(r, now)) for r in asked],
        withdrawable={r.id for r in mine if approvals.may_withdraw(r, actor=actor, now=now)},
        entries=entries,
        decided=decided,
        pending=pending,
        month=month,
        pack=in_force(),
        rule_title=scores.rule_title,
        may_file=actor.role in approvals.FILERS,
        href=approvals.href_of,
        error=error,
    )


@router.get("/supervision/approvals", response_class=HTMLResponse)
def approvals_page(
    request: Request, session: DbSession, actor: Reader, month: Annotated[str, Query(max_length=7)] = ""
) -> HTMLResponse:
    """Requests waiting on the reader, the reader's own, and the month's deductions to appeal."""
    raw = month or scores.month_of(clock.now())
    try:
        m = scores.parse_month(raw)
    except DomainError as exc:
        return _page(
            request, session, actor, scores.month_of(clock.now()), status=exc.status, error=page_message(exc)
        )
    return _page(request, session, actor, m)


def _on_form(
    request: Request, session: Session, actor: Actor, month: str, write: Callable[[], None]
) -> HTMLResponse | RedirectResponse:
    try:
        write()
    except DomainError as exc:
        session.rollback()
        return _page(request, session, actor, month, status=exc.status, error=page_message(exc))
    return RedirectResponse(f"/supervision/approvals?month={month}", status_code=303)


@router.post("/supervision/requests/{request_id}/decision", response_class=HTMLResponse, response_model=None)
def decide_form(
    request: Request,
    request_id: int,
    session: DbSession,
    actor: Reader,
    _csrf: CsrfChecked,
    decision: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Approve or refuse a request from the queue; a refusal names its reason."""
    now = clock.now()
    month = scores.month_of(now)

    def write() -> None:
        if decision not in ("approve", "refuse"):
            raise Invalid("approve or refuse", field="decision")
        approve = decision == "approve"
        with session.begin():
            req = approvals.get_request(
                session, request_id if 1 <= request_id <= MAX_ROW_ID else 0, actor=actor
            )
            approvals.check_decide(session, req, approve, reason, actor=actor)
            approvals.do_decide(session, req, approve, reason, actor=actor, now=now)

    return _on_form(request, session, actor, month, write)


@router.post(
    "/supervision/requests/{request_id}/withdrawal", response_class=HTMLResponse, response_model=None
)
def withdraw_form(
    request: Request,
    request_id: int,
    session: DbSession,
    actor: Reader,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=16)] = "",
) -> HTMLResponse | RedirectResponse:
    """The requester withdraws their request, with the reason, from this page or the case page
    (`back=case`), through the same `check_withdraw`/`do_withdraw` as the API."""
    now = clock.now()
    rid = request_id if 1 <= request_id <= MAX_ROW_ID else 0

    def write() -> None:
        with session.begin():
            req = approvals.get_request(session, rid, actor=actor)
            approvals.check_withdraw(req, reason, actor=actor, now=now)
            approvals.do_withdraw(session, req, reason, actor=actor, now=now)

    if back == "case":
        with session.begin():
            case_id = approvals.get_request(session, rid, actor=actor).case_id
        if case_id is not None:
            return pages._on_case_form(request, session, actor, case_id, write, anchor="#property")
        session.rollback()
    return _on_form(request, session, actor, scores.month_of(now), write)


@router.post("/supervision/quality/{entry_id}/appeals", response_class=HTMLResponse, response_model=None)
def appeal_form(
    request: Request,
    entry_id: int,
    session: DbSession,
    actor: Filer,
    _csrf: CsrfChecked,
    points: Annotated[str, Form(max_length=4)] = "",
    grounds: Annotated[str, Form(max_length=2000)] = "",
    month: Annotated[str, Form(max_length=7)] = "",
) -> HTMLResponse | RedirectResponse:
    """Appeal a deduction of one's station: it queues for the legal-supervision office."""
    now = clock.now()
    try:
        m = scores.parse_month(month) if month else scores.month_of(now)
    except DomainError:
        m = scores.month_of(now)

    def write() -> None:
        if not points.strip().isdigit():
            raise Invalid("a whole number of points is expected", field="points")
        with session.begin():
            entry = scores.get_entry(session, entry_id, actor=actor)
            approvals.check_request_appeal(session, entry, int(points), grounds, actor=actor)
            approvals.do_request_appeal(session, entry, int(points), grounds, actor=actor, now=now)

    return _on_form(request, session, actor, m, write)
