"""In Chromium: the live map renders with MapLibre (WebGL canvas, offline style) and its incident layer,
and a call taken through the API appears on the open map without a reload."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

# A point in the Yulin station's area (WH-YL).
YULIN = (30.6125, 104.0525)


def _token(base: str, username: str) -> str:
    answer = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": "pingan-demo-2026"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_the_map_renders_its_incident_layer_and_a_new_call_appears_without_a_reload(
    live_server: str, browser: Any
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server) else external.append(r.url))
    page.goto(f"{live_server}/login?next=/command/map")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "pingan-demo-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/command/map")
    page.locator("#command-map canvas.maplibregl-canvas").wait_for(timeout=20_000)
    # The page's CSP forbids eval, so the waits read attributes the map's script sets.
    page.locator("#command-map[data-incident-count]").wait_for(state="attached", timeout=20_000)
    assert errors == [], errors
    assert page.evaluate("!!document.getElementById('command-map').maplibre.getLayer('incidents')")
    before = int(page.evaluate("document.getElementById('command-map').dataset.incidentCount"))
    page.evaluate("window.notReloaded = true")

    dispatcher = _token(live_server, "dispatcher")
    made = httpx.post(
        f"{live_server}/api/v1/incidents",
        json={"text": "E2E 电动车被偷了", "category_code": "010103", "lat": YULIN[0], "lon": YULIN[1]},
        headers={"Authorization": f"Bearer {dispatcher}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    page.locator(f'#command-map[data-incident-count="{before + 1}"]').wait_for(
        state="attached", timeout=15_000
    )
    assert page.evaluate("window.notReloaded") is True  # the same page, not a reload
    new_id = made.json()["id"]
    shown = page.evaluate(
        "document.getElementById('command-map').maplibre.querySourceFeatures('incidents').map(f => f.properties.id)"
    )
    assert new_id in shown
    assert external == []  # no tile server, no CDN
    page.close()


def test_the_big_screen_draws_the_days_figures_with_echarts_beside_the_map(
    live_server: str, browser: Any
) -> None:
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/login?next=/command/bigscreen")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "pingan-demo-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/command/bigscreen")
    page.locator("#chart-shares canvas").wait_for(timeout=20_000)
    page.locator("#chart-units canvas").wait_for(timeout=20_000)
    page.locator("#command-map canvas.maplibregl-canvas").wait_for(timeout=20_000)
    assert page.locator('[data-figure="calls_today"]').inner_text().strip().isdigit()
    assert errors == [], errors
    page.close()
