"""The pure rules of orders: the transition table, legal basis, sizing, expiry and renewal."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.antifraud.orders import rules
from pingan.antifraud.orders.choices import OrderKind, OrderReason, OrderState

S = OrderState
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ILLEGAL = [(a, b) for a in OrderState for b in OrderState if b not in rules.TRANSITIONS[a]]
LEGAL = [(a, b) for a in OrderState for b in rules.TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_each_illegal_transition_is_refused_with_the_allowed_moves(
    current: OrderState, target: OrderState
) -> None:
    refused = rules.transition_problem(current, target)
    assert refused is not None
    assert current.value in refused.message and target.value in refused.message


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_each_legal_transition_is_allowed(current: OrderState, target: OrderState) -> None:
    assert rules.transition_problem(current, target) is None


def test_the_documented_path_drafted_sent_acknowledged_executed_released_is_allowed() -> None:
    path = [S.DRAFTED, S.SENT, S.ACKNOWLEDGED, S.EXECUTED, S.RELEASED]
    assert all(rules.transition_problem(a, b) is None for a, b in itertools.pairwise(path))


def test_expired_renewed_released_converted_and_rejected_are_final() -> None:
    assert {S.EXPIRED, S.RENEWED, S.RELEASED, S.CONVERTED, S.REJECTED} == rules.FINAL_STATES


def test_a_converted_order_is_no_longer_live() -> None:
    assert S.CONVERTED not in rules.LIVE_STATES


def test_only_a_stop_payment_its_bank_has_taken_is_converted_into_a_freeze() -> None:
    assert rules.conversion_problem(OrderKind.STOP_PAYMENT, S.EXECUTED) is None
    assert rules.conversion_problem(OrderKind.STOP_PAYMENT, S.ACKNOWLEDGED) is None
    assert "once its bank has taken it" in (rules.conversion_problem(OrderKind.STOP_PAYMENT, S.SENT) or "")
    assert "only a stop-payment" in (rules.conversion_problem(OrderKind.FREEZE, S.EXECUTED) or "")


def test_a_freeze_is_renewed_any_number_of_times_a_stop_payment_twice() -> None:
    assert rules.renewal_problem(OrderKind.FREEZE, S.EXECUTED, renewals=5) is None
    assert rules.renewal_problem(OrderKind.STOP_PAYMENT, S.EXECUTED, renewals=1) is None
    assert "at most 2" in (rules.renewal_problem(OrderKind.STOP_PAYMENT, S.EXECUTED, renewals=2) or "")
    assert "only an executed order" in (
        rules.renewal_problem(OrderKind.FREEZE, S.ACKNOWLEDGED, renewals=0) or ""
    )


def test_a_major_case_needs_its_reason() -> None:
    assert rules.major_case_problem(True, None) is not None
    assert rules.major_case_problem(True, "  ") is not None
    assert rules.major_case_problem(True, "organised ring") is None
    assert rules.major_case_problem(False, None) is None


@given(
    held=st.integers(min_value=0, max_value=2**60),
    ordered=st.none() | st.integers(min_value=1, max_value=2**53),
)
def test_a_held_amount_is_accepted_only_within_the_order_and_2_to_the_53(
    held: int, ordered: int | None
) -> None:
    accepted = rules.held_amount_problem(held, ordered) is None
    assert accepted == (held <= 2**53 and (ordered is None or held <= ordered))


def _basis(
    kind: OrderKind, reason: OrderReason, *, report: bool = False, finding: bool = False, score: bool = False
) -> str | None:
    return rules.basis_problem(rules.BasisInput(kind, reason, report, finding, score))


def test_a_direct_stop_payment_rests_on_the_registered_report() -> None:
    assert _basis(OrderKind.STOP_PAYMENT, OrderReason.DIRECT_PAYEE, report=True) is None


def test_a_holder_linked_stop_payment_needs_an_approved_finding() -> None:
    assert _basis(OrderKind.STOP_PAYMENT, OrderReason.HOLDER_LINKED, report=True) is not None
    assert _basis(OrderKind.STOP_PAYMENT, OrderReason.HOLDER_LINKED, finding=True) is None


def test_a_freeze_needs_an_approved_finding_even_with_a_report() -> None:
    assert "finding" in (_basis(OrderKind.FREEZE, OrderReason.DIRECT_PAYEE, report=True) or "")
    assert _basis(OrderKind.FREEZE, OrderReason.TRACED, finding=True) is None


def test_a_model_score_never_creates_an_order() -> None:
    for kind in OrderKind:
        assert "model score" in (
            _basis(kind, OrderReason.DIRECT_PAYEE, report=True, finding=True, score=True) or ""
        )


def test_a_stop_payment_lasts_48_hours_and_a_freeze_six_months_or_a_year_if_major() -> None:
    assert rules.expires_at(OrderKind.STOP_PAYMENT, NOW, major_case=False) == NOW + timedelta(hours=48)
    assert rules.expires_at(OrderKind.FREEZE, NOW, major_case=False) == NOW + timedelta(days=183)
    assert rules.expires_at(OrderKind.FREEZE, NOW, major_case=True) == NOW + timedelta(days=365)


@given(st.one_of(st.none(), st.integers(1, 10**10)), st.integers(1, 10**10))
def test_a_freeze_never_exceeds_the_traced_amount(requested: int | None, traced: int) -> None:
    amount, _why = rules.freeze_amount(requested, traced)
    assert amount is not None and amount <= traced


def test_a_freeze_without_a_traced_amount_keeps_the_requested_amount() -> None:
    assert rules.freeze_amount(5_000, None) == (5_000, None)


def _renewal(renewals: int, expires_in: timedelta, *, case_open: bool = True) -> str:
    return rules.renewal_decision(
        kind=OrderKind.STOP_PAYMENT,
        state=S.EXECUTED,
        renewals=renewals,
        expires=NOW + expires_in,
        case_open=case_open,
        now=NOW,
    ).action


def test_a_stop_payment_is_renewed_before_it_runs_out() -> None:
    assert _renewal(0, timedelta(hours=5)) == "renew"
    assert _renewal(0, timedelta(hours=30)) == "wait"


def test_a_stop_payment_is_renewed_at_most_twice_then_an_analyst_is_alerted() -> None:
    assert _renewal(1, timedelta(hours=5)) == "renew"
    assert _renewal(2, timedelta(hours=5)) == "alert"


def test_a_stop_payment_the_case_no_longer_needs_is_left_to_lapse() -> None:
    assert _renewal(0, timedelta(hours=5), case_open=False) == "wait"


def test_a_freeze_expiry_alert_falls_due_a_week_ahead() -> None:
    assert rules.freeze_expiry_alert_due(OrderKind.FREEZE, S.EXECUTED, NOW + timedelta(days=6), NOW)
    assert not rules.freeze_expiry_alert_due(OrderKind.FREEZE, S.EXECUTED, NOW + timedelta(days=30), NOW)


@given(st.integers(1, 60), st.floats(0, 0.999))
def test_backoff_grows_exponentially_within_its_cap(attempt: int, jitter: float) -> None:
    d = rules.backoff_delay(attempt, base_s=0.1, max_s=10.0, jitter=jitter)
    assert 0 < d <= 10.0
    assert d >= min(10.0, 0.1 * 2 ** (attempt - 1)) / 2


def test_the_countdown_rounds_down_to_the_hour_and_ends_at_expiry() -> None:
    expires = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    left = rules.countdown(expires, expires - timedelta(days=3, hours=4, minutes=59))
    assert left == rules.Countdown(3, 4, expired=False)
    assert rules.countdown(expires, expires) == rules.Countdown(0, 0, expired=True)
    assert rules.countdown(None, expires) is None
