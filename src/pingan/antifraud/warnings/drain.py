"""The drain of the early-warning outbox: claim warning plans, accept each as a delivery, settle its due steps.

One transaction per pass: the claim, the deliveries and messages queued here, and the steps marked
on the plans commit together or not at all. A pass that dies leaves the plans claimed until their
lease ends, and then they are claimed again; `do_accept_plan` is idempotent by plan id, so a plan
claimed twice is still warned once. See `risk_link` for why a plan is left waiting, never pending.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.risk.actions import do_claim_pending_plans
from pingan.antifraud.risk.choices import StepChannel, StepState
from pingan.antifraud.warnings import actions, risk_link
from pingan.antifraud.warnings.actions import DeliveryRequest
from pingan.antifraud.warnings.choices import FINAL_STATES, ChannelKind
from pingan.antifraud.warnings.model import WarningDelivery, WarningMessage
from pingan.antifraud.warnings.visits.actions import do_open_visit
from pingan.antifraud.warnings.visits.choices import VisitKind
from pingan.antifraud.warnings.visits.model import HomeVisitTask
from pingan.core.errors import Invalid
from pingan.core.logging import get_logger
from pingan.core.roles import Actor

if TYPE_CHECKING:  # a plan comes from risk's actions; its type only annotates
    from pingan.antifraud.risk.model import WarningPlan

log = get_logger("warnings.drain")
DRAIN_WORKER = "warnings-drain"
# A plan whose person has no known home station is still texted and called at once; a visit, should
# one be needed, goes to the unassigned queue that supervisors see rather than being dropped.
UNASSIGNED_STATION = "unassigned"


def request_for_plan(plan: WarningPlan) -> DeliveryRequest:
    """The delivery request of a risk plan: its person, encrypted phone, typology guess, amount and station."""
    return DeliveryRequest(
        plan_id=risk_link.plan_key(plan.id),
        person_pseudonym=plan.person_key,
        phone_cipher=plan.phone.cipher if plan.phone is not None else None,
        phone_masked=plan.phone.masked if plan.phone is not None else None,
        typology=plan.typology_guess or "其他",
        amount_fen=plan.amount_at_risk_fen,
        elderly=plan.elderly,
        home_station_code=plan.home_station or UNASSIGNED_STATION,
        urgency=risk_link.urgency_of(plan),
        risk_event_at=plan.created_at,
        reasons=tuple(_reasons(plan)),
    )


def _reasons(plan: WarningPlan) -> list[str]:
    try:
        raw = json.loads(plan.reasons or "[]")
    except ValueError:
        return []
    return [str(r) for r in raw] if isinstance(raw, list) else []


def _last_message(delivery: WarningDelivery, kind: ChannelKind) -> WarningMessage | None:
    found = [m for m in delivery.messages if m.kind is kind]
    return max(found, key=lambda m: m.attempt) if found else None


def _visit_task(session: Session, delivery: WarningDelivery) -> HomeVisitTask | None:
    return session.execute(
        select(HomeVisitTask)
        .where(HomeVisitTask.delivery_id == delivery.id, HomeVisitTask.kind == VisitKind.DISSUASION)
        .order_by(HomeVisitTask.id)
        .limit(1)
    ).scalar_one_or_none()


def _step_now(
    session: Session, delivery: WarningDelivery, channel: StepChannel, *, actor: Actor
) -> tuple[StepState, dict[str, object]]:
    """What a due step is, given the delivery as it stands: sent while its message is under way, else final."""
    if channel is StepChannel.HOME_VISIT:
        task = _visit_task(session, delivery)
        if task is None:
            # The plan's policy asks for a visit that this domain's thresholds did not open: honour it.
            task = do_open_visit(
                session,
                delivery,
                kind=VisitKind.DISSUASION,
                reasons=("risk_plan:home_visit_due",),
                actor=actor,
            )
        return StepState.SENT, {"task_id": task.id}
    kind = ChannelKind.SMS if channel is StepChannel.SMS else ChannelKind.VOICE
    m = _last_message(delivery, kind)
    if m is None:
        why = "no_phone" if delivery.phone is None else f"delivery_{delivery.state.value}"
        return StepState.FAILED, {"reason": why}
    detail: dict[str, object] = {"message_key": m.message_key, "state": m.state.value}
    if m.state not in FINAL_STATES:
        return StepState.SENT, detail
    if kind is ChannelKind.SMS:
        return risk_link.SMS_STEP_STATE.get(m.state, StepState.FAILED), detail
    # A retry is queued as a new attempt, so a final last attempt means the calls are over.
    return risk_link.voice_step_state(m.state, calls_over=True) or StepState.SENT, detail


def do_settle_due_steps(
    session: Session, plan: WarningPlan, delivery: WarningDelivery, *, actor: Actor
) -> None:
    """Mark every due step of `plan` from the delivery, until none is due (a voice step that ends
    unanswered makes the home-visit step due in turn). Caller holds the transaction."""
    for _ in range(len(StepChannel)):
        due = [s.channel for s in plan.steps if s.state == StepState.DUE]
        if not due:
            return
        for channel in due:
            state, detail = _step_now(session, delivery, channel, actor=actor)
            risk_link.do_report_step(session, delivery, channel, state, actor=actor, detail=detail)


def _refuse_plan(session: Session, plan: WarningPlan, exc: Invalid, *, actor: Actor) -> None:
    """Nothing can be sent for the plan; it records why rather than returning to the outbox forever."""
    log.error("warning plan refused", plan_id=plan.id, field=exc.field, reason=str(exc))
    for step in plan.steps:
        if step.state == StepState.DUE:
            risk_link.do_report_step_by_id(
                session,
                plan.id,
                step.channel,
                StepState.FAILED,
                actor=actor,
                detail={"refused": str(exc)},
            )


def do_accept_risk_plans(
    session: Session, plans: list[WarningPlan], *, sms_channel: str, voice_channel: str, actor: Actor
) -> int:
    """Accept claimed plans (each once, by plan id) in one batch and settle their due steps.

    Returns how many were newly accepted. Caller holds the transaction.
    """
    valid: list[tuple[WarningPlan, DeliveryRequest]] = []
    for plan in plans:
        req = request_for_plan(plan)
        try:
            actions.check_request(req)
        except Invalid as exc:
            _refuse_plan(session, plan, exc, actor=actor)
            continue
        valid.append((plan, req))
    accepted = actions.do_accept_plans(
        session, [r for _, r in valid], sms_channel=sms_channel, voice_channel=voice_channel, actor=actor
    )
    for (plan, _), (delivery, _) in zip(valid, accepted, strict=True):
        do_settle_due_steps(session, plan, delivery, actor=actor)
    return sum(1 for _, created in accepted if created)


def do_drain_risk_outbox(
    session: Session,
    *,
    limit: int,
    sms_channel: str,
    voice_channel: str,
    actor: Actor,
    worker: str = DRAIN_WORKER,
) -> tuple[int, int]:
    """Claim up to `limit` plans and accept them. Returns (claimed, newly accepted). Caller holds the transaction."""
    plans = do_claim_pending_plans(session, limit=limit, worker=worker)
    accepted = do_accept_risk_plans(
        session, list(plans), sms_channel=sms_channel, voice_channel=voice_channel, actor=actor
    )
    return len(plans), accepted
