"""Requests for approval over HTTP: file a step, a seized item's return or disposal, or an appeal;
read one's queue and one's own requests; decide; withdraw one's own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from pingan.core import clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.roles import Actor
from pingan.supervision import actions, approvals, ledger, scores
from pingan.supervision.model import ApprovalRequest
from pingan.supervision.schemas import (
    AppealRequestIn,
    DecisionIn,
    PropertyRequestIn,
    RequestOut,
    StepRequestIn,
    WithdrawalIn,
)

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])
Reader = Annotated[Actor, Depends(require_roles(*actions.CASE_READERS))]
Filer = Annotated[Actor, Depends(require_roles(*approvals.FILERS))]
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def _out(req: ApprovalRequest, now: datetime) -> RequestOut:
    """The request as read at `now` (an approval past its `expires_at` reads `lapsed`)."""
    return RequestOut.read(req, approvals.standing(req, now))


@router.post("/cases/{case_id}/requests", response_model=RequestOut, status_code=201)
def request_step(case_id: RowId, body: StepRequestIn, session: DbSession, actor: Filer) -> RequestOut:
    """Ask the `approver` to approve a step (a measure or an extension that needs approval). It is
    checked now as the step would be, and recorded in the case's log only when approved: the only way
    such a step is recorded. 403 when the approver is the requester."""
    now = clock.now()
    with session.begin():
        case = actions.get_case(session, case_id, actor=actor)
        approvals.check_request_step(session, case, body, actor=actor, now=now)
        req = approvals.do_request_step(session, case, body, actor=actor, now=now)
        out = _out(req, now)
    return out


@router.post("/property/{item_id}/requests", response_model=RequestOut, status_code=201)
def request_property(item_id: RowId, body: PropertyRequestIn, session: DbSession, actor: Filer) -> RequestOut:
    """Ask the `approver` to approve returning a seized item to its owner or disposing of it; the
    custodian acts only once it is approved. 403 when the approver is the requester or the custodian;
    409 while another request for the item is pending or approved."""
    now = clock.now()
    with session.begin():
        item, case = ledger.get_item(session, item_id, actor=actor)
        approvals.check_request_property(session, case, item, body, actor=actor, now=now)
        req = approvals.do_request_property(session, case, item, body, actor=actor, now=now)
        out = _out(req, now)
    return out


@router.post("/quality/{entry_id}/appeals", response_model=RequestOut, status_code=201)
def file_appeal(entry_id: RowId, body: AppealRequestIn, session: DbSession, actor: Filer) -> RequestOut:
    """Appeal a deduction of one's station: it queues for the legal-supervision office."""
    now = clock.now()
    with session.begin():
        entry = scores.get_entry(session, entry_id, actor=actor)
        approvals.check_request_appeal(session, entry, body.points, body.grounds, actor=actor)
        req = approvals.do_request_appeal(session, entry, body.points, body.grounds, actor=actor, now=now)
        out = _out(req, now)
    return out


@router.get("/requests", response_model=list[RequestOut])
def my_queue(session: DbSession, actor: Reader) -> list[RequestOut]:
    """The pending requests the caller decides (a withdrawn one leaves it)."""
    now = clock.now()
    with session.begin():
        out = [_out(r, now) for r in approvals.queue_for(session, actor)]
    return out


@router.get("/requests/mine", response_model=list[RequestOut])
def my_requests(session: DbSession, actor: Reader) -> list[RequestOut]:
    """The caller's own requests, newest first, each with its `standing` now: pending, approved,
    lapsed (an approval past its `expires_at`), used, refused or withdrawn."""
    now = clock.now()
    with session.begin():
        out = [_out(r, now) for r in approvals.filed_by(session, actor)]
    return out


@router.post("/requests/{request_id}/decision", response_model=RequestOut)
def decide(request_id: RowId, body: DecisionIn, session: DbSession, actor: Reader) -> RequestOut:
    """Approve or refuse a request: not one's own (403), once (409), a refusal with its reason (422)."""
    now = clock.now()
    with session.begin():
        req = approvals.get_request(session, request_id, actor=actor)
        approvals.check_decide(session, req, body.approve, body.reason, actor=actor)
        approvals.do_decide(session, req, body.approve, body.reason, actor=actor, now=now)
        out = _out(req, now)
    return out


@router.post("/requests/{request_id}/withdrawal", response_model=RequestOut)
def withdraw(request_id: RowId, body: WithdrawalIn, session: DbSession, actor: Reader) -> RequestOut:
    """The requester withdraws a pending request, or an approval to return or dispose of an item not
    yet carried out and not lapsed, with the reason (audited): 403 for anyone else, 409 otherwise."""
    now = clock.now()
    with session.begin():
        req = approvals.get_request(session, request_id, actor=actor)
        approvals.check_withdraw(req, body.reason, actor=actor, now=now)
        approvals.do_withdraw(session, req, body.reason, actor=actor, now=now)
        out = _out(req, now)
    return out
