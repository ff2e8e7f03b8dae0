"""Warning calls over SIP against a real SIPp UAS: the call flow, the keys pressed, retries and escalation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from pingan.antifraud.warnings.choices import DeliveryState, MessageState, Priority
from pingan.antifraud.warnings.jobs import WarningSender
from pingan.antifraud.warnings.outbox import OutboxSmsChannel
from pingan.antifraud.warnings.visits.choices import VisitKind
from pingan.antifraud.warnings.visits.model import HomeVisitTask
from pingan.antifraud.warnings.voice_sip import SipTimers, SipVoiceChannel
from pingan.core import clock, db
from tests.antifraud.warnings.conftest import accept, load_delivery, wang_request
from tests.peers import SippUas, free_port

pytestmark = pytest.mark.services
FAST = SipTimers(invite_timeout=1.0, ring_timeout=0.8, digit_timeout=2.0)


def sender_to(port: int) -> WarningSender:
    return WarningSender(OutboxSmsChannel(), SipVoiceChannel(("127.0.0.1", port), timers=FAST))


def call_once(sender: WarningSender) -> None:
    async def go() -> None:
        await sender.place_calls_batch()
        await sender.aclose()

    asyncio.run(go())


def calls(plan_id: str) -> list[tuple[int, MessageState, str | None]]:
    return [(m.attempt, m.state, m.digit) for m in load_delivery(plan_id).messages if m.kind.value == "voice"]


def test_an_answered_call_runs_invite_200_ack_bye_and_records_key_1(
    sipp_factory: Callable[..., SippUas], wang_station: object
) -> None:
    uas = sipp_factory(digits="1")
    accept(wang_request(sms=False), voice="sip")

    call_once(sender_to(uas.port))

    assert calls("plan-wang-1") == [(1, MessageState.ANSWERED, "1")]
    flow = next(m.call_flow for m in load_delivery("plan-wang-1").messages)
    assert flow is not None
    for step in ('"> INVITE"', '"< 200 OK"', '"> ACK"', '"< RTP telephone-event 1"', '"> BYE"'):
        assert step in flow
    seen = uas.messages()
    assert (
        "INVITE sip:13812345678@" in seen
        and "ACK sip:" in seen
        and "BYE sip:" in seen
        and "SIP/2.0 200 OK" in seen
    )
    delivery = load_delivery("plan-wang-1")
    assert delivery.state is DeliveryState.REACHED and delivery.first_contact_channel == "voice"


def test_key_0_replays_the_prompt_and_the_next_key_is_recorded(
    sipp_factory: Callable[..., SippUas], wang_station: object
) -> None:
    uas = sipp_factory(digits="01")
    accept(wang_request(sms=False), voice="sip")

    call_once(sender_to(uas.port))

    [m] = [m for m in load_delivery("plan-wang-1").messages]
    assert m.digit == "1"
    assert '"digits": ["0", "1"]' in (m.call_flow or "")


def test_key_2_raises_priority_and_opens_an_urgent_report_intake_at_the_home_station(
    sipp_factory: Callable[..., SippUas], wang_station: object
) -> None:
    uas = sipp_factory(digits="2")
    accept(wang_request(sms=False), voice="sip")

    call_once(sender_to(uas.port))

    delivery = load_delivery("plan-wang-1")
    assert delivery.priority is Priority.RAISED and delivery.digit == "2"
    with db.transaction() as s:
        task = s.execute(select(HomeVisitTask)).scalar_one()
    assert task.kind is VisitKind.REPORT_INTAKE and task.station_code == "WH-YL"
    assert task.deadline_at - task.created_at == timedelta(minutes=30)


def test_a_busy_line_is_retried_twice_within_ten_minutes_then_escalated_to_a_home_visit(
    sipp_factory: Callable[..., SippUas], wang_station: object
) -> None:
    uas = sipp_factory(mode="busy")
    accept(wang_request(sms=False), voice="sip")
    start = clock.now()

    for minutes in (0, 2, 6):
        with clock.frozen(start + timedelta(minutes=minutes, seconds=1)):
            call_once(sender_to(uas.port))

    assert calls("plan-wang-1") == [
        (1, MessageState.BUSY, None),
        (2, MessageState.BUSY, None),
        (3, MessageState.BUSY, None),
    ]
    due = [m.due_at for m in load_delivery("plan-wang-1").messages]
    assert due[-1] - due[0] < timedelta(minutes=10)
    assert load_delivery("plan-wang-1").state is DeliveryState.ESCALATED
    with db.transaction() as s:
        task = s.execute(select(HomeVisitTask)).scalar_one()
    assert task.kind is VisitKind.DISSUASION and "elderly_payer" in task.reasons


def test_ringing_without_an_answer_is_cancelled_and_counted_as_no_answer(
    sipp_factory: Callable[..., SippUas], wang_station: object
) -> None:
    uas = sipp_factory(mode="no_answer")
    accept(wang_request(sms=False), voice="sip")

    call_once(sender_to(uas.port))

    assert calls("plan-wang-1")[0][1] is MessageState.NO_ANSWER
    assert "CANCEL sip:" in uas.messages()


def test_a_peer_that_is_down_fails_the_call_retries_it_then_escalates(
    wang_station: object, database: str
) -> None:
    dead_port = free_port()
    accept(wang_request(sms=False), voice="sip")
    start = clock.now()

    for minutes in (0, 2, 6):
        with clock.frozen(start + timedelta(minutes=minutes, seconds=1)):
            call_once(sender_to(dead_port))

    assert [state for _, state, _ in calls("plan-wang-1")] == [MessageState.FAILED] * 3
    assert load_delivery("plan-wang-1").state is DeliveryState.ESCALATED
