"""An analyst opens the monthly report: ECharts draws its three charts in the page, under the
Content-Security-Policy (no inline script), from the copy served out of node_modules."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_the_monthly_report_draws_its_charts_in_the_browser(live_server: str, browser: Any) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.goto(f"{live_server}/login?next=/risk/monthly")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", "pingan-demo-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/risk/monthly")

    page.wait_for_selector("html[data-charts-ready='1']", timeout=10_000)
    for name in ("events_per_day", "victimisation", "per_rule"):
        assert page.locator(f"#chart-{name} svg").count() == 1, name
    assert [u for u in missing if not u.endswith("/favicon.ico")] == []  # the site has no icon
    assert [p for p in problems if "404" not in p] == []
