"""In Chromium, with the vendored htmx SSE extension: a report registered by another user appears on
top of an open report list without a reload, and the header shows the attention counter."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import report_payload

pytestmark = pytest.mark.e2e


def _token(base: str, username: str) -> str:
    answer = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": "pingan-demo-2026"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_a_report_registered_elsewhere_appears_on_an_open_list_without_a_reload(
    live_server: str, browser: Any
) -> None:
    page = browser.new_page()
    page.goto(f"{live_server}/login?next=/reports")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", "pingan-demo-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/reports")
    page.wait_for_function("window.htmx && htmx.version")
    assert page.locator("#attention .count").inner_text().strip().isdigit()
    page.evaluate("window.notReloaded = true")

    officer = _token(live_server, "officer")
    body = report_payload(external_ref="E2E-LIVE-1", station_code="WH-YL", suspects=[])
    made = httpx.post(
        f"{live_server}/api/v1/fraud-reports",
        json=body,
        headers={"Authorization": f"Bearer {officer}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text

    row = page.locator("#live-reports tr", has_text="E2E-LIVE-1")
    row.wait_for(timeout=10_000)
    assert page.evaluate("window.notReloaded") is True  # the same page, not a reload
    assert body["victim"]["name"] not in row.inner_text()
    page.close()
