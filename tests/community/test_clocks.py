"""The mediation clocks at, just before and just after each deadline and warning."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from pingan.community import rules
from pingan.community.choices import ClockKind, ClockState, DisputeStatus

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
C = rules.DEFAULT_CLOCKS


def _state(times: rules.DisputeTimes, kind: ClockKind, now: datetime) -> ClockState:
    found = [c for c in rules.clocks(times, C, now=now) if c.kind is kind]
    assert len(found) == 1
    return found[0].state


OPEN = rules.DisputeTimes(taken_in_at=T0, status=DisputeStatus.OPEN, domestic_violence=False)
AGREED_AT = T0 + timedelta(days=10)
AGREED = rules.DisputeTimes(
    taken_in_at=T0,
    status=DisputeStatus.AGREED,
    domestic_violence=False,
    closed_at=AGREED_AT,
    agreed_at=AGREED_AT,
)
DV = rules.DisputeTimes(taken_in_at=T0, status=DisputeStatus.OPEN, domestic_violence=True)


@pytest.mark.parametrize(
    ("times", "kind", "deadline", "lead"),
    [
        (OPEN, ClockKind.MEDIATION, T0 + timedelta(days=30), timedelta(days=5)),
        (AGREED, ClockKind.FOLLOW_UP, AGREED_AT + timedelta(days=15), timedelta(days=5)),
        (DV, ClockKind.DV_WARNING, T0 + timedelta(hours=72), timedelta(hours=12)),
    ],
    ids=["mediation", "follow_up", "dv_warning"],
)
def test_a_clock_runs_warns_at_its_lead_and_is_breached_only_after_its_deadline(
    times: rules.DisputeTimes, kind: ClockKind, deadline: datetime, lead: timedelta
) -> None:
    assert _state(times, kind, deadline - lead - SECOND) is ClockState.RUNNING
    assert _state(times, kind, deadline - lead) is ClockState.WARNING
    assert _state(times, kind, deadline - SECOND) is ClockState.WARNING
    assert _state(times, kind, deadline) is ClockState.WARNING
    assert _state(times, kind, deadline + SECOND) is ClockState.BREACHED


def test_the_judicial_confirmation_window_is_the_parties_and_lapses_unused_without_a_breach() -> None:
    deadline = AGREED_AT + timedelta(days=30)
    assert _state(AGREED, ClockKind.CONFIRMATION, deadline - timedelta(days=5) - SECOND) is ClockState.RUNNING
    assert _state(AGREED, ClockKind.CONFIRMATION, deadline - timedelta(days=5)) is ClockState.WARNING
    assert _state(AGREED, ClockKind.CONFIRMATION, deadline) is ClockState.WARNING
    assert _state(AGREED, ClockKind.CONFIRMATION, deadline + SECOND) is ClockState.LAPSED
    late = dataclasses.replace(AGREED, confirmation_applied_at=deadline + SECOND)
    assert _state(late, ClockKind.CONFIRMATION, deadline + timedelta(days=1)) is ClockState.LAPSED


def test_mediation_ended_at_the_deadline_is_met_and_a_second_later_is_breached() -> None:
    deadline = T0 + timedelta(days=30)
    on_time = rules.DisputeTimes(
        taken_in_at=T0,
        status=DisputeStatus.AGREED,
        domestic_violence=False,
        closed_at=deadline,
        agreed_at=deadline,
    )
    late = rules.DisputeTimes(
        taken_in_at=T0,
        status=DisputeStatus.AGREED,
        domestic_violence=False,
        closed_at=deadline + SECOND,
        agreed_at=deadline + SECOND,
    )
    far = deadline + timedelta(days=100)
    assert _state(on_time, ClockKind.MEDIATION, far) is ClockState.MET
    assert _state(late, ClockKind.MEDIATION, far) is ClockState.BREACHED


def test_follow_up_and_confirmation_start_only_with_an_agreement() -> None:
    kinds = {c.kind for c in rules.clocks(OPEN, C, now=T0)}
    assert kinds == {ClockKind.MEDIATION}
    assert {c.kind for c in rules.clocks(AGREED, C, now=T0)} == {
        ClockKind.MEDIATION,
        ClockKind.FOLLOW_UP,
        ClockKind.CONFIRMATION,
    }


def test_confirmation_applied_on_the_thirtieth_day_is_met() -> None:
    deadline = AGREED_AT + timedelta(days=30)
    applied = rules.DisputeTimes(
        taken_in_at=T0,
        status=DisputeStatus.AGREED,
        domestic_violence=False,
        closed_at=AGREED_AT,
        agreed_at=AGREED_AT,
        confirmation_applied_at=deadline,
    )
    assert _state(applied, ClockKind.CONFIRMATION, deadline + timedelta(days=1)) is ClockState.MET


@pytest.mark.parametrize(("urgent", "hours"), [(False, 72), (True, 24)], ids=["ordinary", "urgent"])
def test_a_protection_order_is_decided_within_72_hours_or_24_when_urgent(urgent: bool, hours: int) -> None:
    applied = T0 + timedelta(hours=2)
    times = rules.DisputeTimes(
        taken_in_at=T0,
        status=DisputeStatus.OPEN,
        domestic_violence=True,
        protection_order_applied_at=applied,
        protection_order_urgent=urgent,
    )
    deadline = applied + timedelta(hours=hours)
    assert (
        _state(times, ClockKind.PROTECTION_ORDER, deadline - timedelta(hours=12) - SECOND)
        is ClockState.RUNNING
    )
    assert _state(times, ClockKind.PROTECTION_ORDER, deadline) is ClockState.WARNING
    assert _state(times, ClockKind.PROTECTION_ORDER, deadline + SECOND) is ClockState.BREACHED


def test_a_dispute_without_domestic_violence_has_no_warning_or_protection_order_clock() -> None:
    kinds = {c.kind for c in rules.clocks(OPEN, C, now=T0 + timedelta(days=40))}
    assert ClockKind.DV_WARNING not in kinds and ClockKind.PROTECTION_ORDER not in kinds
