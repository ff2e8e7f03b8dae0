"""Honest reach: a warning is delivered only on a delivery report and answered only on an answered call;
what the outbox only recorded is "recorded, not sent" and reached nobody."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.risk.actions import FlagIn, do_record_flags
from pingan.antifraud.risk.model import WarningPlan
from pingan.antifraud.warnings import rules
from pingan.antifraud.warnings.choices import ChannelKind, MessageState, Reach
from pingan.antifraud.warnings.jobs import WarningSender, drain_risk_outbox
from pingan.antifraud.warnings.outbox import OutboxSmsChannel, OutboxVoiceChannel
from pingan.core import clock, db
from pingan.core.auth import User
from pingan.core.i18n import label
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor
from tests.conftest import bearer

# Labels are named as `label()` names them here: in Chinese, as a browser naming no language gets.
pytestmark = pytest.mark.browser_language(None)

SMS, VOICE = ChannelKind.SMS, ChannelKind.VOICE


def warn_wang_through_the_outbox() -> int:
    """Wang pays a reported account; the plan is drained and both channels are the outbox."""
    flag = FlagIn(
        tx_id=1, occurred_at=clock.now() - timedelta(seconds=5), person_key="person:wang",
        payer_account="card-wang", payee_account="card-mule-1", payer_bank="ICBC", payee_bank="CCB",
        amount_fen=800_000, amount_at_risk_fen=800_000, reasons=["WL-PAYEE:reported_payee"],
        typology_guess="冒充公检法", elderly=False, phone=protect(PiiKind.PHONE, "13812345678"),
        home_station="WH-YL",
    )  # fmt: skip
    with db.transaction() as s:
        plan_id = do_record_flags(
            s, [flag], engine="stream", rules_version="t", actor=Actor.system("screening")
        )
        plan_id = plan_id.plans_created[0].id
    drain_risk_outbox()
    sender = WarningSender(OutboxSmsChannel(), OutboxVoiceChannel())
    asyncio.run(sender.send_sms_batch())
    asyncio.run(sender.place_calls_batch())
    return plan_id


def test_a_text_is_delivered_only_on_a_delivery_report() -> None:
    assert rules.message_reach(SMS, MessageState.DELIVERED).reach is Reach.DELIVERED
    # DLR 8: the SMSC accepted the text; the phone has not said it arrived.
    assert rules.message_reach(SMS, MessageState.SUBMITTED).reach is Reach.AWAITING
    assert not rules.message_reach(SMS, MessageState.SUBMITTED).reached


def test_a_call_is_answered_only_when_it_was_answered() -> None:
    assert rules.message_reach(VOICE, MessageState.ANSWERED).reach is Reach.ANSWERED
    assert rules.message_reach(VOICE, MessageState.NO_ANSWER).reach is Reach.NOT_REACHED


def test_what_the_outbox_only_recorded_is_recorded_not_sent_and_not_reached() -> None:
    decision = rules.delivery_reach([(SMS, MessageState.RECORDED), (VOICE, MessageState.RECORDED)])
    assert decision.reach is Reach.RECORDED_NOT_SENT and not decision.reached
    assert decision.reasons == ("sms:recorded_not_sent", "voice:recorded_not_sent")


def test_an_answered_call_reaches_the_person_whatever_the_outbox_recorded() -> None:
    decision = rules.delivery_reach([(SMS, MessageState.RECORDED), (VOICE, MessageState.ANSWERED)])
    assert decision.reach is Reach.ANSWERED and decision.reached


def test_an_outbox_only_warning_gives_the_plan_no_first_contact(database: str) -> None:
    plan_id = warn_wang_through_the_outbox()
    with db.transaction() as s:
        plan = s.execute(select(WarningPlan).where(WarningPlan.id == plan_id)).scalar_one()
        assert plan.first_contact_at is None


def test_an_outbox_only_warning_is_recorded_not_sent_on_the_persons_timeline(
    client: TestClient, analyst_zhang: User
) -> None:
    warn_wang_through_the_outbox()
    page = client.get("/warnings/persons/person:wang", headers=bearer(analyst_zhang))
    assert page.status_code == 200, page.text
    assert 'data-reach="recorded_not_sent"' in page.text
    assert label(Reach.RECORDED_NOT_SENT) in page.text  # "recorded, not sent" (已记录，未发送)
    assert "reach-delivered" not in page.text and "reach-answered" not in page.text
