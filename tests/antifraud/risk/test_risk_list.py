"""The risk queue as a list: filtered by rule, status and day, searched through pseudonyms, sorted,
paged, and exported within the reader's station view."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from pingan.core.auth import User
from tests.antifraud.risk.test_plans import T0, flag, record
from tests.conftest import bearer

ROW = re.compile(r'<tr id="risk-event-(\d+)">')


def _listed(client: TestClient, user: User, **params: str) -> list[int]:
    r = client.get("/risk/events", params=params, headers=bearer(user))
    assert r.status_code == 200, r.text
    return [int(i) for i in ROW.findall(r.text)]


def test_the_risk_queue_filters_by_rule(client: TestClient, analyst_zhang: User) -> None:
    record(
        flag(1, reasons=["WL-PAYEE:reported_payee"]), flag(2, reasons=["P-FIRST-LARGE"], person="victim-li")
    )
    assert len(_listed(client, analyst_zhang, rule="P-FIRST-LARGE")) == 1
    assert len(_listed(client, analyst_zhang, rule="wl-payee")) == 1
    assert _listed(client, analyst_zhang, rule="WL") == []  # a rule id, not a prefix


def test_a_bad_rule_or_status_is_422_naming_it(client: TestClient, analyst_zhang: User) -> None:
    r = client.get("/risk/events?rule=%25'", headers=bearer(analyst_zhang))
    assert r.status_code == 422 and r.json()["field"] == "rule"
    r = client.get("/risk/events?status=lost", headers=bearer(analyst_zhang))
    assert r.status_code == 422 and r.json()["field"] == "status"


def test_planned_and_unplanned_events_split_the_queue(client: TestClient, analyst_zhang: User) -> None:
    record(flag(1), flag(2, person="victim-li", at=T0 + timedelta(minutes=5)))
    everything = _listed(client, analyst_zhang)
    planned = _listed(client, analyst_zhang, status="planned")
    unplanned = _listed(client, analyst_zhang, status="unplanned")
    assert planned and sorted(planned + unplanned) == sorted(everything)


def test_the_risk_queue_sorts_by_amount_and_pages_by_cursor(client: TestClient, analyst_zhang: User) -> None:
    record(*(flag(n, amount=100_000 * n, person=f"victim-{n}") for n in range(1, 6)))
    first = client.get("/risk/events?sort=amount&limit=2", headers=bearer(analyst_zhang)).text
    ids = [int(i) for i in ROW.findall(first)]
    nxt = re.search(r'href="([^"]+)" rel="next"', first)
    assert nxt is not None
    second = client.get(nxt.group(1).replace("&amp;", "&"), headers=bearer(analyst_zhang)).text
    ids += [int(i) for i in ROW.findall(second)]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert "¥1,000.00" in first and "¥2,000.00" in first  # the two smallest come first


def test_search_by_the_warned_phone_finds_the_event_through_the_plan(
    client: TestClient, analyst_zhang: User
) -> None:
    record(flag(1))  # the plan for Wang holds the phone 13800000000, kept as a pseudonym
    assert len(_listed(client, analyst_zhang, q="138 0000 0000")) == 1
    assert _listed(client, analyst_zhang, q="13900000000") == []


def test_the_risk_export_honours_the_rule_filter(client: TestClient, analyst_zhang: User) -> None:
    record(
        flag(1, reasons=["WL-PAYEE:reported_payee"]), flag(2, reasons=["P-FIRST-LARGE"], person="victim-li")
    )
    r = client.get("/risk/events/export?format=csv&rule=P-FIRST-LARGE", headers=bearer(analyst_zhang))
    header, *rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0][header.index("Reasons")] == "P-FIRST-LARGE"
