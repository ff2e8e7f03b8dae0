"""The robot's maintenance on the settable clock: 48 h stop-payments renewed twice at most, then an
alert to convert or let lapse; alerts ahead of freeze expiry and on overdue releases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.banks.protocol import (
    OrderRequest,
    ReleaseRequest,
)
from pingan.antifraud.orders import actions
from pingan.antifraud.orders.choices import AlertKind, OrderKind, OrderState
from pingan.antifraud.orders.jobs import RobotWorker
from pingan.antifraud.orders.model import RestrictionOrder, RobotAlert
from pingan.core import clock, db
from pingan.core.roles import Actor
from pingan.core.settings import BankSettings
from tests.antifraud.orders.conftest import NoBank, execute_at_bank, mule_report, register

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # after the factory report was made


def _live_order() -> RestrictionOrder:
    with db.read_transaction() as s:
        return s.execute(select(RestrictionOrder).where(RestrictionOrder.live_key.is_not(None))).scalar_one()


def _alerts(kind: AlertKind) -> list[RobotAlert]:
    with db.read_transaction() as s:
        return list(s.execute(select(RobotAlert).where(RobotAlert.kind == kind)).scalars())


@pytest.fixture
def worker(database: str) -> RobotWorker:
    return RobotWorker(NoBank(), BankSettings())  # type: ignore[arg-type]


@pytest.fixture
def executed_stop_payment(client: TestClient, station_yulin: object) -> int:
    """A stop-payment on mule account CCB, issued by the robot at T0 and executed by the bank."""
    with clock.frozen(T0):
        register(mule_report(1))
        order_id = _live_order().id
        execute_at_bank(order_id)
    return order_id


def test_a_stop_payment_runs_48_hours(executed_stop_payment: int) -> None:
    assert _live_order().expires_at == T0 + timedelta(hours=48)


def test_a_stop_payment_is_not_renewed_while_far_from_expiry(
    executed_stop_payment: int, worker: RobotWorker
) -> None:
    with clock.frozen(T0 + timedelta(hours=24)):
        worker.maintain()
    assert _live_order().id == executed_stop_payment


def test_a_stop_payment_is_renewed_before_its_48_hours_run_out(
    executed_stop_payment: int, worker: RobotWorker
) -> None:
    with clock.frozen(T0 + timedelta(hours=44)):
        worker.maintain()
    renewal = _live_order()
    assert renewal.renews_order_id == executed_stop_payment
    assert renewal.renewals == 1
    with db.read_transaction() as s:
        assert actions.get_order(s, executed_stop_payment).state is OrderState.RENEWED


def test_after_two_renewals_the_robot_alerts_instead_of_renewing_a_third_time(
    executed_stop_payment: int, worker: RobotWorker
) -> None:
    at = T0
    for n in (1, 2):
        at += timedelta(hours=44)
        with clock.frozen(at):
            worker.maintain()
            renewal = _live_order()
            assert renewal.renewals == n
            execute_at_bank(renewal.id)
    at += timedelta(hours=44)
    with clock.frozen(at):
        worker.maintain()
    last = _live_order()
    assert last.renewals == 2 and last.state is OrderState.EXECUTED
    (alert,) = _alerts(AlertKind.RENEWALS_EXHAUSTED)
    assert alert.subject == f"order:{last.id}"
    assert "convert to a freeze or let it lapse" in alert.message


def test_an_unrenewed_stop_payment_lapses_when_its_term_runs_out(
    executed_stop_payment: int, worker: RobotWorker
) -> None:
    with clock.frozen(T0 + timedelta(hours=1)), db.transaction() as s:
        actions.do_mark_unrelated(s, actions.get_order(s, executed_stop_payment), actor=Actor.system("robot"))
    with clock.frozen(T0 + timedelta(hours=49)):
        worker.maintain()
    with db.read_transaction() as s:
        assert actions.get_order(s, executed_stop_payment).state is OrderState.EXPIRED


def _as_freeze(order_id: int) -> None:
    """Make the executed order a 6-month freeze (a stop-payment lapses before a release is overdue)."""
    with clock.frozen(T0), db.transaction() as s:
        order = actions.get_order(s, order_id)
        order.kind = OrderKind.FREEZE
        order.expires_at = T0 + timedelta(days=182)


def test_a_release_overdue_past_its_3_days_raises_an_alert(
    executed_stop_payment: int, worker: RobotWorker
) -> None:
    _as_freeze(executed_stop_payment)
    with clock.frozen(T0 + timedelta(hours=1)), db.transaction() as s:
        actions.do_mark_unrelated(s, actions.get_order(s, executed_stop_payment), actor=Actor.system("robot"))
    with clock.frozen(T0 + timedelta(days=3)):
        worker.maintain()
    assert _alerts(AlertKind.RELEASE_OVERDUE) == []
    with clock.frozen(T0 + timedelta(days=3, hours=2)):
        worker.maintain()
        worker.maintain()
    (alert,) = _alerts(AlertKind.RELEASE_OVERDUE)
    assert alert.subject == f"order:{executed_stop_payment}"


def test_a_freeze_raises_an_alert_a_week_before_it_expires(
    executed_stop_payment: int, worker: RobotWorker
) -> None:
    _as_freeze(executed_stop_payment)
    with clock.frozen(T0 + timedelta(days=170)):
        worker.maintain()
    assert _alerts(AlertKind.FREEZE_EXPIRING) == []
    with clock.frozen(T0 + timedelta(days=176)):
        worker.maintain()
        worker.maintain()
    (alert,) = _alerts(AlertKind.FREEZE_EXPIRING)
    assert alert.subject == f"order:{executed_stop_payment}"


def test_the_sender_claims_a_renewal_as_a_request_naming_the_order_it_renews(
    executed_stop_payment: int, worker: RobotWorker
) -> None:
    with clock.frozen(T0 + timedelta(hours=44)):
        worker.maintain()
    renewal = _live_order()
    with db.read_transaction() as s:
        renewed_key = actions.get_order(s, executed_stop_payment).idempotency_key
    (job,) = [j for j in worker.claim() if j.order_id == renewal.id]
    assert isinstance(job.message, OrderRequest)
    assert job.message.renews == renewed_key
    assert job.message.idempotency_key == renewal.idempotency_key


def test_the_sender_claims_a_release_with_the_reason_it_was_released_for(
    executed_stop_payment: int, worker: RobotWorker
) -> None:
    with db.transaction() as s:
        order = actions.get_order(s, executed_stop_payment)
        actions.do_release(s, order, reason="appeal 7 upheld", actor=Actor.system("test"))
    (job,) = [j for j in worker.claim() if isinstance(j.message, ReleaseRequest)]
    assert job.order_id == executed_stop_payment
    assert job.message.order_key == order.idempotency_key
    assert job.message.reason == "release: appeal 7 upheld"
