"""Pure decisions of warning delivery, and the template file's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pingan.antifraud.reports.choices import Typology
from pingan.antifraud.warnings import rules
from pingan.antifraud.warnings.choices import MessageState, Urgency
from pingan.antifraud.warnings.templates import TEMPLATE_FILE, load_templates, parse_templates
from pingan.core.errors import Invalid

MIDNIGHT_BEIJING = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)  # 00:00 in Asia/Shanghai
T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def test_an_urgent_warning_is_sent_at_midnight_despite_quiet_hours_and_an_opt_out() -> None:
    d = rules.may_contact_now(urgency=Urgency.URGENT, opted_out=True, now=MIDNIGHT_BEIJING)
    assert d.allowed and d.reasons == ("urgent:quiet_hours_and_opt_out_do_not_apply",)


def test_a_routine_notice_at_midnight_waits_for_eight_in_the_morning() -> None:
    d = rules.may_contact_now(urgency=Urgency.ROUTINE, opted_out=False, now=MIDNIGHT_BEIJING)
    assert not d.allowed and d.not_before == MIDNIGHT_BEIJING + timedelta(hours=8)


def test_a_routine_notice_to_someone_who_opted_out_is_not_sent() -> None:
    assert rules.may_contact_now(urgency=Urgency.ROUTINE, opted_out=True, now=T0).reasons == ("opted_out",)


@pytest.mark.parametrize("result", [MessageState.NO_ANSWER, MessageState.BUSY, MessageState.FAILED])
def test_an_unreached_call_is_retried_twice_within_ten_minutes(result: MessageState) -> None:
    first = rules.after_call(attempt=1, result=result, first_call_at=T0, amount_fen=0, elderly=False, now=T0)
    second = rules.after_call(attempt=2, result=result, first_call_at=T0, amount_fen=0, elderly=False, now=T0)
    assert first.action == second.action == "retry"
    assert first.due_at is not None and second.due_at is not None
    assert T0 < first.due_at < second.due_at < T0 + timedelta(minutes=10)


def test_after_three_unanswered_calls_an_elderly_payer_gets_a_home_visit() -> None:
    d = rules.after_call(
        attempt=3, result=MessageState.NO_ANSWER, first_call_at=T0, amount_fen=0, elderly=True, now=T0
    )
    assert d.action == "escalate" and "elderly_payer" in d.reasons


def test_after_three_unanswered_calls_a_small_amount_of_a_younger_payer_is_left_unreached() -> None:
    d = rules.after_call(
        attempt=3, result=MessageState.BUSY, first_call_at=T0, amount_fen=50_000, elderly=False, now=T0
    )
    assert d.action == "unreached"


def test_a_late_dlr_never_moves_a_delivered_text_back_to_submitted() -> None:
    assert rules.sms_transition(MessageState.DELIVERED, MessageState.SUBMITTED) is MessageState.DELIVERED


def test_kannel_dlr_types_map_to_delivered_failed_and_submitted() -> None:
    assert [rules.dlr_state(t) for t in (1, 2, 8, 16, 3)] == [
        MessageState.DELIVERED,
        MessageState.FAILED,
        MessageState.SUBMITTED,
        MessageState.FAILED,
        None,
    ]


def test_a_message_in_doubt_is_resent_only_after_the_grace_period_without_a_receipt() -> None:
    assert rules.in_doubt_action(claimed_at=T0, has_receipt=False, now=T0 + timedelta(seconds=5)) == "wait"
    assert rules.in_doubt_action(claimed_at=T0, has_receipt=False, now=T0 + timedelta(minutes=1)) == "resend"
    assert (
        rules.in_doubt_action(claimed_at=T0, has_receipt=True, now=T0 + timedelta(minutes=1)) == "submitted"
    )


def test_gateway_backoff_doubles_and_is_capped_at_a_minute() -> None:
    assert [rules.sms_backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [1, 2, 4, 60]


def test_every_typology_has_a_chinese_text_with_96110_and_no_link() -> None:
    templates = load_templates()
    for typology in Typology:
        sms = templates.for_typology(typology).render_sms()
        assert "96110" in sms and "http" not in sms and typology.value in sms


def test_a_template_with_a_link_is_refused_naming_the_typology_and_field() -> None:
    text = TEMPLATE_FILE.read_text(encoding="utf-8").replace(
        "如有疑问请拨打96110。", "详见 www.example.com 96110。", 1
    )
    with pytest.raises(Invalid) as err:
        parse_templates(text)
    assert err.value.field == "typology.刷单返利.sms"
