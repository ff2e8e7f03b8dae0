"""The directive pages: the issue form with its near-duplicate warning and confirmation, refusals on
the form, the station inbox with its answer form, the detail, and the monthly bulletin with its files."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User, issue_token
from pingan.core.org import Station
from pingan.supervision.directives.model import Directive
from tests.conftest import bearer
from tests.supervision.directives.conftest import FLOOD_REWORDED, FLOOD_TEXT, NOW, directive_body

HTML = {"Accept": "text/html,application/xhtml+xml"}
DEADLINE = "2026-03-25T18:00"  # Beijing time, as typed in the form


def browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def issue(b: TestClient, **fields: Any) -> Any:
    token = csrf(b.get("/directives/new", headers=HTML).text)
    form: dict[str, Any] = {
        "csrf_token": token,
        "subject": "汛期安全隐患排查",
        "text": FLOOD_TEXT,
        "stations": ["WH-YL"],
        "deadline": DEADLINE,
        "required_answer": "acknowledge",
    }
    form.update(fields)
    return b.post("/directives", data=form, headers=HTML, follow_redirects=False)


def count_directives() -> int:
    with db.transaction() as s:
        return len(s.execute(select(Directive.id)).all())


def test_the_form_sends_a_directive_and_shows_it(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    b = browser(client, supervisor_liu)
    r = issue(b)
    assert r.status_code == 303
    page = b.get(r.headers["location"], headers=HTML).text
    assert "汛期安全隐患排查" in page and "玉林派出所" in page and "awaiting answer" in page


def test_the_form_warns_of_a_near_duplicate_listing_it_with_its_similarity(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    b = browser(client, supervisor_liu)
    first = issue(b)
    first_id = first.headers["location"].rsplit("/", 1)[1]
    r = issue(b, subject="防汛安全检查", text=FLOOD_REWORDED)
    assert r.status_code == 409
    assert 'id="duplicate-warning"' in r.text and f'href="/directives/{first_id}"' in r.text
    similarity = re.search(r'data-similarity="([0-9.]+)"', r.text)
    assert similarity is not None and float(similarity.group(1)) > 0.5
    assert 'name="confirm_duplicate"' in r.text and "防汛安全检查" in r.text  # the form kept what was typed
    assert count_directives() == 1


def test_confirming_on_the_form_sends_the_near_duplicate_and_marks_it(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    b = browser(client, supervisor_liu)
    issue(b)
    r = issue(b, subject="防汛安全检查", text=FLOOD_REWORDED, confirm_duplicate="1")
    assert r.status_code == 303 and count_directives() == 2
    page = b.get(r.headers["location"], headers=HTML).text
    assert "Sent despite the near-duplicate warning" in page


def test_the_form_refuses_a_deadline_before_now_naming_the_field_and_keeps_the_text(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    r = issue(browser(client, supervisor_liu), deadline="2026-03-19T09:00")
    assert r.status_code == 422 and 'role="alert"' in r.text and "deadline" in r.text
    assert "汛期安全隐患排查" in r.text and count_directives() == 0


def test_the_form_refuses_an_unknown_answer_kind_naming_the_field(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    r = issue(browser(client, supervisor_liu), required_answer="poem")
    assert r.status_code == 422 and "required_answer" in r.text


def test_the_form_refuses_no_station_naming_the_field(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    r = issue(browser(client, supervisor_liu), stations=[])
    assert r.status_code == 422 and "stations" in r.text and count_directives() == 0


def test_yulins_officer_answers_from_the_inbox(
    client: TestClient, station_yulin: Station, supervisor_liu: User, officer_li: User
) -> None:
    sent = client.post("/api/v1/directives", json=directive_body(), headers=bearer(supervisor_liu)).json()
    b = browser(client, officer_li)
    inbox = b.get("/directives/inbox", headers=HTML)
    assert inbox.status_code == 200 and "汛期安全隐患排查" in inbox.text and "awaiting answer" in inbox.text
    r = b.post(
        f"/directives/{sent['id']}/answer",
        data={"csrf_token": csrf(inbox.text), "text": "已落实。", "minutes_spent": "35"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = b.get(f"/directives/{sent['id']}", headers=HTML).text
    assert "officer_li" in page and ">35<" in page and "answered" in page


def test_the_inbox_refuses_minutes_that_are_not_a_number_naming_the_field(
    client: TestClient, station_yulin: Station, supervisor_liu: User, officer_li: User
) -> None:
    sent = client.post("/api/v1/directives", json=directive_body(), headers=bearer(supervisor_liu)).json()
    b = browser(client, officer_li)
    token = csrf(b.get("/directives/inbox", headers=HTML).text)
    r = b.post(
        f"/directives/{sent['id']}/answer",
        data={"csrf_token": token, "text": "已落实。", "minutes_spent": "half an hour"},
        headers=HTML,
    )
    assert r.status_code == 422 and "minutes_spent" in r.text


def test_an_officer_cannot_open_the_issue_form(client: TestClient, officer_li: User) -> None:
    assert browser(client, officer_li).get("/directives/new", headers=HTML).status_code == 403


@pytest.fixture
def two_years(client: TestClient, station_yulin: Station, supervisor_liu: User) -> None:
    """Two directives to Yulin in March 2025 and one in March 2026."""
    from pingan.core import clock

    for i, at in enumerate((NOW - timedelta(days=365), NOW - timedelta(days=364), NOW)):
        with clock.frozen(at):
            body = directive_body(
                subject=f"专项{i}",
                text=f"第{i}号通知：" + "核查出租房屋" * (i + 2),
                deadline=(at + timedelta(days=2)).isoformat(),
                confirm_duplicate=True,
            )
            assert (
                client.post("/api/v1/directives", json=body, headers=bearer(supervisor_liu)).status_code
                == 201
            )


def test_the_bulletin_shows_the_month_against_a_year_before_with_its_charts(
    client: TestClient, two_years: None, supervisor_liu: User
) -> None:
    page = browser(client, supervisor_liu).get("/directives/bulletin?month=2026-03", headers=HTML)
    assert page.status_code == 200
    assert 'data-change="-50.0"' in page.text
    assert (
        'id="monthly-charts"' in page.text
        and '"per_station"' in page.text
        and '"year_over_year"' in page.text
    )


def test_the_bulletin_refuses_a_malformed_month_naming_it(client: TestClient, supervisor_liu: User) -> None:
    r = browser(client, supervisor_liu).get("/directives/bulletin?month=March", headers=HTML)
    assert r.status_code == 422 and "month" in r.text


def test_the_bulletin_workbook_holds_the_month_and_the_stations(
    client: TestClient, two_years: None, supervisor_liu: User
) -> None:
    from openpyxl import load_workbook

    r = client.get("/directives/bulletin.xlsx?month=2026-03", headers=bearer(supervisor_liu))
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[2][:4] == ("This month", 1, 2, -50.0)
    assert ("玉林派出所", 1, 2, 0, 0, 0) in rows


def test_a_bulletin_download_is_audited_with_its_month_and_format(
    client: TestClient, two_years: None, supervisor_liu: User
) -> None:
    r = client.get("/directives/bulletin.xlsx?month=2026-03", headers=bearer(supervisor_liu))
    assert r.status_code == 200
    with db.read_transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.export")).one()
    assert (entry.actor, entry.object_id) == ("supervisor_liu", "directives:2026-03")
    assert json.loads(entry.detail) == {
        "filters": {"month": "2026-03"},
        "format": "xlsx",
        "rows": 1,
        "scope": "district",
    }


def test_the_bulletin_pdf_is_written_in_the_cjk_font(
    client: TestClient, two_years: None, supervisor_liu: User
) -> None:
    from pypdf import PdfReader

    r = client.get("/directives/bulletin.pdf?month=2026-03", headers=bearer(supervisor_liu))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    # fpdf2's CJK text reads back from pypdf with NULs between characters.
    text = re.sub(r"[\s\x00]+", "", PdfReader(io.BytesIO(r.content)).pages[0].extract_text())
    assert "玉林派出所" in text and "-50.0%" in text


@pytest.mark.browser_language(None)
def test_the_bulletin_and_the_duplicate_warning_render_in_chinese(
    client: TestClient, two_years: None, supervisor_liu: User
) -> None:
    b = browser(client, supervisor_liu)
    page = b.get("/directives/bulletin?month=2026-03", headers=HTML)
    assert page.status_code == 200 and "指令月度通报" in page.text and "同比变化" in page.text
    issue(b)
    warned = issue(b, subject="防汛安全检查", text=FLOOD_REWORDED)
    assert warned.status_code == 409 and "此指令与已发指令高度相似" in warned.text
    confirmed = issue(b, subject="防汛安全检查", text=FLOOD_REWORDED, confirm_duplicate="1")
    detail = b.get(confirmed.headers["location"], headers=HTML)
    assert detail.status_code == 200 and "经重复提醒后仍发送" in detail.text
    assert b.get("/directives", headers=HTML).status_code == 200
