"""Orders change state together: every step checked, on its timeline and in the audit log; never over a change made meanwhile."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.antifraud.banks.protocol import OrderResult
from pingan.antifraud.orders import actions
from pingan.antifraud.orders.choices import OrderKind, OrderReason, OrderState
from pingan.antifraud.orders.model import OrderEvent, RestrictionOrder
from pingan.antifraud.reports.model import FraudReport
from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.errors import Conflict
from pingan.core.roles import Actor
from tests.antifraud.orders.conftest import mule_report, register

SENDER = Actor.system("robot")
CCB = Actor.system("bank:CCB")


@pytest.fixture
def three_drafted_orders(client: TestClient, station_yulin: object) -> list[int]:
    """Report 1 pays a mule account at each of three banks: three drafted stop-payments."""
    register(mule_report(1, banks=("CCB", "ICBC", "ABC")))
    with db.read_transaction() as s:
        return list(s.execute(select(RestrictionOrder.id).order_by(RestrictionOrder.id)).scalars())


def _states(ids: list[int]) -> list[OrderState]:
    with db.read_transaction() as s:
        q = select(RestrictionOrder.state).where(RestrictionOrder.id.in_(ids)).order_by(RestrictionOrder.id)
        return list(s.execute(q).scalars())


def test_a_batch_of_moves_puts_every_step_on_each_timeline_and_names_every_order_in_one_audit_entry(
    three_drafted_orders: list[int],
) -> None:
    ids = three_drafted_orders
    with db.transaction() as s:
        now = clock.now()
        sent = [actions.plan_sent(i, OrderState.DRAFTED, actor=SENDER, now=now) for i in ids]
        actions.do_move_orders(s, [m for m in sent if m is not None])
    assert _states(ids) == [OrderState.SENT] * 3
    with db.read_transaction() as s:
        steps = s.execute(
            select(OrderEvent.order_id, OrderEvent.from_state, OrderEvent.to_state, OrderEvent.actor).where(
                OrderEvent.to_state == "sent"
            )
        ).all()
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "order.sent")).scalar_one()
    assert sorted(steps) == [(i, "drafted", "sent", "robot") for i in ids]
    moves = json.loads(entry.detail)["moves"]
    assert [m["order"] for m in moves] == ids
    assert all(m["path"] == ["drafted", "sent"] for m in moves)
    assert entry.object_id == f"{ids[0]}..{ids[-1]}"


def test_a_result_that_overtook_its_acknowledgement_acknowledges_then_executes_in_one_move(
    three_drafted_orders: list[int],
) -> None:
    first = three_drafted_orders[0]
    result = OrderResult(
        idempotency_key="k",
        bank_ref="CCB-9",
        bank_code="CCB",
        outcome="executed",
        held_amount_fen=42_000,
        at=datetime.now(UTC),
    )
    move = actions.plan_result(first, OrderState.SENT, result, actor=CCB, now=clock.now())
    assert move is not None
    assert move.path == (OrderState.SENT, OrderState.ACKNOWLEDGED, OrderState.EXECUTED)
    assert move.values["held_amount_fen"] == 42_000 and move.values["bank_ref"] == "CCB-9"
    assert actions.plan_result(first, OrderState.EXECUTED, result, actor=CCB, now=clock.now()) is None


def test_a_move_from_a_state_the_order_has_left_is_refused_and_the_batch_writes_nothing(
    three_drafted_orders: list[int],
) -> None:
    ids = three_drafted_orders
    with db.transaction() as s:  # another process sends the second order first
        actions.do_move_orders(
            s, [actions.Move(ids[1], (OrderState.DRAFTED, OrderState.SENT), ("",), SENDER)]
        )
    stale = [actions.Move(i, (OrderState.DRAFTED, OrderState.FAILED), ("no route",), SENDER) for i in ids]
    with pytest.raises(Conflict, match="changed state meanwhile"), db.transaction() as s:
        actions.do_move_orders(s, stale)
    assert _states(ids) == [OrderState.DRAFTED, OrderState.SENT, OrderState.DRAFTED]


def test_a_step_the_transition_table_forbids_is_refused_before_anything_is_written(
    three_drafted_orders: list[int],
) -> None:
    ids = three_drafted_orders
    leap = actions.Move(ids[0], (OrderState.DRAFTED, OrderState.EXECUTED), ("",), SENDER)
    fine = actions.Move(ids[1], (OrderState.DRAFTED, OrderState.SENT), ("",), SENDER)
    with pytest.raises(Conflict, match="cannot become executed"), db.transaction() as s:
        actions.do_move_orders(s, [fine, leap])
    assert _states(ids) == [OrderState.DRAFTED] * 3


def test_an_order_loaded_in_the_session_shows_its_new_state_after_the_move(
    three_drafted_orders: list[int],
) -> None:
    with db.transaction() as s:
        order = s.get(RestrictionOrder, three_drafted_orders[0])
        assert order is not None
        actions.do_mark_sent(s, order, actor=SENDER)
        assert order.state is OrderState.SENT and order.sent_at is not None
        assert order.live_key is not None


def test_an_issuer_that_lost_the_race_for_an_account_is_refused_alone_and_its_transaction_goes_on(
    three_drafted_orders: list[int],
) -> None:
    """The unique live key decides between two issuers that both passed the check (the robot's
    careful path): the loser gets Conflict, and the rest of its transaction still commits."""
    with db.read_transaction() as s:
        taken = actions.get_order(s, three_drafted_orders[0])
        report = s.get(FraudReport, taken.report_id)
        assert report is not None
    account = actions.AccountRef(taken.bank_code, replace(taken.account, masked="masked"))
    draft = actions.OrderDraft(
        kind=OrderKind.STOP_PAYMENT,
        reason=OrderReason.DIRECT_PAYEE,
        account=account,
        actor=SENDER,
        report_id=report.id,
        origin_at=clock.now(),
    )
    with db.transaction() as s:
        with pytest.raises(Conflict, match="live order already"):
            actions.do_issue_order(s, draft)
        actions.do_mark_sent(s, actions.get_order(s, three_drafted_orders[1]), actor=SENDER)
    assert _states(three_drafted_orders) == [OrderState.DRAFTED, OrderState.SENT, OrderState.DRAFTED]
    with db.read_transaction() as s:
        assert s.execute(select(func.count()).select_from(RestrictionOrder)).scalar_one() == 3
