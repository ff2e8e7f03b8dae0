"""The robot against a real bank-sim process, with the robot's sender as a real process."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from pingan.antifraud.banks.adapter import HttpBankAdapter
from pingan.antifraud.banks.protocol import LegalBasisWire, OrderKindWire, OrderRequest
from pingan.antifraud.orders.choices import AlertKind, OrderReason, OrderState, OutboxStatus
from pingan.antifraud.orders.jobs import Job, RobotWorker
from pingan.antifraud.orders.model import BankOutbox, RestrictionOrder, RobotAlert
from pingan.core import db
from pingan.core.settings import BankSettings
from tests.antifraud.orders.conftest import BankSim, RobotProcess, mule_report, register, wait_for
from tests.factories import card

ENDED = {OrderState.EXECUTED, OrderState.REJECTED}


def _orders() -> list[RestrictionOrder]:
    with db.transaction() as s:
        return list(s.execute(select(RestrictionOrder).order_by(RestrictionOrder.id)).scalars())


def _outbox_count(status: OutboxStatus) -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).where(BankOutbox.status == status)).scalar_one())


def _all_ended() -> bool:
    orders = _orders()
    return bool(orders) and all(o.state in ENDED for o in orders)


def test_a_registered_report_gets_a_stop_payment_per_payee_account_executed_at_its_bank(
    station_yulin: object, robot_installed: None, bank_sim: BankSim, robot_process: RobotProcess
) -> None:
    robot_process.start()
    report_id = register(mule_report(1, banks=("CCB", "ICBC")))
    wait_for(_all_ended, what="orders executed")
    orders = _orders()
    assert {o.bank_code for o in orders} == {"CCB", "ICBC"}
    assert all(o.report_id == report_id and o.reason is OrderReason.DIRECT_PAYEE for o in orders)
    assert all(o.state is OrderState.EXECUTED and o.held_amount_fen >= 0 for o in orders)
    assert bank_sim.stats()["unique"] == 2


def test_killing_the_robot_mid_batch_still_sends_every_order_exactly_once(
    station_yulin: object, robot_installed: None, bank_sim: BankSim, robot_process: RobotProcess
) -> None:
    # Slow banks keep a batch in flight long enough to be killed in the middle of it.
    bank_sim.configure(latency_ms=150.0, latency_sigma=0.2)
    for n in range(60):
        register(mule_report(n, banks=("CCB", "ICBC", "ABC")))
    total = len(_orders())
    assert total == 180
    robot_process.start()
    wait_for(
        lambda: _outbox_count(OutboxStatus.IN_FLIGHT) > 0 and _outbox_count(OutboxStatus.DELIVERED) > 0,
        what="a batch in flight",
    )
    robot_process.kill9()
    in_doubt = _outbox_count(OutboxStatus.IN_FLIGHT)
    assert in_doubt > 0, "the kill must land while messages are in flight"
    bank_sim.configure(latency_ms=5.0)
    robot_process.start()
    wait_for(lambda: _outbox_count(OutboxStatus.DELIVERED) == total, timeout=60, what="all delivered")
    stats = bank_sim.stats()
    assert stats["duplicates"] == 0
    assert stats["received"] == total
    assert set(stats["keys"]) == {o.idempotency_key for o in _orders()}
    wait_for(_all_ended, timeout=30, what="every order executed or rejected")


def test_a_bank_down_waits_behind_the_breaker_raises_an_alert_and_recovers_while_others_go_on(
    station_yulin: object, robot_installed: None, bank_sim: BankSim, robot_process: RobotProcess
) -> None:
    # ICBC is down until the test brings it back, so the check does not hang on how fast the robot
    # starts on a busy machine: the healthy bank's orders must all end while ICBC is still down.
    # `bench/stoppay.py --outage 60` times the full minute.
    for n in range(20):
        register(mule_report(n, banks=("CCB", "ICBC")))
    bank_sim.down("ICBC", 300.0)
    robot_process.start()

    def ccb_done() -> bool:
        return all(o.state in ENDED for o in _orders() if o.bank_code == "CCB")

    def bank_down_alerts() -> list[str]:
        with db.transaction() as s:
            kind = RobotAlert.kind == AlertKind.BANK_DOWN
            return [a.subject for a in s.execute(select(RobotAlert).where(kind)).scalars()]

    wait_for(ccb_done, timeout=90, what="the other bank's orders")
    assert all(o.state not in ENDED for o in _orders() if o.bank_code == "ICBC"), (
        "an order ended at a bank that is down"
    )
    wait_for(lambda: bank_down_alerts() == ["bank:ICBC"], timeout=30, what="the bank-down alert")
    bank_sim.down("ICBC", 0.0)  # the bank is back
    wait_for(_all_ended, timeout=30, what="ICBC orders after recovery")
    assert bank_sim.stats()["duplicates"] == 0
    with db.transaction() as s:
        assert s.execute(
            select(RobotAlert.resolved_at).where(RobotAlert.kind == AlertKind.BANK_DOWN)
        ).scalar_one()


def test_a_batch_of_requests_is_acknowledged_in_order_and_each_deduplicated_on_its_key(
    bank_sim: BankSim,
) -> None:
    settings = BankSettings(base_url=bank_sim.url)
    adapter = HttpBankAdapter(settings)
    requests = [
        OrderRequest(
            idempotency_key=f"batch-key-{n:04d}",
            order_id=n,
            bank_code="CCB",
            kind=OrderKindWire.STOP_PAYMENT,
            account_number=card("621700", 50_000 + n),
            expires_at=datetime(2026, 12, 3, tzinfo=UTC),
            basis=LegalBasisWire(kind="report", reference=f"report:{n}", article="受案登记"),
            callback_url="",
        )
        for n in range(5)
    ]
    try:
        first = adapter.send_requests("CCB", requests)
        again = adapter.send_requests("CCB", requests[::-1])
    finally:
        adapter.close()
    assert [a.idempotency_key for a in first] == [r.idempotency_key for r in requests]
    # The repeat is answered with the first acknowledgements (the same bank references), in its own order.
    assert [a.bank_ref for a in again] == [a.bank_ref for a in first][::-1]
    stats = bank_sim.stats()
    assert (stats["unique"], stats["duplicates"]) == (5, 5)


def test_a_lost_batch_answer_has_each_order_asked_about_and_none_sent_twice(
    station_yulin: object, robot_installed: None, bank_sim: BankSim, robot_process: RobotProcess
) -> None:
    # The bank acts on the batch, then its answer is lost (a transient error after acting).
    bank_sim.configure(error_rate=1.0)
    for n in range(12):
        register(mule_report(n, banks=("CCB",)))
    robot_process.start()
    wait_for(lambda: bank_sim.stats()["unique"] == 12, what="the batch received by the bank")
    bank_sim.configure(error_rate=0.0)
    wait_for(_all_ended, timeout=60, what="every order ended after the lost answer")
    stats = bank_sim.stats()
    assert stats["inquiries"] >= 1, "an order whose answer was lost is asked about before any resend"
    assert stats["duplicates"] == 0
    assert stats["received"] == stats["unique"] == 12


def test_a_batch_the_bank_refuses_whole_is_retried_alone_without_counting_against_the_bank(
    bank_sim: BankSim,
) -> None:
    settings = BankSettings(base_url=bank_sim.url)
    adapter = HttpBankAdapter(settings)
    worker = RobotWorker(adapter, settings)

    def job(n: int, named_bank: str) -> Job:
        request = OrderRequest(
            idempotency_key=f"refused-key-{n:04d}",
            order_id=n,
            bank_code=named_bank,
            kind=OrderKindWire.STOP_PAYMENT,
            account_number=card("621700", 60_000 + n),
            expires_at=datetime(2026, 12, 3, tzinfo=UTC),
            basis=LegalBasisWire(kind="report", reference=f"report:{n}", article="受案登记"),
            callback_url="",
        )
        return Job(n, n, "CCB", request.idempotency_key, request, inquire_first=False)

    try:
        # One request of the batch names another bank: CCB refuses the whole message (422).
        worker._run_batch([job(1, "CCB"), job(2, "ICBC")])
    finally:
        worker.pool.shutdown()
        adapter.close()
    outcomes = [worker.results.get_nowait() for _ in range(2)]
    assert [o.kind for o in outcomes] == ["transient", "transient"]
    assert not any(o.counts_for_breaker for o in outcomes)
    assert bank_sim.stats()["unique"] == 0, "a refused batch changes nothing at the bank"
