"""The whole restriction lifecycle against a real bank-sim process, with the robot's sender as a real process:
report → stop → finding approved → conversion to a freeze → renewal → appeal upheld → release."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders import actions
from pingan.antifraud.orders.choices import OrderKind, OrderState
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.core import db
from pingan.core.auth import User
from tests.antifraud.orders.conftest import MULE_CCB, BankSim, RobotProcess, mule_report, register, wait_for
from tests.conftest import bearer

BALANCE = 500_000  # ¥5,000 on the mule card
TRACED = 300_000  # what the report paid into it


def _order(order_id: int) -> RestrictionOrder:
    with db.read_transaction() as s:
        return actions.get_order(s, order_id)


def _executed(order_id: int) -> bool:
    return _order(order_id).state is OrderState.EXECUTED


def test_a_stop_becomes_a_freeze_is_renewed_appealed_and_released_at_the_bank(
    station_yulin: object,
    robot_installed: None,
    bank_sim: BankSim,
    robot_process: RobotProcess,
    client: TestClient,
    officer_li: User,
    analyst_zhang: User,
    supervisor_liu: User,
) -> None:
    httpx.post(f"{bank_sim.url}/admin/balances", json={MULE_CCB: BALANCE}, timeout=5).raise_for_status()
    robot_process.start()

    # Report → stop: the robot stops the payee card on the report alone; the bank holds the balance.
    register(mule_report(1, amount_fen=TRACED))
    with db.read_transaction() as s:
        stop_id = s.execute(select(RestrictionOrder.id)).scalar_one()
        finding_id = s.execute(select(PoliceFinding.id)).scalar_one()
    wait_for(lambda: _executed(stop_id), what="stop-payment executed")
    assert _order(stop_id).held_amount_fen == BALANCE

    # The finding is approved by a supervisor; an analyst converts the stop into a freeze.
    r = client.post(
        f"/api/v1/findings/{finding_id}/decision", json={"approve": True}, headers=bearer(supervisor_liu)
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/orders/{stop_id}/convert", json={"finding_id": finding_id}, headers=bearer(analyst_zhang)
    )
    assert r.status_code == 201, r.text
    freeze_id = r.json()["id"]
    assert _order(stop_id).state is OrderState.CONVERTED
    wait_for(lambda: _executed(freeze_id), what="freeze executed")
    freeze = _order(freeze_id)
    assert freeze.kind is OrderKind.FREEZE and freeze.held_amount_fen == TRACED  # capped at the traced amount

    # The freeze is renewed: the bank carries the hold over to the renewal.
    r = client.post(
        f"/api/v1/orders/{freeze_id}/renew",
        json={"reason": "案件仍在侦查 still under investigation"},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 201, r.text
    renewal_id = r.json()["id"]
    wait_for(lambda: _executed(renewal_id), what="renewal executed")
    assert _order(renewal_id).held_amount_fen == TRACED
    assert _order(freeze_id).state is OrderState.RENEWED

    # The holder appeals through an officer; another supervisor's decision upholds it and releases.
    r = client.post(
        f"/api/v1/orders/{renewal_id}/appeals",
        json={"appellant": "赵六", "statement": "这是我的工资卡，与案件无关。"},
        headers=bearer(officer_li),
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/appeals/{r.json()['id']}/decision",
        json={"upheld": True, "reason": "工资流水核实 salary records checked"},
        headers=bearer(supervisor_liu),
    )
    assert r.status_code == 200, r.text
    assert _order(renewal_id).state is OrderState.RELEASED
    wait_for(lambda: bank_sim.stats()["releases"] == 1, what="release reached the bank")
    stats = bank_sim.stats()
    assert stats["held_fen"] == 0 and stats["duplicates"] == 0
    assert stats["unique"] == 3  # the stop, the freeze and its renewal
