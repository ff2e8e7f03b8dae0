"""The report list page: cursor paging, sorting, filters, search through pseudonyms, and audited
CSV/XLSX export that honours the filters, masks personal data and keeps to the reader's station."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import event, select

from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.org import Station, do_upsert_station
from pingan.core.roles import Role
from tests.antifraud.orders.conftest import register
from tests.conftest import SYSTEM, bearer, make_user
from tests.factories import VICTIM_WANG, card, report_payload

pytestmark = pytest.mark.usefixtures("station_yulin")

ROW = re.compile(r'<a href="/reports/(\d+)">')


@pytest.fixture
def station_jiangxi(database: str) -> Station:
    with db.transaction() as s:
        return do_upsert_station(
            s, code="WH-JX", name="浆洗街派出所", lat=30.64, lon=104.05, area_geojson=None, actor=SYSTEM
        )


@pytest.fixture
def officer_zhao(station_jiangxi: Station) -> User:
    """An officer of the Jiangxi street station (WH-JX)."""
    return make_user("officer_zhao", Role.OFFICER, station_code="WH-JX")


def _report(n: int, **overrides: Any) -> dict[str, Any]:
    """Report `n`: its own victim phone and mule account; all seven reported at the same minute, so
    only the id tells them apart in the order."""
    body = report_payload(
        external_ref=f"510107-2026-{n:06d}",
        victim={**VICTIM_WANG, "phone": f"139{n:08d}"},
    )
    body["transfers"][0]["payee_account"] = card("621700", 500 + n)
    body.update(overrides)
    return body


@pytest.fixture
def seven_reports(database: str) -> list[int]:
    return [register(_report(n)) for n in range(1, 8)]


def _ids(html: str) -> list[int]:
    return [int(i) for i in ROW.findall(html)]


def _next(html: str) -> str | None:
    m = re.search(r'href="([^"]+)" rel="next"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def _prev(html: str) -> str | None:
    m = re.search(r'href="([^"]+)" rel="prev"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def _list_entries(action: str) -> list[AuditEntry]:
    with db.transaction() as s:
        q = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(s.execute(q).scalars())


def test_paging_by_cursor_returns_each_report_once_across_pages(
    client: TestClient, seven_reports: list[int], analyst_zhang: User
) -> None:
    seen: list[int] = []
    url: str | None = "/reports?limit=3"
    pages = 0
    while url is not None:
        page = client.get(url, headers=bearer(analyst_zhang))
        assert page.status_code == 200, page.text
        seen += _ids(page.text)
        url = _next(page.text)
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(seven_reports) and len(seen) == len(set(seen))
    assert seen == sorted(seven_reports, reverse=True)  # same time: newest id first


def test_the_previous_page_link_returns_the_page_before(
    client: TestClient, seven_reports: list[int], analyst_zhang: User
) -> None:
    first = client.get("/reports?limit=3&sort=ref", headers=bearer(analyst_zhang)).text
    second_url = _next(first)
    assert second_url is not None and _prev(first) is None
    second = client.get(second_url, headers=bearer(analyst_zhang)).text
    back_url = _prev(second)
    assert back_url is not None
    assert _ids(client.get(back_url, headers=bearer(analyst_zhang)).text) == _ids(first)


def test_sorting_by_amount_ascending_orders_the_list(
    client: TestClient, station_yulin: Station, analyst_zhang: User
) -> None:
    ids = {}
    for n, amount in ((1, 900_00), (2, 100_00), (3, 500_00)):
        body = _report(n)
        body["transfers"][0]["amount_fen"] = amount
        ids[amount] = register(body)
    page = client.get("/reports?sort=amount", headers=bearer(analyst_zhang)).text
    assert _ids(page) == [ids[100_00], ids[500_00], ids[900_00]]
    assert "¥100.00" in page


def test_a_bad_sort_column_is_422_naming_sort(client: TestClient, analyst_zhang: User) -> None:
    r = client.get("/reports?sort=victim_phone_cipher", headers=bearer(analyst_zhang))
    assert r.status_code == 422
    assert r.json()["field"] == "sort"


def test_a_forged_cursor_is_422_naming_cursor(client: TestClient, analyst_zhang: User) -> None:
    r = client.get("/reports?cursor=WyJyZXBvcnRlZF9hdCIsMSwxLGZhbHNlXQ", headers=bearer(analyst_zhang))
    assert r.status_code == 422 and r.json()["field"] == "cursor"


def test_a_bad_date_filter_is_422_naming_it(client: TestClient, analyst_zhang: User) -> None:
    r = client.get("/reports?date_from=20-11-2026", headers=bearer(analyst_zhang))
    assert r.status_code == 422 and r.json()["field"] == "date_from"


def test_the_status_filter_keeps_reports_awaiting_an_officer(
    client: TestClient, seven_reports: list[int], analyst_zhang: User
) -> None:
    page = client.get("/reports?status=awaiting_officer", headers=bearer(analyst_zhang)).text
    assert _ids(page) == []
    assert len(_ids(client.get("/reports?status=registered", headers=bearer(analyst_zhang)).text)) == 7


def test_the_date_range_is_of_beijing_days(client: TestClient, analyst_zhang: User) -> None:
    # 00:30 on 21 November in Beijing is still 20 November in UTC.
    late = register(_report(1, reported_at="2026-11-21T00:30:00+08:00"))
    register(_report(2, reported_at="2026-11-20T14:02:00+08:00"))
    page = client.get("/reports?date_from=2026-11-21&date_to=2026-11-21", headers=bearer(analyst_zhang))
    assert _ids(page.text) == [late]


def test_search_by_phone_finds_the_report_through_the_pseudonym(
    client: TestClient, seven_reports: list[int], analyst_zhang: User
) -> None:
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append(f"{statement} {parameters!r}")

    engine = db.get_engine()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        page = client.get("/reports", params={"q": "139-0000-0004"}, headers=bearer(analyst_zhang))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert page.status_code == 200
    assert _ids(page.text) == [seven_reports[3]]
    listing = [s for s in statements if "FROM fraud_report" in s]
    assert listing, statements
    assert not any("_cipher" in s for s in listing)  # the encrypted columns are neither read nor compared
    assert not any("13900000004" in s for s in statements)  # the clear number never reaches the database


def test_search_by_payee_account_or_case_number_finds_the_report(
    client: TestClient, seven_reports: list[int], analyst_zhang: User
) -> None:
    by_card = client.get("/reports", params={"q": card("621700", 502)}, headers=bearer(analyst_zhang))
    assert _ids(by_card.text) == [seven_reports[1]]
    by_ref = client.get("/reports", params={"q": "510107-2026-000006"}, headers=bearer(analyst_zhang))
    assert _ids(by_ref.text) == [seven_reports[5]]


def test_a_search_is_audited_by_pseudonym_not_by_the_number_typed(
    client: TestClient, seven_reports: list[int], analyst_zhang: User
) -> None:
    client.get("/reports", params={"q": "13900000004"}, headers=bearer(analyst_zhang))
    (entry,) = _list_entries("fraud_report.list")
    assert "13900000004" not in entry.detail
    assert json.loads(entry.detail)["filters"]["q"].startswith("phone:")


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_export_honours_the_filter_masks_personal_data_and_is_audited(
    client: TestClient, analyst_zhang: User
) -> None:
    register(_report(1, typology="刷单返利"))
    register(_report(2, typology="冒充公检法"))
    r = client.get("/reports/export?format=csv&typology=冒充公检法", headers=bearer(analyst_zhang))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    header, *rows = _csv_rows(r.content)
    assert [row[0] for row in rows] == ["510107-2026-000002"]
    assert any("Asia/Shanghai" in h for h in header) and any("yuan" in h for h in header)
    text = r.content.decode("utf-8-sig")
    assert "139****0002" in text and "13900000002" not in text and "王芳" not in text
    assert "2026-11-20 14:02:00" in text and "5000.00" in text  # Beijing time, yuan
    (entry,) = _list_entries("fraud_report.export")
    detail = json.loads(entry.detail)
    assert (entry.actor, detail["rows"], detail["format"]) == ("analyst_zhang", 1, "csv")
    assert detail["filters"]["typology"] == "冒充公检法" and detail["scope"] == "district"


def test_the_xlsx_export_opens_and_holds_the_same_rows_as_the_csv(
    client: TestClient, seven_reports: list[int], analyst_zhang: User
) -> None:
    csv_rows = _csv_rows(client.get("/reports/export?format=csv", headers=bearer(analyst_zhang)).content)
    r = client.get("/reports/export?format=xlsx", headers=bearer(analyst_zhang))
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    assert sheet is not None
    header, *values = list(sheet.iter_rows(values_only=True))
    money = {i for i, h in enumerate(header) if "yuan" in str(h)}  # yuan are numbers in the sheet
    xlsx_rows = [[str(h) for h in header]] + [
        [f"{v:.2f}" if i in money else "" if v is None else str(v) for i, v in enumerate(row)]
        for row in values
    ]
    assert len(csv_rows) == 8 and money
    assert xlsx_rows == csv_rows


def test_an_officers_export_holds_only_their_stations_reports(
    client: TestClient, officer_li: User, officer_zhao: User, analyst_zhang: User
) -> None:
    register(_report(1))
    register(_report(2, station_code="WH-JX"))
    r = client.get("/reports/export?format=csv", headers=bearer(officer_zhao))
    _header, *rows = _csv_rows(r.content)
    assert [row[0] for row in rows] == ["510107-2026-000002"]
    # Asking for the other station by filter does not reach past the officer's own.
    r = client.get("/reports/export?format=csv&station=WH-YL", headers=bearer(officer_zhao))
    assert _csv_rows(r.content)[1:] == []
    (first, _second) = _list_entries("fraud_report.export")
    assert json.loads(first.detail)["scope"] == "station:WH-JX"


def test_an_export_in_an_unknown_format_is_422_naming_format(client: TestClient, analyst_zhang: User) -> None:
    r = client.get("/reports/export?format=pdf", headers=bearer(analyst_zhang))
    assert r.status_code == 422 and r.json()["field"] == "format"
