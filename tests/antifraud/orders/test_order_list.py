"""The orders list page: filters by report, bank, account, state and kind; export honours them; an
officer sees the orders of their own station's reports only."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders.model import RestrictionOrder
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.org import Station, do_upsert_station
from pingan.core.roles import Role
from tests.antifraud.orders.conftest import mule_report, register
from tests.conftest import SYSTEM, bearer, make_user
from tests.factories import card

pytestmark = pytest.mark.usefixtures("station_yulin")

ROW = re.compile(r'<tr id="order-(\d+)">')


def _orders() -> dict[str, RestrictionOrder]:
    with db.transaction() as s:
        return {o.bank_code: o for o in s.execute(select(RestrictionOrder)).scalars()}


def _listed(client: TestClient, user: User, **params: str) -> set[int]:
    r = client.get("/orders", params=params, headers=bearer(user))
    assert r.status_code == 200, r.text
    return {int(i) for i in ROW.findall(r.text)}


@pytest.fixture
def two_banks(database: str) -> dict[str, RestrictionOrder]:
    """One report whose victim paid a mule at CCB and one at ICBC: two draft stop-payments."""
    register(mule_report(1, banks=("CCB", "ICBC")))
    return _orders()


def test_the_orders_list_filters_by_bank(
    client: TestClient, two_banks: dict[str, RestrictionOrder], analyst_zhang: User
) -> None:
    assert _listed(client, analyst_zhang, bank="ICBC") == {two_banks["ICBC"].id}
    assert _listed(client, analyst_zhang) == {two_banks["CCB"].id, two_banks["ICBC"].id}


def test_the_orders_list_filters_by_account_through_its_pseudonym(
    client: TestClient, two_banks: dict[str, RestrictionOrder], analyst_zhang: User
) -> None:
    ccb_mule = card("621700", 10_001)
    assert _listed(client, analyst_zhang, account=ccb_mule) == {two_banks["CCB"].id}


def test_the_orders_list_filters_by_report_state_and_kind(
    client: TestClient, two_banks: dict[str, RestrictionOrder], analyst_zhang: User
) -> None:
    report = str(two_banks["CCB"].report_id)
    assert len(_listed(client, analyst_zhang, report=report, state="drafted", kind="stop_payment")) == 2
    assert _listed(client, analyst_zhang, report=report, kind="freeze") == set()


def test_a_bad_account_or_bank_filter_is_422_naming_it(client: TestClient, analyst_zhang: User) -> None:
    r = client.get("/orders?account=1234", headers=bearer(analyst_zhang))
    assert r.status_code == 422 and r.json()["field"] == "account"
    r = client.get("/orders?bank=NOPE", headers=bearer(analyst_zhang))
    assert r.status_code == 422 and r.json()["field"] == "bank"


def test_the_orders_export_honours_the_bank_filter_masks_the_account_and_is_audited(
    client: TestClient, two_banks: dict[str, RestrictionOrder], analyst_zhang: User
) -> None:
    r = client.get("/orders/export?format=csv&bank=ICBC", headers=bearer(analyst_zhang))
    assert r.status_code == 200
    _header, *rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows] == [str(two_banks["ICBC"].id)]
    assert two_banks["ICBC"].account.masked in rows[0]
    assert card("622202", 10_001) not in r.content.decode("utf-8-sig")
    with db.transaction() as s:
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "restriction_order.export")
        ).scalar_one()
    assert json.loads(entry.detail)["filters"]["bank"] == "ICBC" and json.loads(entry.detail)["rows"] == 1


@pytest.fixture
def officer_zhao(database: str) -> User:
    """An officer of the Jiangxi street station (WH-JX), where no report of these tests was made."""
    with db.transaction() as s:
        do_upsert_station(
            s, code="WH-JX", name="浆洗街派出所", lat=30.64, lon=104.05, area_geojson=None, actor=SYSTEM
        )
    return make_user("officer_zhao", Role.OFFICER, station_code="WH-JX")


def test_an_officer_sees_and_exports_only_the_orders_of_their_stations_reports(
    client: TestClient,
    two_banks: dict[str, RestrictionOrder],
    officer_li: User,
    officer_zhao: User,
    station_yulin: Station,
) -> None:
    assert _listed(client, officer_li) == {two_banks["CCB"].id, two_banks["ICBC"].id}
    assert _listed(client, officer_zhao) == set()
    r = client.get("/orders/export?format=csv", headers=bearer(officer_zhao))
    assert list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[1:] == []
