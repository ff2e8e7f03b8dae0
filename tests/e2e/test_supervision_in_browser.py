"""The legal supervisor opens a case on a phone-sized screen and sends a detention to the supervisor,
who approves it in the queue; the case's deadlines count down; no supervision page scrolls sideways at
390 px."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

BEIJING = timedelta(hours=8)


def _local(at: datetime) -> str:
    return (at + BEIJING).strftime("%Y-%m-%dT%H:%M")


def _login(browser: Any, live_server: str, username: str, landing: str) -> Any:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pingan-demo-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}{landing}")
    return page


def test_a_case_is_opened_and_its_deadlines_count_down_at_390_px(live_server: str, browser: Any) -> None:
    page = _login(browser, live_server, "legal", "/supervision")

    now = datetime.now(UTC)
    page.goto(f"{live_server}/supervision/cases/new")
    page.fill("input[name=number]", "E2E-2026-0001")
    page.fill("input[name=title]", "盗窃电动车案")
    page.fill("input[name=station_code]", "WH-YL")
    page.fill("input[name=officer]", "officer")
    page.fill("input[name=supervisor]", "supervisor")
    page.fill("input[name=opened_at]", _local(now - timedelta(hours=3)))
    page.click("form.stacked button[type=submit]")
    assert "E2E-2026-0001" in page.locator("h1").inner_text()

    page.fill("form[action$='/parties'] input[name=name]", "王五")
    page.click("form[action$='/parties'] button[type=submit]")
    page.select_option("form[action$='/events'] select[name=kind]", "detention")
    page.fill("form[action$='/events'] input[name=at]", _local(now - timedelta(hours=2)))
    page.select_option("form[action$='/events'] select[name=party_id]", index=1)
    page.fill("form[action$='/events'] input[name=approver]", "supervisor")
    page.click("form[action$='/events'] button[formaction$='/requests']")
    case_url = page.url.split("#")[0]
    assert "supervisor" in page.locator("#case-requests").inner_text()

    boss = _login(browser, live_server, "supervisor", "/findings")
    boss.goto(f"{live_server}/supervision/approvals")
    boss.click("#queue ~ .request button[value=approve]")
    boss.close()
    page.goto(case_url)

    countdown = page.locator("#deadlines .countdown").first
    first = countdown.inner_text()
    page.wait_for_timeout(1500)
    assert countdown.inner_text() != first  # it ticks
    for path in (
        "/supervision",
        page.url.replace(live_server, ""),
        "/supervision/warnings",
        "/supervision/rules",
        "/supervision/approvals",
        "/supervision/property",
    ):
        page.goto(f"{live_server}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow} px"
    page.close()
