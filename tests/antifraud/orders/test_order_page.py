"""The order page: the decisions an analyst or supervisor takes on an order, each beside its legal
basis, through the same checks and writes as the API, with a message after each and the refusal
beside its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders import actions
from pingan.antifraud.orders.choices import OrderKind, OrderState
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.core import clock, db
from pingan.core.auth import User
from pingan.core.roles import Role
from tests.antifraud.orders.conftest import execute_at_bank, mule_report, register
from tests.conftest import bearer, make_user

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _en(user: User) -> dict[str, str]:
    """The user's credentials, reading the pages in English (the test reads the English text)."""
    return {**bearer(user), "Accept-Language": "en"}


def _order(order_id: int) -> RestrictionOrder:
    with db.read_transaction() as s:
        return actions.get_order(s, order_id)


def _finding_id() -> int:
    with db.read_transaction() as s:
        return int(s.execute(select(PoliceFinding.id).order_by(PoliceFinding.id)).scalars().first() or 0)


@pytest.fixture
def stopped_mule(client: TestClient, station_yulin: object) -> int:
    """The robot's stop-payment on mule card CCB, executed by the bank at T0; its finding drafted."""
    with clock.frozen(T0):
        register(mule_report(1))
        with db.read_transaction() as s:
            order_id = s.execute(select(RestrictionOrder.id)).scalar_one()
        execute_at_bank(order_id)
    return order_id


@pytest.fixture
def approved_finding(client: TestClient, stopped_mule: int, supervisor_liu: User) -> int:
    r = client.post(
        f"/api/v1/findings/{_finding_id()}/decision", json={"approve": True}, headers=_en(supervisor_liu)
    )
    assert r.status_code == 200, r.text
    return _finding_id()


def test_an_approved_freeze_from_the_order_page_converts_the_stop_and_says_so(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    r = client.post(
        f"/orders/{stopped_mule}/convert",
        data={"finding_id": str(approved_finding)},
        headers=_en(analyst_zhang),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    freeze_page = r.headers["location"]
    assert freeze_page.endswith("?done=converted")
    page = client.get(freeze_page, headers=_en(analyst_zhang)).text
    assert 'id="done"' in page and "Converted" in page
    assert _order(stopped_mule).state is OrderState.CONVERTED
    freeze = _order(int(freeze_page.split("/")[2].split("?")[0]))
    assert (freeze.kind, freeze.renews_order_id) == (OrderKind.FREEZE, stopped_mule)


def test_an_officer_cannot_see_the_freeze_form(
    client: TestClient, stopped_mule: int, approved_finding: int, officer_li: User, analyst_zhang: User
) -> None:
    officers_view = client.get(f"/orders/{stopped_mule}", headers=_en(officer_li)).text
    assert 'id="convert-to-freeze"' not in officers_view and 'id="renew"' not in officers_view
    assert 'id="release"' not in officers_view
    assert 'id="convert-to-freeze"' in client.get(f"/orders/{stopped_mule}", headers=_en(analyst_zhang)).text


def test_the_freeze_form_shows_the_basis_of_the_order_and_the_article_of_the_freeze(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    page = client.get(f"/orders/{stopped_mule}", headers=_en(analyst_zhang)).text
    basis = page.split('id="basis-convert"')[1].split("</p>")[0]
    assert "受案登记" in basis  # the robot's stop rests on the registered report
    assert "第二十条" in basis and "冻结" in basis


def test_a_conversion_without_an_approved_finding_is_refused_beside_the_field(
    client: TestClient, stopped_mule: int, analyst_zhang: User
) -> None:
    r = client.post(
        f"/orders/{stopped_mule}/convert",
        data={"finding_id": str(_finding_id())},
        headers=_en(analyst_zhang),
    )
    assert r.status_code == 422
    assert 'id="error-finding_id"' in r.text and "no legal basis" in r.text
    assert _order(stopped_mule).state is OrderState.EXECUTED


def test_an_over_long_renewal_reason_gets_422_naming_the_field_and_is_not_cut(
    client: TestClient, stopped_mule: int, analyst_zhang: User
) -> None:
    too_long = "续期理由" * 64  # 256 characters; the form and the API take 255
    r = client.post(f"/orders/{stopped_mule}/renew", data={"reason": too_long}, headers=_en(analyst_zhang))
    assert r.status_code == 422
    assert 'id="error-reason"' in r.text and too_long in r.text  # kept for the user to shorten
    assert _order(stopped_mule).state is OrderState.EXECUTED


def test_the_renewal_form_states_its_length_limit(
    client: TestClient, stopped_mule: int, analyst_zhang: User
) -> None:
    page = client.get(f"/orders/{stopped_mule}", headers=_en(analyst_zhang)).text
    form = page.split('id="renew"')[1].split("</form>")[0]
    assert 'maxlength="255"' in form and "255" in form.split('id="renew-reason-limit"')[1]


def test_an_analyst_renews_from_the_order_page(
    client: TestClient, stopped_mule: int, analyst_zhang: User
) -> None:
    r = client.post(
        f"/orders/{stopped_mule}/renew",
        data={"reason": "资金仍在流转，继续止付"},
        headers=_en(analyst_zhang),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?done=renewed")
    assert _order(stopped_mule).state is OrderState.RENEWED


def test_a_supervisor_releases_from_the_order_page_and_an_analyst_may_not(
    client: TestClient, stopped_mule: int, supervisor_liu: User, analyst_zhang: User
) -> None:
    refused = client.post(
        f"/orders/{stopped_mule}/release", data={"reason": "资金与案件无关"}, headers=_en(analyst_zhang)
    )
    assert refused.status_code == 403
    r = client.post(
        f"/orders/{stopped_mule}/release",
        data={"reason": "资金与案件无关"},
        headers=_en(supervisor_liu),
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"], headers=_en(supervisor_liu)).text
    assert "Released" in page
    assert _order(stopped_mule).state is OrderState.RELEASED


def test_a_release_reason_of_the_full_length_is_kept_whole_on_the_timeline(
    client: TestClient, stopped_mule: int, supervisor_liu: User
) -> None:
    reason = "资金与案件无关" * 36 + "经核"  # 254 characters, within the limit of 255
    r = client.post(f"/orders/{stopped_mule}/release", data={"reason": reason}, headers=_en(supervisor_liu))
    assert r.status_code == 200  # the redirect, followed
    with db.read_transaction() as s:
        notes = [e.note for e in actions.get_order(s, stopped_mule).events]
    assert notes[-1] == f"release: {reason}"


def test_a_supervisor_upholds_an_appeal_from_the_order_page_but_not_one_they_filed(
    client: TestClient, stopped_mule: int, supervisor_liu: User
) -> None:
    filed = client.post(
        f"/orders/{stopped_mule}/appeal",
        data={"appellant": "赵六", "statement": "这是我的工资卡，与案件无关。"},
        headers=_en(supervisor_liu),
        follow_redirects=False,
    )
    assert filed.status_code == 303 and filed.headers["location"].endswith("?done=appeal_filed")
    own_view = client.get(f"/orders/{stopped_mule}", headers=_en(supervisor_liu)).text
    assert 'class="appeal-decision"' not in own_view and "awaiting another supervisor" in own_view
    supervisor_wang = make_user("supervisor_wang", Role.SUPERVISOR)
    page = client.get(f"/orders/{stopped_mule}", headers=_en(supervisor_wang)).text
    appeal_id = int(page.split('id="appeal-decision-')[1].split('"')[0])
    decision = {"decision": "uphold", "reason": "工资流水核实"}
    own = client.post(f"/appeals/{appeal_id}/decision", data=decision, headers=_en(supervisor_liu))
    assert own.status_code == 403 and _order(stopped_mule).state is OrderState.EXECUTED
    r = client.post(
        f"/appeals/{appeal_id}/decision", data=decision, headers=_en(supervisor_wang), follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?done=appeal_upheld")
    assert _order(stopped_mule).state is OrderState.RELEASED


def test_the_timeline_is_in_beijing_time_newest_first(
    client: TestClient, stopped_mule: int, officer_li: User
) -> None:
    page = client.get(f"/orders/{stopped_mule}", headers=_en(officer_li)).text
    rows = page.split('id="timeline"')[1].split("</table>")[0]
    assert "2026-11-20 16:00:00" in rows  # T0 is 08:00 UTC
    assert rows.index("held ¥3,000.00") < rows.index("request handed to the bank transport")


def test_the_order_page_counts_down_the_term(client: TestClient, stopped_mule: int, officer_li: User) -> None:
    with clock.frozen(T0 + timedelta(hours=20)):
        page = client.get(f"/orders/{stopped_mule}", headers=_en(officer_li)).text
    assert "1 days 4 hours left" in page  # 48 h from T0
    with clock.frozen(T0 + timedelta(hours=49)):
        expired = client.get(f"/orders/{stopped_mule}", headers=_en(officer_li)).text
    assert 'class="tag warn countdown">expired<' in expired
