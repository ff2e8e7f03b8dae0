"""The dispatcher's journey, in Chromium, from a 110 call to its feedback (issue 19's "Tests"):

1. the dispatcher logs in, takes a call on the call-taker's page and lands on the new incident;
2. signs it off and accepts the fastest recommended unit (its "Dispatch" button posts the unit's
   `assign` move, the one write path of a dispatch);
3. the unit's officer acknowledges, departs and arrives through the API, as the unit's terminal
   would, sending GPS fixes on the way; the live map, open in another tab and never reloaded, shows
   the unit in each state and place, pushed by the live stream's `map` topic;
4. the dispatcher clears the unit with the feedback and sees the 110 clock chain complete.

The walk happens once per module (`dispatch`); each test reads one behaviour off its record.
Screenshots land in `test-artifacts/journeys/dispatcher/call-to-scene/`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from pingan.demo import DEMO_PASSWORD
from tests.browser import serve
from tests.journeys.harness import ARTIFACTS, DESKTOP, PHONE, SETTLE

pytestmark = pytest.mark.e2e

FOLDER = ARTIFACTS / "dispatcher" / "call-to-scene"
# The call: a burglary in Yulin station's area (WH-YL), where the demo officer serves.
SCENE = (30.6125, 104.0525)
CALL_TEXT = "玉林西路一家手机店卷帘门被撬，店里手机被偷了"
BURGLARY = "010101"
# Two Yulin patrol cars: one about 600 m from the scene, one about 2.5 km away.
NEAR, FAR = "玉林巡1", "玉林巡2"
START = {NEAR: (30.6165, 104.0565), FAR: (30.6300, 104.0700)}
HALF_WAY = (30.6145, 104.0545)
FEEDBACK = "现场勘查完毕，店主已做笔录，监控已调取"
MAP_WAIT_S = 20.0
# The map's features come back from its vector tiles, their coordinates rounded to the tile grid:
# about a metre here, against the hundreds of metres between the unit's fixes.
PLACE_TOLERANCE = 1e-4

UNITS_ON_MAP = """() => {
  const map = document.getElementById('command-map').maplibre;
  return map.querySourceFeatures('units').map(f => ({
    id: f.properties.id, call_sign: f.properties.call_sign, state: f.properties.state,
    state_label: f.properties.state_label, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1]}));
}"""


@dataclass
class MapSight:
    """What the map showed of the dispatched unit once it reached a state: state, label and place."""

    state: str
    label: str
    lat: float
    lon: float
    seconds: float  # from the move's answer to the map showing it


@dataclass
class DispatchRecord:
    """What the journey saw."""

    landed_on: str = ""
    incident_url: str = ""
    incident_id: int = 0
    recommended: list[str] = field(default_factory=list)
    reasons_of_first: str = ""
    accepted: str = ""
    unit_on_incident_page: str = ""
    sights: list[MapSight] = field(default_factory=list)
    map_reloaded: bool = True
    popup_on_scene: str = ""
    chain_rows: list[tuple[str, str]] = field(default_factory=list)
    targets: list[tuple[str, str]] = field(default_factory=list)
    heading_after_clear: str = ""
    log_rows: list[list[str]] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    widths_at_390: dict[str, int] = field(default_factory=dict)
    screenshots: list[Path] = field(default_factory=list)


def _bearer(base: str, username: str) -> dict[str, str]:
    r = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}, timeout=10
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def command_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    """A server with the demo district, a small generated road graph and two Yulin patrol cars placed
    by their own GPS fixes (the officer's terminal sends them)."""
    root = tmp_path_factory.mktemp("dispatch")
    with serve(root) as base:
        env = {
            **os.environ,
            "PINGAN_DATABASE_URL": f"sqlite:///{root / 'pingan.db'}",
            "PINGAN_DATA_DIR": str(root),
        }
        # 40 x 40 junctions (about 250 m apart) is enough to route across the station's area.
        subprocess.run(
            [sys.executable, "-m", "pingan.cli", "sim", "roads", "--seed", "1", "--size", "40"],
            env=env,
            check=True,
            capture_output=True,
        )
        dispatcher, officer = _bearer(base, "dispatcher"), _bearer(base, "officer")
        units: dict[str, int] = {}
        for call_sign, (lat, lon) in START.items():
            r = httpx.post(
                f"{base}/api/v1/units",
                json={"call_sign": call_sign, "station_code": "WH-YL", "kind": "patrol_car"},
                headers=dispatcher,
                timeout=10,
            )
            assert r.status_code == 201, r.text
            units[call_sign] = int(r.json()["id"])
            fix = httpx.post(
                f"{base}/api/v1/units/{units[call_sign]}/position",
                json={"lat": lat, "lon": lon},
                headers=officer,
                timeout=10,
            )
            assert fix.status_code == 200, fix.text
        yield base, units


def _shoot(page: Any, record: DispatchRecord, name: str) -> None:
    path = FOLDER / f"{len(record.screenshots) + 1:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    record.screenshots.append(path)


def _shoot_phone(page: Any, record: DispatchRecord, name: str) -> None:
    """The page at 390 px too: its screenshot, and how wide it is there."""
    page.set_viewport_size(PHONE)
    page.evaluate(SETTLE)
    record.widths_at_390[name] = int(page.evaluate("document.documentElement.scrollWidth"))
    _shoot(page, record, f"{name}@390")
    page.set_viewport_size(DESKTOP)


def _unit_on_map(map_page: Any, unit_id: int) -> dict[str, Any] | None:
    return next((u for u in map_page.evaluate(UNITS_ON_MAP) if u["id"] == unit_id), None)


def _watch(map_page: Any, unit_id: int, state: str, at: tuple[float, float]) -> MapSight:
    """Wait until the open map shows the unit in `state` at `at` (its latest fix); fail after a while."""
    started = time.monotonic()
    seen: dict[str, Any] | None = None
    while time.monotonic() - started < MAP_WAIT_S:
        seen = _unit_on_map(map_page, unit_id)
        if (
            seen
            and seen["state"] == state
            and abs(seen["lat"] - at[0]) + abs(seen["lon"] - at[1]) < PLACE_TOLERANCE
        ):
            return MapSight(state, seen["state_label"], seen["lat"], seen["lon"], time.monotonic() - started)
        map_page.wait_for_timeout(150)
    raise AssertionError(f"the map did not show unit {unit_id} {state} at {at} in {MAP_WAIT_S} s; saw {seen}")


def _open_unit_popup(map_page: Any, at: tuple[float, float]) -> None:
    """Click the unit's circle on the map canvas, so that the screenshot shows its popup."""
    point = map_page.evaluate(
        "([lon, lat]) => { const p = document.getElementById('command-map').maplibre.project([lon, lat]);"
        " return [p.x, p.y]; }",
        [at[1], at[0]],
    )
    box = map_page.locator("#command-map canvas.maplibregl-canvas").bounding_box()
    map_page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    map_page.locator(".maplibregl-popup").wait_for(timeout=5_000)


def _walk(browser: Any, base: str, units: dict[str, int]) -> DispatchRecord:
    shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir(parents=True)
    record = DispatchRecord()
    officer = _bearer(base, "officer")
    # The browser's clock is in UTC, so a time the page printed in the browser's zone would show.
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="UTC")
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: record.script_errors.append(f"desk: {e}"))
        page.goto(f"{base}/login", wait_until="load")
        page.fill("input[name=username]", "dispatcher")
        page.fill("input[name=password]", DEMO_PASSWORD)
        with page.expect_navigation(wait_until="load"):
            page.click("form[action='/login'] button[type=submit]")
        record.landed_on = page.url.removeprefix(base)

        # The live map in a second tab, left open: it must follow the unit without a reload.
        map_page = context.new_page()
        map_page.on("pageerror", lambda e: record.script_errors.append(f"map: {e}"))
        map_page.goto(f"{base}/command/map", wait_until="load")
        map_page.locator("#command-map canvas.maplibregl-canvas").wait_for(timeout=20_000)
        map_page.locator("#command-map[data-unit-count]").wait_for(state="attached", timeout=20_000)
        map_page.evaluate("() => { window.notReloaded = true; }")
        unit = units[NEAR]
        _watch(map_page, unit, "available", START[NEAR])
        _shoot(map_page, record, "map-before-the-call")

        # 1. The call, on the call-taker's page.
        page.goto(f"{base}/command/calls/new", wait_until="load")
        page.fill("input[name=caller_phone]", "13800138000")
        page.fill("input[name=caller_name]", "李明")
        page.fill("textarea[name=text]", CALL_TEXT)
        page.select_option("select[name=category_code]", BURGLARY)
        page.fill("input[name=address]", "成都市武侯区玉林西路 88 号")
        page.fill("input[name=lat]", str(SCENE[0]))
        page.fill("input[name=lon]", str(SCENE[1]))
        _shoot(page, record, "call-taken")
        with page.expect_navigation(wait_until="load"):
            page.click("#call-form button[type=submit]")
        record.incident_url = page.url.removeprefix(base)
        record.incident_id = int(record.incident_url.rsplit("/", 1)[-1])

        # 2. Signed off, then the fastest recommended unit accepted.
        with page.expect_navigation(wait_until="load"):
            page.click(f"form[action='/command/incidents/{record.incident_id}/sign-off'] button")
        page.locator("#recommendations tbody tr").first.wait_for(timeout=20_000)
        rows = page.locator("#recommendations tbody tr")
        record.recommended = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
        record.reasons_of_first = rows.first.locator("td").nth(5).inner_text()
        _shoot(page, record, "incident-with-recommendations")
        _shoot_phone(page, record, "incident-with-recommendations")
        accept = rows.first.locator("form button[type=submit]")
        record.accepted = accept.inner_text()
        with page.expect_navigation(wait_until="load"):
            accept.click()
        record.unit_on_incident_page = page.locator(f"#incident-units li[data-unit='{unit}']").inner_text()
        record.sights.append(_watch(map_page, unit, "assigned", START[NEAR]))
        _shoot(page, record, "unit-assigned")

        # 3. The unit's officer: acknowledge, depart (a fix half-way), arrive (a fix at the scene).
        def unit_moves(move: str, at: tuple[float, float] | None = None) -> None:
            r = httpx.post(
                f"{base}/api/v1/units/{unit}/moves", json={"move": move}, headers=officer, timeout=10
            )
            assert r.status_code == 200, r.text
            if at is not None:
                fix = httpx.post(
                    f"{base}/api/v1/units/{unit}/position",
                    json={"lat": at[0], "lon": at[1]},
                    headers=officer,
                    timeout=10,
                )
                assert fix.status_code == 200, fix.text

        unit_moves("acknowledge")
        record.sights.append(_watch(map_page, unit, "dispatched", START[NEAR]))
        unit_moves("depart", HALF_WAY)
        record.sights.append(_watch(map_page, unit, "en_route", HALF_WAY))
        _open_unit_popup(map_page, HALF_WAY)
        _shoot(map_page, record, "map-unit-en-route")
        unit_moves("arrive", SCENE)
        record.sights.append(_watch(map_page, unit, "on_scene", SCENE))
        _open_unit_popup(map_page, SCENE)
        record.popup_on_scene = map_page.locator(".maplibregl-popup").inner_text()
        _shoot(map_page, record, "map-unit-on-scene")
        record.map_reloaded = map_page.evaluate("() => window.notReloaded") is not True

        # 4. The dispatcher clears the unit with the feedback; the chain is complete.
        page.goto(f"{base}{record.incident_url}", wait_until="load")
        clear = page.locator(
            f"#incident-units li[data-unit='{unit}'] form:has(input[name=move][value=clear])"
        )
        clear.locator("input[name=note]").fill(FEEDBACK)
        with page.expect_navigation(wait_until="load"):
            clear.locator("button[type=submit]").click()
        record.heading_after_clear = page.locator("h1").inner_text()
        chain = page.locator("#clock-chain tr")
        record.chain_rows = [
            (chain.nth(i).locator("td").nth(0).inner_text(), chain.nth(i).locator("td").nth(1).inner_text())
            for i in range(1, chain.count())
        ]
        targets = page.locator("#clock-targets tr")
        record.targets = [
            (
                targets.nth(i).locator("td").nth(0).inner_text(),
                targets.nth(i).locator("td").nth(3).inner_text(),
            )
            for i in range(1, targets.count())
        ]
        log = page.locator("#incident-log tr")
        record.log_rows = [
            [cell.strip() for cell in log.nth(i).locator("td").all_inner_texts()]
            for i in range(1, log.count())
        ]
        _shoot(page, record, "incident-cleared-chain-complete")
        _shoot_phone(page, record, "incident-cleared-chain-complete")
        map_page.reload(wait_until="load")
        map_page.locator("#command-map[data-unit-count]").wait_for(state="attached", timeout=20_000)
        _watch(map_page, unit, "available", SCENE)
        _shoot(map_page, record, "map-after-clearing")
        return record
    finally:
        context.close()


@pytest.fixture(scope="module")
def dispatch(command_site: tuple[str, dict[str, int]], browser: Any) -> DispatchRecord:
    base, units = command_site
    return _walk(browser, base, units)


def test_the_dispatcher_takes_a_call_on_the_call_takers_page_and_lands_on_its_incident(
    dispatch: DispatchRecord,
) -> None:
    assert dispatch.landed_on == "/command"
    assert dispatch.incident_url == f"/command/incidents/{dispatch.incident_id}"


def test_the_nearest_unit_is_recommended_first_and_accepting_it_assigns_it(dispatch: DispatchRecord) -> None:
    assert [r.split(" · ")[0] for r in dispatch.recommended] == [NEAR, FAR]
    assert dispatch.reasons_of_first == "最快"
    assert dispatch.accepted == f"派警 {NEAR}"
    assert "已指派" in dispatch.unit_on_incident_page


def test_the_open_map_shows_the_unit_in_each_state_and_place_until_on_scene(dispatch: DispatchRecord) -> None:
    shown = [(s.state, (s.lat, s.lon)) for s in dispatch.sights]
    assert shown == [
        ("assigned", pytest.approx(START[NEAR], abs=PLACE_TOLERANCE)),
        ("dispatched", pytest.approx(START[NEAR], abs=PLACE_TOLERANCE)),
        ("en_route", pytest.approx(HALF_WAY, abs=PLACE_TOLERANCE)),
        ("on_scene", pytest.approx(SCENE, abs=PLACE_TOLERANCE)),
    ]
    assert dispatch.sights[-1].label == "到场"
    # A click on the unit standing on its incident opens the unit's popup, and only that one.
    assert dispatch.popup_on_scene.startswith(f"{NEAR} · 玉林派出所") and "到场" in dispatch.popup_on_scene
    assert dispatch.map_reloaded is False


def test_clearing_with_feedback_completes_the_clock_chain_and_closes_the_incident(
    dispatch: DispatchRecord,
) -> None:
    assert dispatch.chain_rows and all(at != "—" for _step, at in dispatch.chain_rows), dispatch.chain_rows
    assert [result for _name, result in dispatch.targets] == ["达标", "达标", "达标"]
    assert dispatch.heading_after_clear.endswith("已办结")
    # The log names the unit of each of its steps, who took it by name, and the feedback as typed.
    dispatcher, officer = "指挥中心 陈静", "玉林所 王磊"  # the demo users' display names
    steps = [(kind, unit, by) for _at, kind, unit, by, _note in dispatch.log_rows]
    assert steps == [
        ("接警", "", dispatcher),
        ("已签收", "", dispatcher),
        ("派警", NEAR, dispatcher),
        ("警力接令", NEAR, officer),
        ("警力出发", NEAR, officer),
        ("警力到场", NEAR, officer),
        ("反馈", NEAR, dispatcher),
        ("警情办结", "", dispatcher),
    ]
    assert dispatch.log_rows[6][4] == FEEDBACK


def test_the_incident_page_fits_a_390_px_phone_with_its_recommendations_and_its_chain(
    dispatch: DispatchRecord,
) -> None:
    assert dispatch.widths_at_390 and all(w <= PHONE["width"] for w in dispatch.widths_at_390.values()), (
        dispatch.widths_at_390
    )


def test_no_page_of_the_dispatch_raised_a_script_error(dispatch: DispatchRecord) -> None:
    assert dispatch.script_errors == []
    assert all(p.stat().st_size > 0 for p in dispatch.screenshots)
