"""The drain of the early-warning outbox: a risk event's plan becomes texts and calls here, and what
the channels did goes back on the plan's steps, once each, without the plan returning to the outbox."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import func, select

from pingan.antifraud.risk.actions import FlagIn, do_claim_pending_plans, do_record_flags
from pingan.antifraud.risk.choices import PlanStatus, StepChannel, StepState
from pingan.antifraud.risk.model import WarningPlan
from pingan.antifraud.warnings import actions
from pingan.antifraud.warnings.channels import SendResult
from pingan.antifraud.warnings.choices import ChannelKind, DeliveryState, MessageState
from pingan.antifraud.warnings.jobs import WarningSender, drain_risk_outbox
from pingan.antifraud.warnings.model import WarningDelivery, WarningMessage
from pingan.antifraud.warnings.outbox import OutboxSmsChannel, OutboxVoiceChannel
from pingan.antifraud.warnings.visits.actions import do_accept, do_record_outcome
from pingan.antifraud.warnings.visits.choices import VisitOutcome
from pingan.antifraud.warnings.visits.model import HomeVisitTask
from pingan.core import clock, db
from pingan.core.audit import AuditEntry, verify_chain
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor, Role

SCREENING = Actor.system("screening")
SENDER = Actor.system("warnings")
OFFICER_LI = Actor(username="officer_li", role=Role.OFFICER)


def flag_of_wang(tx_id: int = 1, *, elderly: bool = False, amount_fen: int = 800_000) -> FlagIn:
    """Wang paying a reported 'safe account' (冒充公检法) from his phone."""
    phone = protect(PiiKind.PHONE, "13812345678")
    return FlagIn(
        tx_id=tx_id,
        occurred_at=clock.now() - timedelta(seconds=5),
        person_key="person:wang",
        payer_account="card-wang",
        payee_account="card-mule-1",
        payer_bank="ICBC",
        payee_bank="CCB",
        amount_fen=amount_fen,
        amount_at_risk_fen=amount_fen,
        reasons=["WL-PAYEE:reported_payee"],
        typology_guess="冒充公检法",
        elderly=elderly,
        phone=phone,
        home_station="WH-YL",
    )


def risk_event(flag: FlagIn) -> int:
    """Record the flag as screening does; returns the plan id."""
    with db.transaction() as s:
        result = do_record_flags(s, [flag], engine="test", rules_version="t", actor=SCREENING)
        return result.plans_created[0].id


def plan_steps(plan_id: int) -> tuple[PlanStatus, dict[StepChannel, StepState]]:
    with db.transaction() as s:
        plan = s.get(WarningPlan, plan_id)
        assert plan is not None
        return plan.status, {st.channel: st.state for st in plan.steps}


def messages() -> list[WarningMessage]:
    with db.transaction() as s:
        return list(s.execute(select(WarningMessage).order_by(WarningMessage.id)).scalars())


def outbox_sender() -> WarningSender:
    return WarningSender(OutboxSmsChannel(), OutboxVoiceChannel())


def test_a_risk_events_plan_becomes_an_outbox_text_whose_final_state_goes_back_on_the_plan(
    database: str,
) -> None:
    plan_id = risk_event(flag_of_wang())

    assert drain_risk_outbox() == 1
    assert plan_steps(plan_id) == (
        PlanStatus.WAITING,
        {StepChannel.SMS: StepState.SENT, StepChannel.VOICE: StepState.SENT},
    )
    asyncio.run(outbox_sender().send_sms_batch())

    [sms, _call] = messages()
    assert sms.message_key == f"risk:{plan_id}:sms:1" and sms.state is MessageState.RECORDED
    assert "冒充公检法" in sms.body and "96110" in sms.body and "http" not in sms.body
    status, steps = plan_steps(plan_id)
    assert steps[StepChannel.SMS] is StepState.RECORDED  # the outbox wrote it down; nothing was sent
    assert status is PlanStatus.WAITING  # the call is still to come


def test_the_plan_maps_onto_the_delivery_field_by_field(database: str) -> None:
    plan_id = risk_event(flag_of_wang(amount_fen=5_000_000))
    drain_risk_outbox()
    with db.transaction() as s:
        d = actions.get_delivery(s, f"risk:{plan_id}")
        plan = s.get(WarningPlan, plan_id)
        assert plan is not None
        assert (d.person_pseudonym, d.typology, d.amount_fen, d.elderly, d.home_station_code) == (
            "person:wang",
            "冒充公检法",
            5_000_000,
            False,
            "WH-YL",
        )
        assert d.urgency.value == "urgent" and d.risk_event_at == plan.created_at
        assert plan.phone is not None and d.phone_cipher == plan.phone.cipher


def test_draining_twice_delivers_once_and_the_plan_does_not_return_to_the_outbox(database: str) -> None:
    plan_id = risk_event(flag_of_wang())

    first, second = drain_risk_outbox(), drain_risk_outbox()

    assert (first, second) == (1, 0)
    assert [m.kind for m in messages()] == [ChannelKind.SMS, ChannelKind.VOICE]
    asyncio.run(outbox_sender().send_sms_batch())
    assert drain_risk_outbox() == 0  # a final SMS state leaves the plan waiting, not pending
    with db.transaction() as s:
        assert do_claim_pending_plans(s, limit=10, worker="probe") == []
    assert plan_steps(plan_id)[0] is PlanStatus.WAITING


def test_a_plan_claimed_by_a_drain_that_died_is_taken_again_after_its_lease_and_warned_once(
    database: str,
) -> None:
    risk_event(flag_of_wang())
    with db.transaction() as s:  # a drain claims, then dies before accepting anything
        [_claimed] = do_claim_pending_plans(s, limit=10, worker="dead-drain")

    assert drain_risk_outbox() == 0  # still leased to the dead drain
    with clock.frozen(clock.now() + timedelta(minutes=6)):
        assert drain_risk_outbox() == 1
        assert drain_risk_outbox() == 0

    assert len(messages()) == 2
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(WarningDelivery)).scalar_one() == 1


def test_both_steps_ending_closes_the_plan(database: str) -> None:
    plan_id = risk_event(flag_of_wang())
    drain_risk_outbox()
    sender = outbox_sender()

    asyncio.run(sender.send_sms_batch())
    asyncio.run(sender.place_calls_batch())

    assert plan_steps(plan_id) == (
        PlanStatus.DONE,
        {StepChannel.SMS: StepState.RECORDED, StepChannel.VOICE: StepState.RECORDED},
    )


def no_answer(message_key: str) -> None:
    with db.transaction() as s:
        actions.do_record_call_result(
            s, SendResult(message_key, MessageState.NO_ANSWER), voice_channel="sip", actor=SENDER
        )


def test_unanswered_calls_escalate_and_the_home_visit_is_reported_sent_then_done(database: str) -> None:
    plan_id = risk_event(flag_of_wang(elderly=True))
    drain_risk_outbox()
    t = clock.now()
    for attempt in (1, 2, 3):
        with clock.frozen(t + timedelta(minutes=4 * attempt)):
            no_answer(f"risk:{plan_id}:voice:{attempt}")

    status, steps = plan_steps(plan_id)
    assert steps[StepChannel.VOICE] is StepState.UNANSWERED
    assert steps[StepChannel.HOME_VISIT] is StepState.SENT
    assert status is PlanStatus.WAITING  # the visit is under way: nothing for the drain to take again
    assert drain_risk_outbox() == 0
    with db.transaction() as s:
        task = s.execute(select(HomeVisitTask)).scalar_one()
        do_accept(s, task, actor=OFFICER_LI)
        do_record_outcome(s, task, outcome=VisitOutcome.DISSUADED, note="劝阻成功", actor=OFFICER_LI)
    assert plan_steps(plan_id)[1][StepChannel.HOME_VISIT] is StepState.DONE


def test_a_plan_without_a_phone_goes_straight_to_a_home_visit(database: str) -> None:
    flag = flag_of_wang(elderly=True)
    plan_id = risk_event(
        FlagIn(**{**flag.__dict__, "phone": None})  # type: ignore[arg-type]
    )

    drain_risk_outbox()

    status, steps = plan_steps(plan_id)
    assert steps == {
        StepChannel.SMS: StepState.FAILED,
        StepChannel.VOICE: StepState.FAILED,
        StepChannel.HOME_VISIT: StepState.SENT,
    }
    assert status is PlanStatus.WAITING
    with db.transaction() as s:
        assert actions.get_delivery(s, f"risk:{plan_id}").state is DeliveryState.ESCALATED


def test_the_audit_chain_holds_after_the_drain_and_its_reports(database: str) -> None:
    risk_event(flag_of_wang())
    drain_risk_outbox()
    asyncio.run(outbox_sender().send_sms_batch())
    with db.transaction() as s:
        assert verify_chain(s).ok


def test_a_delivered_report_from_the_gateway_marks_the_plans_sms_step_and_the_first_contact(
    database: str,
) -> None:
    plan_id = risk_event(flag_of_wang())
    drain_risk_outbox()
    key = f"risk:{plan_id}:sms:1"
    with db.transaction() as s:
        claimed = actions.do_claim_due(s, kind=ChannelKind.SMS, limit=10, actor=SENDER)
    assert [c.message_key for c in claimed] == [key]

    with db.transaction() as s:
        out = actions.do_record_dlrs(
            s, [actions.Dlr(key, 8, "ACK"), actions.Dlr(key, 1, "DELIVRD")], source="kannel", actor=SENDER
        )
    assert out == [MessageState.SUBMITTED, MessageState.DELIVERED]
    assert plan_steps(plan_id)[1][StepChannel.SMS] is StepState.DELIVERED
    with db.transaction() as s:
        delivery = s.execute(select(WarningDelivery)).scalar_one()
        m = s.execute(select(WarningMessage).where(WarningMessage.message_key == key)).scalar_one()
        assert (delivery.state, delivery.first_contact_channel) == (DeliveryState.REACHED, ChannelKind.SMS)
        assert m.submitted_at is not None and m.final_at is not None
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "warning.sms.dlr")).scalars()
        assert [(r["type"], r["to"]) for r in json.loads(entry.detail)["reports"]] == [
            (8, "submitted"),
            (1, "delivered"),
        ]


def test_plans_accepted_together_are_audited_in_one_entry_naming_each(database: str) -> None:
    from tests.antifraud.warnings.conftest import wang_request

    with db.transaction() as s:
        actions.do_accept_plans(
            s,
            [wang_request("plan-a"), wang_request("plan-b")],
            sms_channel="outbox",
            voice_channel="outbox",
            actor=SENDER,
        )
    with db.transaction() as s:
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "warning.plan.accept")).scalars()
        assert [p["plan"] for p in json.loads(entry.detail)["plans"]] == ["plan-a", "plan-b"]
        assert verify_chain(s).ok
