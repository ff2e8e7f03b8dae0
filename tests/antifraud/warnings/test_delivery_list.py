"""The deliveries list of the warnings page: filtered by channel and status, searched, sorted, paged
and exported with phones masked, within the reader's station view."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.warnings.model import WarningMessage
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from tests.antifraud.warnings.conftest import accept, wang_request
from tests.conftest import bearer

# Labels are named as `label()` names them here: in Chinese, as a browser naming no language gets.
pytestmark = pytest.mark.browser_language(None)

ROW = re.compile(r'<tr id="delivery-(\d+)">')


def _listed(client: TestClient, user: User, **params: str) -> set[int]:
    r = client.get("/warnings", params=params, headers=bearer(user))
    assert r.status_code == 200, r.text
    return {int(i) for i in ROW.findall(r.text)}


def test_the_deliveries_list_filters_by_channel_and_status(
    client: TestClient, analyst_zhang: User, station_yulin: object
) -> None:
    delivery = accept(wang_request())
    with db.transaction() as s:
        kinds = {k.value for k in s.execute(select(WarningMessage.kind)).scalars()}
    assert "sms" in kinds
    for channel in ("sms", "voice"):
        expected = {delivery.id} if channel in kinds else set()
        assert _listed(client, analyst_zhang, channel=channel) == expected
    assert _listed(client, analyst_zhang, status=delivery.state.value) == {delivery.id}
    other = "reached" if delivery.state.value != "reached" else "open"
    assert _listed(client, analyst_zhang, status=other) == set()


def test_a_bad_channel_is_422_naming_channel(client: TestClient, analyst_zhang: User) -> None:
    r = client.get("/warnings?channel=fax", headers=bearer(analyst_zhang))
    assert r.status_code == 422 and r.json()["field"] == "channel"


def test_the_deliveries_list_pages_by_cursor_each_row_once(
    client: TestClient, analyst_zhang: User, station_yulin: object
) -> None:
    ids = {accept(wang_request(f"plan-wang-{n}")).id for n in range(1, 6)}
    seen: list[int] = []
    url: str | None = "/warnings?limit=2&sort=amount"
    while url:
        page = client.get(url, headers=bearer(analyst_zhang)).text
        seen += [int(i) for i in ROW.findall(page)]
        m = re.search(r'href="([^"]+)" rel="next"', page)
        url = m.group(1).replace("&amp;", "&") if m else None
    assert sorted(seen) == sorted(ids)


def test_the_deliveries_export_masks_the_phone_and_is_audited(
    client: TestClient, officer_li: User, station_yulin: object
) -> None:
    accept(wang_request("plan-wang-1"))
    accept(wang_request("plan-wang-2"))
    r = client.get(
        "/warnings/export?format=csv&q=plan-wang-2", headers={**bearer(officer_li), "Accept-Language": "en"}
    )
    text = r.content.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert [row[0] for row in rows] == ["plan-wang-2"]
    # the request asks for English: the headings are English
    assert rows[0][header.index("Phone")] == "138****5678" and "13812345678" not in text
    with db.transaction() as s:
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "warning_delivery.export")
        ).scalar_one()
    detail = json.loads(entry.detail)
    assert (detail["rows"], detail["scope"], detail["filters"]["q"]) == (
        1,
        "station:WH-YL",
        "ref:plan-wang-2",
    )
