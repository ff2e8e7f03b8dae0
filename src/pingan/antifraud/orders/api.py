"""Orders HTTP API: orders and their timelines, freezes, releases, findings (认定) and appeals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from pingan.antifraud.orders import actions, queries
from pingan.antifraud.orders.choices import OrderKind, OrderReason, OrderState
from pingan.antifraud.orders.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    ConvertIn,
    DecisionBatchIn,
    DecisionIn,
    FindingOut,
    FreezeIn,
    MajorCaseIn,
    OrderOut,
    OrderPage,
    ReleaseIn,
    RenewIn,
    StopPaymentIn,
)
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.errors import DomainError, Invalid, NotFound
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import record_list_read

router = APIRouter(prefix="/api/v1", tags=["orders"])
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]
Analyst = Annotated[Actor, Depends(require_roles(*actions.ORDER_ISSUERS))]
Supervisor = Annotated[Actor, Depends(require_roles(*actions.FINDING_APPROVERS))]
Deciders = Annotated[Actor, Depends(require_roles(*actions.FINDING_READERS))]
AppealTakers = Annotated[Actor, Depends(require_roles(*actions.APPEAL_FILERS))]


@router.get("/orders", response_model=OrderPage)
def list_orders(session: DbSession, actor: Reader, state: OrderState | None = None) -> OrderPage:
    """Orders, newest first, optionally in one state. The read is audited."""
    with session.begin():
        items = [queries.order_out(o) for o in queries.list_orders(session, state=state)]
        record_list_read(
            session, actor=actor, listing="restriction_order", filters={"state": state}, count=len(items)
        )
    return OrderPage(items=items)


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: int, session: DbSession, actor: Reader) -> OrderOut:
    """One order with its full timeline."""
    return queries.order_out(actions.get_order(session, order_id), timeline=True)


def _finding_account(
    session: Session, finding_id: int, account_id: int
) -> tuple[actions.AccountRef, int | None]:
    finding = actions.get_finding(session, finding_id)
    acc = next((a for a in finding.accounts if a.id == account_id), None)
    if acc is None:
        raise NotFound(f"finding {finding_id} names no account {account_id}", field="finding_account_id")
    return actions.AccountRef(acc.bank_code, acc.account), acc.traced_amount_fen


@router.post("/orders/freezes", response_model=OrderOut, status_code=201)
def issue_freeze(body: FreezeIn, session: DbSession, actor: Analyst) -> OrderOut:
    """Freeze (冻结) an account named by an approved finding, never above the traced amount.

    A live stop-payment on the account that its bank has taken is converted into the freeze in the
    same transaction (as `POST /orders/{id}/convert`).
    """
    with session.begin():
        finding = actions.get_finding(session, body.finding_id)
        ref, traced = _finding_account(session, body.finding_id, body.finding_account_id)
        draft = actions.OrderDraft(
            kind=OrderKind.FREEZE,
            reason=OrderReason.TRACED,
            account=ref,
            actor=actor,
            report_id=finding.report_id,
            finding=finding,
            origin_at=finding.decided_at,
            amount_fen=body.amount_fen,
            traced_amount_fen=traced,
        )
        converting = actions.check_issue_freeze(session, draft)
        order = actions.do_issue_freeze(session, draft, converting)
    return queries.order_out(order, timeline=True)


@router.post("/orders/{order_id}/convert", response_model=OrderOut, status_code=201)
def convert_to_freeze(order_id: int, body: ConvertIn, session: DbSession, actor: Analyst) -> OrderOut:
    """Convert a live stop-payment into a freeze (止付转冻结) on an approved finding naming its account.

    One transaction: the stop-payment ends as `converted`, the freeze starts (capped at the traced
    amount) and its bank request names the stop-payment, so that the bank carries the hold over.
    """
    with session.begin():
        order = actions.get_order(session, order_id)
        finding = actions.get_finding(session, body.finding_id)
        actions.check_convert(session, order, finding, actor=actor)
        freeze = actions.do_convert(session, order, finding, actor=actor, amount_fen=body.amount_fen)
    return queries.order_out(freeze, timeline=True)


@router.post("/orders/{order_id}/renew", response_model=OrderOut, status_code=201)
def renew_order(order_id: int, body: RenewIn, session: DbSession, actor: Analyst) -> OrderOut:
    """Renew an executed order for a new term from now: a freeze 6 months (1 year if major), a stop 48 h.

    A stop-payment is renewed twice at most (409 after); the old order becomes `renewed`.
    """
    with session.begin():
        order = actions.get_order(session, order_id)
        actions.check_renew(order, actor=actor)
        renewal = actions.do_renew(session, order, actor=actor, reason=body.reason)
    return queries.order_out(renewal, timeline=True)


@router.post("/orders/stop-payments", response_model=OrderOut, status_code=201)
def issue_stop_payment(body: StopPaymentIn, session: DbSession, actor: Analyst) -> OrderOut:
    """A stop-payment on an account an approved finding names. A model score is refused as a basis."""
    if body.finding_id is None or body.finding_account_id is None:
        raise Invalid(
            "no legal basis: a model score can raise a warning, never an order"
            if body.model_score is not None
            else "no legal basis: name an approved finding and one of its accounts",
            field="basis",
        )
    with session.begin():
        finding = actions.get_finding(session, body.finding_id)
        ref, _traced = _finding_account(session, body.finding_id, body.finding_account_id)
        draft = actions.OrderDraft(
            kind=OrderKind.STOP_PAYMENT,
            reason=OrderReason.DIRECT_PAYEE,
            account=ref,
            actor=actor,
            report_id=finding.report_id,
            finding=finding,
            origin_at=finding.decided_at,
            from_model_score=body.model_score is not None,
            # The analyst's order rests on the finding; its report is only recorded.
            report_is_basis=False,
        )
        actions.check_issue_order(session, draft)
        order = actions.do_issue_order(session, draft)
    return queries.order_out(order, timeline=True)


@router.post("/orders/{order_id}/release", response_model=OrderOut)
def release_order(order_id: int, body: ReleaseIn, session: DbSession, actor: Supervisor) -> OrderOut:
    """Release an order at once; the bank is told through the outbox."""
    with session.begin():
        order = actions.get_order(session, order_id)
        actions.check_release(order)
        actions.do_release(session, order, reason=body.reason, actor=actor)
    return queries.order_out(order, timeline=True)


@router.post("/orders/{order_id}/unrelated", response_model=OrderOut)
def mark_unrelated(order_id: int, session: DbSession, actor: Deciders) -> OrderOut:
    """Funds found unrelated to the case: the release falls due within 3 days."""
    with session.begin():
        order = actions.get_order(session, order_id)
        actions.do_mark_unrelated(session, order, actor=actor)
    return queries.order_out(order, timeline=True)


@router.get("/findings", response_model=list[FindingOut])
def approval_queue(session: DbSession, actor: Deciders) -> list[FindingOut]:
    """Draft findings awaiting a supervisor, longest waiting first, with their evidence."""
    return [queries.finding_out(f) for f in queries.approval_queue(session)]


@router.get("/findings/{finding_id}", response_model=FindingOut)
def get_finding(finding_id: int, session: DbSession, actor: Deciders) -> FindingOut:
    """One finding."""
    return queries.finding_out(actions.get_finding(session, finding_id))


@router.post("/findings/{finding_id}/major-case", response_model=FindingOut)
def mark_major_case(finding_id: int, body: MajorCaseIn, session: DbSession, actor: Analyst) -> FindingOut:
    """Mark a draft finding as a major case (its freezes run 1 year) or not, with the reason."""
    with session.begin():
        finding = actions.get_finding(session, finding_id)
        actions.check_mark_major(
            finding, major_case=body.major_case, reason=body.major_case_reason, actor=actor
        )
        actions.do_mark_major(
            session, finding, major_case=body.major_case, reason=body.major_case_reason, actor=actor
        )
    return queries.finding_out(finding)


@router.post("/findings/{finding_id}/decision", response_model=FindingOut)
def decide_finding(finding_id: int, body: DecisionIn, session: DbSession, actor: Supervisor) -> FindingOut:
    """Approve or refuse a draft finding; approval triggers the holder-linked stop-payments."""
    with session.begin():
        finding = actions.get_finding(session, finding_id)
        actions.check_decide_finding(finding, actor=actor)
        actions.do_decide_finding(session, finding, approve=body.approve, note=body.note, actor=actor)
    return queries.finding_out(finding)


@router.post("/findings/decisions", response_model=list[FindingOut])
def decide_findings(body: DecisionBatchIn, session: DbSession, actor: Supervisor) -> list[FindingOut]:
    """Decide the drafts a supervisor selected in the approval queue, in one transaction: all or none.

    Each decision is checked, taken and audited as by `POST /findings/{id}/decision`; a refusal names
    the decision by its index (`decisions.2.status`) and nothing is written.
    """
    decided = []
    with session.begin():
        loaded = actions.load_findings(session, [d.finding_id for d in body.decisions])
        for i, d in enumerate(body.decisions):
            try:
                finding = loaded.ordered([d.finding_id])[0]
                actions.check_decide_finding(finding, actor=actor)
            except DomainError as exc:
                raise exc.within(f"decisions.{i}") from exc
            decided.append(
                actions.do_decide_finding(session, finding, approve=d.approve, note=d.note, actor=actor)
            )
    return [queries.finding_out(f) for f in decided]


@router.post("/orders/{order_id}/appeals", response_model=AppealOut, status_code=201)
def file_appeal(order_id: int, body: AppealIn, session: DbSession, actor: AppealTakers) -> AppealOut:
    """Record a holder's appeal against an order, with its decision deadline."""
    with session.begin():
        order = actions.get_order(session, order_id)
        actions.check_file_appeal(order, body.statement)
        appeal = actions.do_file_appeal(
            session, order, appellant=body.appellant, statement=body.statement, actor=actor
        )
    return queries.appeal_out(appeal)


@router.get("/appeals", response_model=list[AppealOut])
def list_appeals(
    session: DbSession, actor: AppealTakers, order_id: int | None = None, pending: bool = False
) -> list[AppealOut]:
    """Appeals, nearest decision deadline first: of one order, or (`pending=true`) those awaiting a decision."""
    return [queries.appeal_out(a) for a in queries.appeals(session, order_id=order_id, pending_only=pending)]


@router.post("/appeals/{appeal_id}/decision", response_model=AppealOut)
def decide_appeal(appeal_id: int, body: AppealDecisionIn, session: DbSession, actor: Supervisor) -> AppealOut:
    """Uphold (the order is released at once) or dismiss an appeal; never by the one who filed it (403)."""
    with session.begin():
        appeal = actions.get_appeal(session, appeal_id)
        actions.check_decide_appeal(appeal, actor=actor, reason=body.reason)
        actions.do_decide_appeal(session, appeal, upheld=body.upheld, reason=body.reason, actor=actor)
    return queries.appeal_out(appeal)
