"""The link to the early-warning outbox (issue "Early warning I"): take its warning plans, report back.

A plan of that domain becomes a delivery here with the plan id `risk:{plan.id}`. What a channel did
goes back on the plan's steps through the risk domain's own actions (`do_mark_plan_step`), in the
same transaction as the change here, so the two never disagree after a crash.

Why only "sent" at acceptance and final states afterwards: `do_mark_plan_step` puts a plan back to
pending while any of its steps is still due, and a pending plan is claimed again on the next pass.
So the drain marks every due step of a plan it accepts in one go (all "sent", or final when there is
nothing to send), which leaves the plan waiting; afterwards each step is marked once more, with its
final state, when the message here reaches one. A voice step that ends unanswered makes the plan's
home-visit step due; the visit this domain opened is reported in the same transaction, so the plan
waits again instead of returning to the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pingan.antifraud.risk.actions import do_mark_plan_step
from pingan.antifraud.risk.choices import StepChannel, StepState
from pingan.antifraud.warnings.choices import MessageState, Urgency
from pingan.antifraud.warnings.model import WarningDelivery
from pingan.core.errors import DomainError
from pingan.core.logging import get_logger
from pingan.core.roles import Actor

if TYPE_CHECKING:  # a plan comes from risk's actions; its type only annotates
    from pingan.antifraud.risk.model import WarningPlan

log = get_logger("warnings.risk_link")
RISK_PLAN_PREFIX = "risk:"


def plan_key(plan_id: int) -> str:
    """The delivery's plan id for risk plan `plan_id`."""
    return f"{RISK_PLAN_PREFIX}{plan_id}"


def risk_plan_id(delivery: WarningDelivery) -> int | None:
    """The risk plan a delivery came from, or None for a plan submitted otherwise (API, bench)."""
    return risk_plan_id_of(delivery.plan_id)


def risk_plan_id_of(plan_key: str) -> int | None:
    """The risk plan of a delivery's plan id (`risk:{id}`), or None for a plan submitted otherwise."""
    if not plan_key.startswith(RISK_PLAN_PREFIX):
        return None
    raw = plan_key[len(RISK_PLAN_PREFIX) :]
    return int(raw) if raw.isdigit() else None


# What a message's final state means for its plan step. Delivered only on a delivery report, answered
# only on an answered call. An outbox channel's "recorded" stays recorded: it reached nobody, and
# marking it delivered or answered made the plan (and the monthly report) claim a contact. The
# outbox still ends the plan without a visit (risk's `after_voice` skips it), as the delivery here
# closes as recorded with none.
SMS_STEP_STATE = {
    MessageState.DELIVERED: StepState.DELIVERED,
    MessageState.FAILED: StepState.FAILED,
    MessageState.EXPIRED: StepState.FAILED,
    MessageState.RECORDED: StepState.RECORDED,
}


def voice_step_state(message_state: MessageState, *, calls_over: bool) -> StepState | None:
    """The voice step's final state after a call ended as `message_state`, or None while calls remain."""
    if message_state is MessageState.ANSWERED:
        return StepState.ANSWERED
    if message_state is MessageState.RECORDED:
        return StepState.RECORDED
    return StepState.UNANSWERED if calls_over else None


def do_report_step(
    session: Session,
    delivery: WarningDelivery,
    channel: StepChannel,
    state: StepState,
    *,
    actor: Actor,
    detail: dict[str, object] | None = None,
    now: datetime | None = None,
) -> bool:
    """Mark `channel`'s step of the delivery's risk plan `state`, in a savepoint. Caller holds the transaction.

    Returns False, changing nothing there, when the delivery has no risk plan, the plan has no such
    step, or the step already ended: a refusal of the risk domain must never undo a receipt here.
    """
    plan_id = risk_plan_id(delivery)
    if plan_id is None:
        return False
    return do_report_step_by_id(session, plan_id, channel, state, actor=actor, detail=detail, now=now)


def do_report_step_by_id(
    session: Session,
    plan_id: int,
    channel: StepChannel,
    state: StepState,
    *,
    actor: Actor,
    detail: dict[str, object] | None = None,
    now: datetime | None = None,
) -> bool:
    """Mark `channel`'s step of risk plan `plan_id` `state` in a savepoint; False when the risk domain refuses."""
    try:
        with session.begin_nested():
            do_mark_plan_step(
                session, plan_id=plan_id, channel=channel, state=state, actor=actor, detail=detail, now=now
            )
    except DomainError as exc:
        log.info("plan step not marked", plan_id=plan_id, channel=channel.value, reason=str(exc))
        return False
    return True


def do_report_visit_opened(
    session: Session, delivery: WarningDelivery, *, actor: Actor, task_id: int
) -> bool:
    """Report a home visit opened for the delivery as the plan's home-visit step sent."""
    return do_report_step(
        session, delivery, StepChannel.HOME_VISIT, StepState.SENT, actor=actor, detail={"task_id": task_id}
    )


def urgency_of(plan: WarningPlan) -> Urgency:
    """Every plan of the early-warning outbox is urgent: it is opened on a transfer in progress."""
    return Urgency.URGENT
