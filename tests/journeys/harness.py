"""The journey harness: a role logs in through the login form, then every page of its menu (and a few
more a role works on) is opened in Chromium, at desktop width and at 390 px, and what a reviewer
would check is recorded as a `PageVisit`: the menu, the language, the times, axe-core's violations,
the page's width on a phone, and a screenshot of each width in `test-artifacts/journeys/{role}/`.

The tests (`test_role_journeys.py`) assert on the visits. To add a page to a journey, add it to the
menu (`web/navigation.py`: every role that may open it visits it) or to `Journey.extra` below.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pingan.core.migrate import REPO_ROOT
from pingan.core.roles import Role
from pingan.demo import DEMO_PASSWORD, DEMO_USERS
from pingan.web.navigation import LANDING, MENU

ARTIFACTS = REPO_ROOT / "test-artifacts" / "journeys"
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
USERNAME = {role: username for username, role, _display in DEMO_USERS}

# A date and time as pages print them ("2026-11-20 14:02", "11-20 14:02:05").
TIME = re.compile(r"(?<!\d)(?:\d{4}-)?\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?")
# The zone stated beside Beijing times: "北京时间", "UTC+8", "UTC+08:00", "GMT+8", "+08:00", "CST".
ZONE = re.compile(r"北京时间|(?:UTC|GMT)\s*\+\s*0?8(?::?00)?|\+08:?00|\bCST\b|Asia/Shanghai")
# A time printed in UTC: "UTC" not followed by an offset, or an ISO time ending in Z.
UTC_SHOWN = re.compile(r"\bUTC\b(?!\s*[+＋])|\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?Z\b")
CJK = re.compile(r"[\u4e00-\u9fff]")

AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""
AXE_HINT = "run `make assets` (npm ci installs axe-core from package-lock.json)"
# Two animation frames: the resize handlers (layout.js) have run and the layout has settled.
SETTLE = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
SERIOUS = frozenset({"serious", "critical"})


@dataclass(frozen=True)
class Journey:
    """What a role's journey opens beyond its menu; `{report}` and `{order}` stand for the ids of the
    seeded report and of its stop-payment order (`conftest._seed`)."""

    extra: tuple[str, ...] = ()
    # `{device}` and `{event}` stand for the sensor device and the large event the run registers.
    # Whether some page of the journey must show a time (the seeded report, the audit log).
    shows_time: bool = True
    # Pages that list what was written during the run (the audit log): their times are "now" in Beijing.
    shows_now: tuple[str, ...] = ()


JOURNEYS: dict[Role, Journey] = {
    Role.ANTIFRAUD_ANALYST: Journey(extra=("/reports/{report}", "/orders/{order}", "/risk/monthly")),
    Role.SUPERVISOR: Journey(
        extra=(
            "/reports/{report}",
            "/orders/{order}",
            "/risk/monthly",
            "/sensors/devices/{device}",
            "/sensors/events/{event}",
            "/sensors/zones/{zone}",
        )
    ),
    Role.OFFICER: Journey(extra=("/reports/{report}",)),
    Role.AUDITOR: Journey(shows_now=("/audit",)),
    Role.ADMIN: Journey(shows_time=False),
    Role.DISPATCHER: Journey(
        shows_time=False,
        extra=("/sensors/devices/{device}", "/sensors/events/{event}", "/sensors/zones/{zone}"),
    ),
    # The run seeds no case: the supervision pages it opens are the empty queue and the rule pack.
    Role.LEGAL_SUPERVISOR: Journey(shows_time=False),
    # No accident is seeded: its pages show their empty states, without times.
    Role.TRAFFIC_POLICE: Journey(shows_time=False),
}


# A path no page answers: every journey also opens it, and gets the 404 page in the layout.
MISSING = "/no-such-page"


def menu_hrefs(role: Role) -> list[str]:
    """The menu entries the role must see: exactly the pages of MENU that admit it."""
    return [item.href for item in MENU if role in item.roles]


def landing(role: Role) -> str:
    """Where the role lands after logging in: its home page, or "/" while it has none."""
    return LANDING.get(role, "/")


def page_name(path: str) -> str:
    """A file name for a page: "/reports/12" -> "reports_12", "/" -> "home"."""
    return re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "home"


@dataclass
class PageVisit:
    """What one page of a journey showed."""

    path: str
    status: int
    url: str
    lang: str
    menu: list[str]
    menu_text: list[str]
    h1: str
    text: str
    logout: bool
    violations: list[dict[str, Any]]
    width_at_390: int
    menu_folded_at_390: bool
    menu_toggles_at_390: bool  # opens on a tap of "Menu", folds again from the keyboard
    screenshots: list[Path] = field(default_factory=list)

    @property
    def times(self) -> list[str]:
        return TIME.findall(self.text)

    @property
    def serious(self) -> list[str]:
        return [
            f"{v['impact']} {v['id']}: {v['help']} at {', '.join(v['nodes'])}"
            for v in self.violations
            if v["impact"] in SERIOUS
        ]


@dataclass
class JourneyRecord:
    """A role's journey: where it landed and each page it opened."""

    role: Role
    login: PageVisit
    landed_on: str
    landing_status: int
    pages: list[PageVisit]
    # Where logging out led, and where the landing page then led.
    logged_out_to: str
    after_logout: str


def _path_of(url: str, base: str) -> str:
    return url.removeprefix(base).split("?")[0] or "/"


def _visit(page: Any, base: str, path: str, folder: Path, *, shoot_open_menu: bool = False) -> PageVisit:
    response = page.goto(f"{base}{path}", wait_until="load")
    page.set_viewport_size(DESKTOP)
    name = page_name(path)
    wide, narrow = folder / f"{name}.png", folder / f"{name}@390.png"
    page.screenshot(path=str(wide), full_page=True)
    page.add_script_tag(path=str(AXE_JS))
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    facts = page.evaluate(
        """() => ({
        lang: document.documentElement.lang,
        menu: [...document.querySelectorAll('header nav a')].map(a => a.getAttribute('href')),
        menuText: [...document.querySelectorAll('header nav a')].map(a => a.textContent.trim()),
        h1: (document.querySelector('h1') || {innerText: ''}).innerText,
        text: document.body.innerText,
        logout: !!document.querySelector('form[action="/logout"] button'),
      })"""
    )
    page.set_viewport_size(PHONE)
    page.evaluate(SETTLE)
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    # At 390 px the layout changes (tables scroll inside, the menu folds): axe checks it again.
    violations += [{**v, "id": f"{v['id']} (390 px)"} for v in page.evaluate(AXE_RUN)]
    nav = page.locator("header nav")
    has_menu = nav.count() > 0 and len(facts["menu"]) > 0
    folded = has_menu and not nav.is_visible()
    opens = False
    if has_menu and folded:
        page.locator("header .menu-button").click()
        opens = nav.is_visible() and page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        if shoot_open_menu:
            page.screenshot(path=str(folder / f"{name}@390-menu.png"), full_page=False)
            # The open menu is checked too (the toggle's focus ring, the links' contrast).
            violations += [{**v, "id": f"{v['id']} (390 px, menu open)"} for v in page.evaluate(AXE_RUN)]
        # A keyboard folds it again: the toggle takes focus, and Space flips it.
        page.focus("#menu-toggle")
        page.keyboard.press("Space")
        opens = opens and not nav.is_visible()
    page.screenshot(path=str(narrow), full_page=True)
    page.set_viewport_size(DESKTOP)
    return PageVisit(
        path=path,
        status=response.status if response is not None else 0,
        url=_path_of(page.url, base),
        lang=facts["lang"],
        menu=facts["menu"],
        menu_text=facts["menuText"],
        h1=facts["h1"],
        text=facts["text"],
        logout=facts["logout"],
        violations=violations,
        width_at_390=width,
        menu_folded_at_390=folded,
        menu_toggles_at_390=opens,
        screenshots=[wide, narrow],
    )


def _write_summary(path: Path, record: JourneyRecord) -> None:
    """What each page showed, beside its screenshots: axe's findings of every impact, times, widths."""
    pages = [record.login, *record.pages]
    summary = {
        "role": record.role.value,
        "landed_on": record.landed_on,
        "pages": [
            {
                "path": p.path,
                "status": p.status,
                "menu": p.menu,
                "times": p.times[:10],
                "width_at_390": p.width_at_390,
                "axe": p.violations,
            }
            for p in pages
        ],
    }
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")


def walk(browser: Any, base: str, role: Role, ids: dict[str, int]) -> JourneyRecord:
    """Log in as the role's demo user, then open its landing page, its menu and its extra pages."""
    folder = ARTIFACTS / USERNAME[role]
    # The folder's own files only: a role's other journeys keep theirs in subfolders (dispatcher/call-to-scene).
    for old in folder.glob("*"):
        if old.is_file():
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    # The browser's own clock is in UTC, so a time the page would print in the browser's zone shows up.
    context = browser.new_context(
        viewport=DESKTOP,
        locale="zh-CN",
        timezone_id="UTC",
        bypass_csp=True,  # axe is injected inline
    )
    try:
        page = context.new_page()
        login = _visit(page, base, "/login", folder)
        page.fill("input[name=username]", USERNAME[role])
        page.fill("input[name=password]", DEMO_PASSWORD)
        with page.expect_navigation(wait_until="load") as nav:
            page.click("form[action='/login'] button[type=submit]")
        landed_status = nav.value.status if nav.value is not None else 0
        landed_on = _path_of(page.url, base)
        paths = [landing(role)]
        for path in [*menu_hrefs(role), *(p.format(**ids) for p in JOURNEYS[role].extra), MISSING]:
            if path not in paths:
                paths.append(path)
        pages = [_visit(page, base, path, folder, shoot_open_menu=i == 0) for i, path in enumerate(paths)]
        page.goto(f"{base}{paths[0]}", wait_until="load")
        with page.expect_navigation(wait_until="load"):
            page.click("form[action='/logout'] button")
        logged_out_to = _path_of(page.url, base)
        page.goto(f"{base}{paths[0]}", wait_until="load")
        record = JourneyRecord(
            role=role,
            login=login,
            landed_on=landed_on,
            landing_status=landed_status,
            pages=pages,
            logged_out_to=logged_out_to,
            after_logout=_path_of(page.url, base),
        )
        _write_summary(folder / "journey.json", record)
        return record
    finally:
        context.close()
