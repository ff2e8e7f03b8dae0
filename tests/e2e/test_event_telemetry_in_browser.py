"""In Chromium, end to end (issue #20 item 5): what raises no alert is pushed live too, and a zone is
edited on the map. Counts and drone reports are published to Mosquitto and taken by a
`pingan sensors ingest` process, which pulses the event (no audit entry per reading):

- a count falling below a level shows on the open event page and on the live map's event mode;
- a drone's later report moves its point on the map;
- a dispatcher drags a corner of a zone on the zone's page and saves it, and the open live map
  redraws it; all without a reload, and well inside the map's 60 s fallback poll.

Screenshots go to `test-artifacts/e2e/event-telemetry/`, with the seconds each push took."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pingan.core.migrate import REPO_ROOT
from tests.conftest import MQTT_ROOT
from tests.e2e.test_event_alerts_in_browser import (
    _device_key,
    _event_running,
    _live_map_in_event_mode,
    _logged_in,
    _publish,
    _signed,
)
from tests.e2e.test_safety_alert_in_browser import (  # noqa: F401 - the server and ingest fixtures
    _token,
    ingest_process,
    site,
)

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.mqtt]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e" / "event-telemetry"
HALL = [[[104.06, 30.63], [104.07, 30.63], [104.07, 30.64], [104.06, 30.64], [104.06, 30.63]]]
SKY = [[[104.05, 30.62], [104.08, 30.62], [104.08, 30.65], [104.05, 30.65], [104.05, 30.62]]]
# A push must beat the map's fallback poll (60 s) by far: this is a bound on a loaded machine.
PUSHED_WITHIN_MS = 20_000


def test_a_falling_count_and_a_drone_moving_are_pushed_live_and_a_zone_is_edited_on_the_map(
    site: tuple[str, Path],  # noqa: F811
    ingest_process: None,  # noqa: F811
    browser: Any,
) -> None:
    url, _ = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dispatcher = {"Authorization": f"Bearer {_token(url, 'dispatcher')}"}
    event_id = _event_running(url, dispatcher, "e2e-games", "大运会（测试）")
    for zone in ({"code": "hall-1", "name": "一号馆", "polygon": HALL, "capacity": 1000},
                 {"code": "sky", "name": "禁飞区", "polygon": SKY, "no_fly": True}):  # fmt: skip
        added = httpx.post(f"{url}/api/v1/sensors/events/{event_id}/zones", json=zone, headers=dispatcher)
        assert added.status_code == 201, added.text
    hall_id = added.json()["zones"][0]["id"]
    keys = {device: _device_key(url, dispatcher, device, kind, community)
            for device, kind, community in (("e2e-games-counter", "crowd_counter", "e2e-games"),
                                            ("e2e-radar", "drone_detector", "drone"))}  # fmt: skip

    def count(seq: int, people: int) -> None:
        _publish(f"{MQTT_ROOT}/crowd/e2e-games/hall-1/count",
                 _signed(keys["e2e-games-counter"], "e2e-games-counter", seq, count=people))  # fmt: skip

    def drone(seq: int, lon: float, lat: float) -> None:
        _publish(
            f"{MQTT_ROOT}/drone/e2e-radar/report",
            _signed(keys["e2e-radar"], "e2e-radar", seq, lat=lat, lon=lon),
        )

    errors: list[str] = []
    page = _logged_in(browser, url, f"/sensors/events/{event_id}", errors)
    page.evaluate("window.notReloaded = true")
    live_map = _live_map_in_event_mode(browser, url, errors, 'data-event-counts="hall-1:"')
    live_map.evaluate("window.notReloaded = true")
    seconds: dict[str, float] = {}

    # 85 %: a watch alert (audited, pushed as before); then 42 %, a fall that raises nothing.
    count(1, 850)
    page.locator(f'#zone-{hall_id}[data-count="850"]').wait_for(timeout=PUSHED_WITHIN_MS)
    live_map.locator('#command-map[data-event-counts="hall-1:850"]').wait_for(
        state="attached", timeout=PUSHED_WITHIN_MS
    )
    published = time.monotonic()
    count(2, 420)
    page.locator(f'#zone-{hall_id}[data-count="420"][data-level=""]').wait_for(timeout=PUSHED_WITHIN_MS)
    seconds["falling_count_to_event_page_s"] = round(time.monotonic() - published, 2)
    live_map.locator('#command-map[data-event-counts="hall-1:420"]').wait_for(
        state="attached", timeout=PUSHED_WITHIN_MS
    )
    seconds["falling_count_to_map_s"] = round(time.monotonic() - published, 2)
    page.screenshot(path=str(ARTIFACTS / "1-count-fell.png"), full_page=True)

    # A drone over the no-fly zone raises an alert; its later report moves the point on the map.
    drone(1, 104.055, 30.625)
    live_map.locator('#command-map[data-event-drones="104.0550,30.6250"]').wait_for(
        state="attached", timeout=PUSHED_WITHIN_MS
    )
    live_map.screenshot(path=str(ARTIFACTS / "2-drone-first-report.png"))
    published = time.monotonic()
    drone(2, 104.075, 30.645)
    live_map.locator('#command-map[data-event-drones="104.0750,30.6450"]').wait_for(
        state="attached", timeout=PUSHED_WITHIN_MS
    )
    seconds["drone_moved_to_map_s"] = round(time.monotonic() - published, 2)
    live_map.screenshot(path=str(ARTIFACTS / "3-drone-moved.png"))
    page.locator('#event-alerts-active tr[data-kind="drone"]').wait_for(timeout=PUSHED_WITHIN_MS)
    assert page.evaluate("window.notReloaded") is True

    # The dispatcher opens the zone from the event page and drags its north-east corner east.
    page.click(f"#zone-{hall_id} a.zone-edit")
    page.wait_for_url(f"{url}/sensors/zones/{hall_id}")
    page.locator('#zone-draw-map[data-ready="1"][data-closed="1"][data-corners="4"]').wait_for(
        state="attached", timeout=20_000
    )
    page.locator("#zone-draw-map").scroll_into_view_if_needed()
    box = page.locator("#zone-draw-map canvas").bounding_box()
    assert box is not None
    corner = page.evaluate(
        "([lon, lat]) => { const p = document.getElementById('zone-draw-map').maplibre.project([lon, lat]);"
        " return [p.x, p.y]; }",
        HALL[0][2],
    )
    start = (box["x"] + corner[0], box["y"] + corner[1])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 40, start[1] - 10, steps=8)
    page.mouse.up()
    page.locator('#zone-draw-map[data-moved="1"]').wait_for(state="attached", timeout=5_000)
    ring = json.loads(page.input_value("#zone-polygon"))[0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    assert ring[2][0] > HALL[0][2][0] and ring[2][1] > HALL[0][2][1]  # moved east and north
    assert [ring[i] for i in (0, 1, 3)] == [HALL[0][i] for i in (0, 1, 3)]  # the other corners stay
    page.fill("input[name=capacity]", "1200")
    page.screenshot(path=str(ARTIFACTS / "4-zone-edited-on-the-map.png"), full_page=True)
    saved = time.monotonic()
    page.click("#zone-form button[type=submit]")
    page.wait_for_url(f"{url}/sensors/events/{event_id}")
    zone = httpx.get(f"{url}/api/v1/sensors/events/{event_id}", headers=dispatcher).json()["zones"][0]
    assert zone["polygon"] == [ring] and zone["capacity"] == 1200
    # The open live map redraws the zone as edited, pushed (a zone edit pulses its event).
    live_map.wait_for_function(
        """(lon) => { const shown = document.getElementById('command-map').eventFeatures;
             const f = shown && shown.features.find((x) => x.properties.code === 'hall-1');
             return Boolean(f) && f.geometry.coordinates[0][2][0] === lon; }""",
        arg=ring[2][0],
        timeout=PUSHED_WITHIN_MS,
    )
    seconds["zone_edit_to_map_s"] = round(time.monotonic() - saved, 2)
    live_map.screenshot(path=str(ARTIFACTS / "5-map-after-edit.png"))
    page.screenshot(path=str(ARTIFACTS / "6-event-page-after-edit.png"), full_page=True)
    assert live_map.evaluate("window.notReloaded") is True
    (ARTIFACTS / "timings.json").write_text(json.dumps(seconds))
    assert errors == [], errors
    live_map.close()
    page.close()
