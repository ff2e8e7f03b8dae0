"""Each role, in Debian's Chromium: it logs in, lands on its own home page, sees a menu of exactly the
pages it may open, and every page it opens is in Chinese, prints times in Beijing time with the zone
stated, has no serious accessibility violation (axe-core), and fits a 390 px phone without scrolling
sideways. Screenshots of every page land in `test-artifacts/journeys/{role}/` for review."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pingan.core.roles import Role
from tests.journeys.conftest import SEEDED_REF
from tests.journeys.harness import (
    CJK,
    JOURNEYS,
    MISSING,
    PHONE,
    UTC_SHOWN,
    ZONE,
    JourneyRecord,
    landing,
    menu_hrefs,
)

pytestmark = pytest.mark.e2e

ROLES = list(JOURNEYS)
Walk = Callable[[Role], JourneyRecord]
# The seeded report was made at 14:02 Beijing time (06:02 UTC); the reports list and its own page show it.
SEEDED_AT_BEIJING, SEEDED_AT_UTC = "14:02", "06:02"
SHOWS_SEEDED_REPORT = re.compile(r"^/reports(?:/\d+)?$")


def _each_page(record: JourneyRecord, problem: Callable[[Any], str | None]) -> list[str]:
    return [f"{p.path}: {msg}" for p in record.pages if (msg := problem(p))]


def _none(problems: list[str]) -> None:
    """Pass when there are no problems; else list every one of them, a line each."""
    assert not problems, "\n" + "\n".join(problems)


def _status(path: str) -> int:
    return 404 if path == MISSING else 200


def test_every_role_that_logs_in_has_a_journey() -> None:
    assert set(ROLES) == {r for r in Role if r is not Role.SYSTEM}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_the_role_lands_on_its_own_home_page_after_logging_in(journey: Walk, role: Role) -> None:
    record = journey(role)
    assert (record.landed_on, record.landing_status) == (landing(role), 200)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_logging_out_leads_to_the_login_form_and_the_pages_close(journey: Walk, role: Role) -> None:
    record = journey(role)
    assert (record.logged_out_to, record.after_logout) == ("/login", "/login")


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_the_menu_shows_exactly_the_pages_the_role_may_open_and_each_opens(journey: Walk, role: Role) -> None:
    record = journey(role)
    expected = menu_hrefs(role)
    _none(_each_page(record, lambda p: None if p.menu == expected else f"menu {p.menu} != {expected}"))
    opened = _each_page(
        record, lambda p: None if (p.status, p.url) == (_status(p.path), p.path) else f"{p.status} at {p.url}"
    )
    _none(opened)
    _none(_each_page(record, lambda p: None if p.logout else "no logout button"))


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_every_page_is_in_chinese(journey: Walk, role: Role) -> None:
    def problem(p: Any) -> str | None:
        if p.lang != "zh-CN":
            return f'<html lang="{p.lang}">'
        if untranslated := [label for label in p.menu_text if not CJK.search(label)]:
            return f"menu entries without Chinese: {untranslated}"
        if not CJK.search(p.h1):
            return f"heading without Chinese: {p.h1!r}"
        return None

    _none(_each_page(journey(role), problem))


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_times_are_shown_in_beijing_time_with_the_zone_stated(journey: Walk, role: Role) -> None:
    record = journey(role)

    def problem(p: Any) -> str | None:
        if not p.times:
            return None
        if UTC_SHOWN.search(p.text):
            return f"a time in UTC: {UTC_SHOWN.search(p.text).group(0)!r} near {p.times[:3]}"
        if not ZONE.search(p.text):
            return f"times {p.times[:3]} without the zone stated"
        if SHOWS_SEEDED_REPORT.match(p.path) and SEEDED_REF in p.text:
            if any(SEEDED_AT_UTC in t for t in p.times):
                return f"the seeded report's time is shown in UTC ({SEEDED_AT_UTC}): {p.times[:5]}"
            if SEEDED_AT_BEIJING not in p.text:
                return f"the seeded report's time is not shown as {SEEDED_AT_BEIJING} Beijing time: {p.times[:5]}"
        return None

    _none(_each_page(record, problem))
    if JOURNEYS[role].shows_time:
        assert any(p.times for p in record.pages), "no page of the journey shows a time"

    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    for p in record.pages:
        if p.path in JOURNEYS[role].shows_now:
            shown = [
                datetime.fromisoformat(t.replace(" ", "T"))
                for t in p.times
                if len(t) >= len("2026-01-01 00:00")
            ]
            assert any(abs(t - now) < timedelta(minutes=30) for t in shown), (
                f"{p.path}: {p.times[:5]} is not now ({now:%H:%M}) in Beijing"
            )


def test_the_login_form_is_chinese_accessible_and_fits_a_phone(journey: Walk) -> None:
    login = journey(Role.ANTIFRAUD_ANALYST).login
    assert (login.status, login.lang, login.serious) == (200, "zh-CN", [])
    assert CJK.search(login.h1) and login.width_at_390 <= PHONE["width"]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_no_page_has_a_serious_or_critical_accessibility_violation(journey: Walk, role: Role) -> None:
    _none([f"{p.path}: {v}" for p in journey(role).pages for v in p.serious])


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_on_a_390px_phone_no_page_scrolls_sideways_and_the_menu_folds(journey: Walk, role: Role) -> None:
    record = journey(role)
    too_wide = _each_page(
        record, lambda p: None if p.width_at_390 <= PHONE["width"] else f"{p.width_at_390} px wide"
    )
    _none(too_wide)
    if menu_hrefs(role):
        unfolding = _each_page(
            record,
            lambda p: (
                None if p.menu_folded_at_390 and p.menu_toggles_at_390 else "the menu does not fold and open"
            ),
        )
        _none(unfolding)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_each_page_leaves_a_screenshot_at_both_widths_for_review(journey: Walk, role: Role) -> None:
    missing = [
        str(s) for p in journey(role).pages for s in p.screenshots if not s.is_file() or s.stat().st_size == 0
    ]
    _none(missing)


# The families that draw Chinese on Linux (Noto CJK, Source Han, WenQuanYi), macOS and Windows.
CJK_FONT = ("CJK", "Source Han", "WenQuanYi", "PingFang", "Hiragino", "Heiti", "YaHei", "SimHei", "SimSun")


def test_chinese_text_renders_with_a_cjk_font_not_as_boxes(
    site: tuple[str, dict[str, int]], browser: Any
) -> None:
    base, _ids = site
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{base}/login", wait_until="load")
        page.evaluate(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<p id=cjk-probe>平安反诈止付</p>')"
        )
        cdp = context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        probe = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#cjk-probe"})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": probe})["fonts"]
    finally:
        context.close()
    drawn = {f["familyName"]: f["glyphCount"] for f in fonts}
    assert sum(n for name, n in drawn.items() if any(k in name for k in CJK_FONT)) == 6, drawn
