"""The 110 call-backs in the monthly complaints bulletin (page, XLSX, PDF): the figures are those of a
small month worked out by hand.

March 2026 at the Yulin station (WH-YL, 玉林派出所): the week of Monday 03-09 is the month's only week
drawn. Three of its closed incidents can be reached by a call-back (a fourth had an anonymous caller,
a fifth closed the week after); drawn at the rate 1, all three are called back: one caller satisfied,
one dissatisfied, one not reached.

By hand, with the 95% Wilson interval (z = 1.96):
- call-backs made among the closed incidents a call-back could reach: 3 of 3, 100.0% (43.9-100.0);
- callers reached among call-backs made: 2 of 3, 66.7% (20.8-93.9);
- satisfied among callers reached: 1 of 2, 50.0% (9.5-90.5); the station the same, with 3 called back.
"""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pypdf
import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import User
from tests.conftest import bearer
from tests.supervision.callbacks.conftest import WEEK

API = "/api/v1/supervision/callbacks"
CALLBACK_SHARES = [
    ("110 call-backs made among closed incidents", 3, 3, 100.0, 43.9, 100.0),
    ("Callers reached among call-backs made", 2, 3, 66.7, 20.8, 93.9),
    ("Satisfied among callers reached", 1, 2, 50.0, 9.5, 90.5),
]
STATION = ("玉林派出所", 3, 1, 2, 50.0, 9.5, 90.5)


@pytest.fixture
def march_callbacks(client: TestClient, staff: dict[str, User], week_incidents: list[int]) -> None:
    r = client.post(f"{API}/draws", json={"week_start": WEEK, "rate": 1.0}, headers=bearer(staff["liu"]))
    assert r.status_code == 201 and r.json()["drawn"] == 3, r.text
    tasks = {t["incident_id"]: t["id"] for t in client.get(API, headers=bearer(staff["chen"])).json()}
    for incident, outcome in zip(week_incidents, ("satisfied", "dissatisfied", "not_reached"), strict=True):
        r = client.post(
            f"{API}/{tasks[incident]}/outcome",
            json={"outcome": outcome, "at": "2026-03-18T02:00:00Z"},
            headers=bearer(staff["chen"]),
        )
        assert r.status_code == 200, r.text


def _rows(content: bytes) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet is not None
    return [tuple(c for c in row if c is not None) for row in sheet.iter_rows(values_only=True)]


def test_the_bulletin_xlsx_holds_the_hand_computed_call_backs(
    client: TestClient, staff: dict[str, User], march_callbacks: None
) -> None:
    r = client.get("/complaints/bulletin.xlsx?month=2026-03", headers=bearer(staff["sun"]))
    assert r.status_code == 200, r.text
    rows = _rows(r.content)
    assert [row for row in rows if row and row[0] in {s[0] for s in CALLBACK_SHARES}] == CALLBACK_SHARES
    assert STATION in rows


def test_the_bulletin_pdf_carries_the_hand_computed_call_backs(
    client: TestClient, staff: dict[str, User], march_callbacks: None
) -> None:
    r = client.get("/complaints/bulletin.pdf?month=2026-03", headers=bearer(staff["sun"]))
    assert r.status_code == 200, r.text
    # pypdf spaces out (or NUL-pads) the glyphs of a CID font: compare the text without them.
    text = re.sub(
        r"[\s\x00]+", "", "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    )
    for heading, *numbers in CALLBACK_SHARES:
        count, n, pct, low, high = numbers
        assert re.sub(r"\s+", "", f"{heading}{count}{n}{pct:.1f}{low:.1f}{high:.1f}") in text
    name, called, satisfied, reached, pct, low, high = STATION
    assert f"{name}{called}{satisfied}{reached}{pct:.1f}{low:.1f}{high:.1f}" in text


def test_the_bulletin_page_shows_each_call_back_rate_with_its_sample_and_interval(
    client: TestClient, staff: dict[str, User], march_callbacks: None
) -> None:
    page = client.get("/complaints/bulletin?month=2026-03", headers=bearer(staff["sun"])).text
    section = page[page.index('id="callback-figures"') :]
    assert "100.0% (3/3; 95% interval 43.9–100.0%)" in section
    assert "66.7% (2/3; 95% interval 20.8–93.9%)" in section
    assert "50.0% (1/2; 95% interval 9.5–90.5%)" in section
    assert "玉林派出所" in page[page.index('id="callback-stations"') :], "a station by its name"


def test_a_month_without_call_backs_says_so_in_the_bulletin(
    client: TestClient, staff: dict[str, User]
) -> None:
    page = client.get("/complaints/bulletin?month=2026-03", headers=bearer(staff["sun"])).text
    assert 'id="callback-stations"' in page and "No 110 call-back this month." in page
