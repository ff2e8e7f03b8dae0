"""The layout every page shares: a CJK font for each desktop, and a menu that folds on a phone
without JS. (The browser journeys, tests/journeys, check the rendered result at 390 px.)"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from pingan.core.auth import issue_token
from pingan.core.roles import Role
from pingan.web.app import STATIC_DIR
from tests.conftest import make_user

HTML = {"Accept": "text/html"}


def _body_fonts() -> list[str]:
    css = (STATIC_DIR / "pingan.css").read_text(encoding="utf-8")
    match = re.search(r"body\s*\{[^}]*font:\s*[^\"]*([^;]+);", css)
    assert match is not None
    return [f.strip().strip('"') for f in match.group(1).split(",")]


def test_the_pages_name_a_chinese_font_for_linux_macos_and_windows_before_the_generic_ones() -> None:
    fonts = _body_fonts()
    for desktop_font in ("Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei"):
        assert fonts.index(desktop_font) < fonts.index("sans-serif")


def test_the_menu_folds_behind_a_labelled_toggle_that_needs_no_script(
    client: TestClient, database: str
) -> None:
    client.cookies.set("pingan_token", issue_token(make_user("officer_wu", Role.OFFICER)))
    page = client.get("/reports", headers=HTML).text
    toggle = re.search(r'<input type="checkbox" id="menu-toggle"[^>]*aria-controls="menu"', page)
    assert toggle is not None and '<label for="menu-toggle"' in page and '<nav id="menu"' in page
    assert page.index('id="menu-toggle"') < page.index('<nav id="menu"')  # the CSS opens its sibling
    css = (STATIC_DIR / "pingan.css").read_text(encoding="utf-8")
    assert ".menu-toggle:checked ~ nav" in css


def test_a_long_menu_folds_into_headings_and_marks_the_one_of_the_page_shown(
    client: TestClient, database: str
) -> None:
    client.cookies.set("pingan_token", issue_token(make_user("chief_he", Role.SUPERVISOR)))
    page = client.get("/command/units", headers=HTML).text
    nav = page[page.index('<nav id="menu"') : page.index("</nav>")]
    headings = re.findall(r"<summary>([^<]+)</summary>", nav)
    assert headings[:3] == ["Anti-fraud", "Command", "Sensors"] and "Supervision" in headings
    current = re.findall(r'<details name="menu" class="menu-group current"><summary>([^<]+)<', nav)
    assert current == ["Command"]
    command = nav[nav.index("<summary>Command</summary>") : nav.index("<summary>Sensors</summary>")]
    assert '<a href="/command/units" aria-current="page">' in command and 'href="/command/map"' in command


def test_a_short_menu_stays_one_row_of_links(client: TestClient, database: str) -> None:
    client.cookies.set("pingan_token", issue_token(make_user("admin_an", Role.ADMIN)))
    page = client.get("/admin/users", headers=HTML).text
    nav = page[page.index('<nav id="menu"') : page.index("</nav>")]
    assert "<details" not in nav and 'href="/admin/users" aria-current="page"' in nav
