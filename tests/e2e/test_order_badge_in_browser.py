"""In Chromium: an order's state badge on its open page follows each move written by another process's
session, without a reload, and keeps following after it was redrawn."""

from __future__ import annotations

from typing import Any

import pytest

from pingan.antifraud.banks.protocol import Acknowledgement
from pingan.antifraud.orders import actions
from pingan.core import db
from pingan.core.auth import TOKEN_COOKIE, issue_token
from pingan.core.roles import Actor, Role
from tests.antifraud.orders.conftest import mule_report, register
from tests.conftest import make_user
from tests.web.test_live import LiveServer, _first_order, server, stations  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e
ROBOT = Actor.system("robot")
BANK = Actor.system("bank:CCB")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_an_open_order_page_follows_every_move_of_its_order(
    server: LiveServer,  # noqa: F811 - the fixture imported above
    stations: None,  # noqa: F811
    browser: Any,
) -> None:
    register(mule_report(7))
    order_id = _first_order()
    analyst = make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST)
    context = browser.new_context()
    context.add_cookies([{"name": TOKEN_COOKIE, "value": issue_token(analyst), "url": server.base_url}])
    page = context.new_page()
    page.goto(f"{server.base_url}/orders/{order_id}")
    badge = page.locator(f"#order-state-{order_id}")
    assert "state-drafted" in (badge.get_attribute("class") or "")
    page.wait_for_function("document.querySelector('#attention .count') !== null")
    page.evaluate("window.notReloaded = true")
    page.wait_for_timeout(1500)  # the stream is open once the page has loaded and the counter is sent

    with db.transaction() as s:
        actions.do_mark_sent(s, actions.get_order(s, order_id), actor=ROBOT)
    page.wait_for_selector(f"#order-state-{order_id}.state-sent", timeout=10_000)

    with db.transaction() as s:
        order = actions.get_order(s, order_id)
        ack = Acknowledgement(idempotency_key=order.idempotency_key, bank_ref="R1", status="accepted")
        actions.do_record_ack(s, order, ack, actor=BANK)
    page.wait_for_selector(f"#order-state-{order_id}.state-acknowledged", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    context.close()
