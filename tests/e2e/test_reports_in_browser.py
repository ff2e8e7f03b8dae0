"""An analyst logs in, imports a file of reports, opens a report and sees its linked cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.factories import MULE_CARD_ICBC, card, report_payload

pytestmark = pytest.mark.e2e


def _reports_file(tmp_path: Path) -> Path:
    rows = []
    for i in range(3):
        body = report_payload(external_ref=f"E2E-{i}", station_code="WH-YL", suspects=[])
        # The first two pay the same mule card, so they form one cluster; the third stands alone.
        body["transfers"][0]["payee_account"] = MULE_CARD_ICBC if i < 2 else card("621700", 77)
        body["transfers"][0]["payee_bank"] = "ICBC" if i < 2 else "CCB"
        rows.append(json.dumps(body, ensure_ascii=False))
    path = tmp_path / "e2e-reports.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_an_analyst_imports_reports_and_follows_one_to_its_cluster(
    live_server: str, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page()
    page.goto(f"{live_server}/reports")
    assert "/login" in page.url  # not logged in: sent to the login form

    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", "pingan-demo-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/reports")

    page.goto(f"{live_server}/reports/import")
    page.set_input_files("input[type=file]", str(_reports_file(tmp_path)))
    page.click("form[enctype] button[type=submit]")
    summary = page.locator("#import-summary").inner_text()
    assert "imported 3" in summary and "rejected 0" in summary

    page.goto(f"{live_server}/reports")
    page.click("text=E2E-0")
    assert "E2E-0" in page.locator("h1").inner_text()  # the report page, in whichever language
    assert "**** ****" in page.content()  # card numbers are masked

    page.click("#cluster-link")
    assert page.locator("#cluster-size").inner_text() == "2"
    shared = page.locator("#shared").inner_text()
    assert f"{MULE_CARD_ICBC[:4]} **** **** {MULE_CARD_ICBC[-4:]}" in shared
    page.close()
