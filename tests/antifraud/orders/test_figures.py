"""The stop-payment rate counts every involved account, not every order, and ¥0 holds apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.banks.protocol import OrderResult
from pingan.antifraud.orders import actions, queries, robot
from pingan.antifraud.orders.choices import OrderReason, OrderState
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.antifraud.registry.imports import import_registry
from pingan.antifraud.reports.actions import EVENT_REPORT_REGISTERED
from pingan.core import db, events
from pingan.core.auth import User
from pingan.core.roles import Actor
from tests.antifraud.orders.conftest import MULE_HOLDER, mule_report, register
from tests.conftest import bearer
from tests.factories import card

TEST = Actor.system("test")


@pytest.fixture
def robot_off(client: TestClient) -> Iterator[None]:
    """The robot takes no report in: as when its intake failed and the sweep has not run yet."""
    events.unsubscribe_batch_in_transaction(EVENT_REPORT_REGISTERED, robot.on_reports_registered)
    yield
    robot.install()


def execute(bank: str, held_fen: int) -> None:
    """The bank at `bank` executes its order, holding `held_fen`."""
    with db.transaction() as s:
        order = s.execute(select(RestrictionOrder).where(RestrictionOrder.bank_code == bank)).scalar_one()
        actions.do_transition(s, order, OrderState.SENT, actor=TEST)
        actions.do_transition(s, order, OrderState.ACKNOWLEDGED, actor=TEST)
        result = OrderResult(
            idempotency_key=order.idempotency_key,
            bank_ref=f"{bank}-1",
            bank_code=bank,
            outcome="executed",
            held_amount_fen=held_fen,
            at=datetime.now(UTC),
        )
        assert actions.do_record_result(s, order, result, actor=TEST)


def figures() -> queries.OrderFigures:
    with db.read_transaction() as s:
        return queries.figures(s)


def test_a_reported_account_that_never_got_an_order_counts_as_not_stopped(
    station_yulin: object, robot_off: None
) -> None:
    register(mule_report(1))
    f = figures()
    assert (f.direct.involved, f.direct.not_stopped) == (1, 1)
    assert f.stop_payment_rate == 0.0


def test_an_executed_hold_of_nothing_is_counted_apart_from_a_hold_of_money(
    client: TestClient, station_yulin: object
) -> None:
    register(mule_report(1, banks=("CCB", "ICBC")))
    execute("CCB", held_fen=120_000)
    execute("ICBC", held_fen=0)
    f = figures()
    assert (f.direct.stopped, f.direct.stopped_nothing_held, f.direct.not_stopped) == (1, 1, 0)
    assert (f.stop_payment_rate, f.involved.nothing_held_rate) == (0.5, 0.5)


def test_an_order_not_yet_executed_counts_as_not_stopped(client: TestClient, station_yulin: object) -> None:
    register(mule_report(1, banks=("CCB", "ICBC")))
    execute("CCB", held_fen=120_000)
    assert (figures().direct.stopped, figures().direct.not_stopped) == (1, 1)


def test_a_card_the_holder_opened_after_the_approval_counts_as_holder_linked_and_not_stopped(
    client: TestClient,
    station_yulin: object,
    supervisor_liu: User,
    mule_zhao_registered: None,
    tmp_path: Path,
) -> None:
    register(mule_report(1))
    with db.read_transaction() as s:
        finding_id = s.execute(select(PoliceFinding.id)).scalar_one()
    r = client.post(
        f"/api/v1/findings/{finding_id}/decision", json={"approve": True}, headers=bearer(supervisor_liu)
    )
    assert r.status_code == 200, r.text
    late = tmp_path / "late.csv"
    late.write_text(
        "holder_national_id,holder_name,bank,account_number,kind,opened_on,status\n"
        f"{MULE_HOLDER},赵六,BOC,{card('621661', 779)},debit,2026-11-21,active\n"
    )
    assert import_registry(late, actor=TEST).imported == 1
    f = figures()
    with db.read_transaction() as s:
        ordered = s.execute(
            select(RestrictionOrder.id).where(RestrictionOrder.reason == OrderReason.HOLDER_LINKED)
        ).all()
    assert len(ordered) == 2  # ICBC and ABC, stopped at approval
    assert (f.holder_linked.involved, f.holder_linked.not_stopped) == (3, 3)
    assert f.involved.involved == 4


def test_metrics_and_the_figures_page_show_the_nothing_held_share(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    register(mule_report(1, banks=("CCB", "ICBC")))
    execute("ICBC", held_fen=0)
    text = client.get("/metrics").text
    assert 'pingan_stop_payment_rate{accounts="all"} 0.0' in text
    assert 'pingan_stop_payment_nothing_held_rate{accounts="direct"} 0.5' in text
    assert 'pingan_involved_accounts{accounts="direct",outcome="not_stopped"} 1.0' in text
    page = client.get("/orders-figures", headers=bearer(officer_li)).text
    assert "Stopped, nothing held" in page and "(1/2)" in page
