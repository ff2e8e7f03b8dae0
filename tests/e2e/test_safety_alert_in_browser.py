"""In Chromium, end to end: a holster draw published to Mosquitto, taken by a `pingan sensors ingest`
process, raises the officer-safety alarm on the open map page and draws its ring on the map, with no
reload."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pingan.sensors import rules
from tests.browser import serve
from tests.conftest import MQTT_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.mqtt]
BROKER = ("127.0.0.1", 1883)


def _token(base: str, username: str) -> str:
    answer = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": "pingan-demo-2026"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError:
        pytest.skip("Mosquitto is not running on 127.0.0.1:1883")
    root = tmp_path_factory.mktemp("sensors-live")
    with serve(root) as url:
        yield url, root


@pytest.fixture
def ingest_process(site: tuple[str, Path]) -> Iterator[None]:
    _, root = site
    client_id = f"pingan-e2e-ingest-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PINGAN_DATABASE_URL": f"sqlite:///{root / 'pingan.db'}",
        "PINGAN_DEMO": "1",
        "PINGAN_SENSORS_CLIENT_ID": client_id,
    }
    log = (root / "ingest.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pingan.cli", "sensors", "ingest"], env=env, stdout=log, stderr=log
    )
    try:
        # A bound, not a timing: a new Python process importing pingan on a loaded 2-core machine.
        for _ in range(600):
            if "sensors.connected" in (root / "ingest.log").read_text():
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(
                "the ingest did not connect within 120 s; its log: " + (root / "ingest.log").read_text()
            )
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        forget = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        forget.connect(*BROKER)
        forget.disconnect()


def test_a_holster_draw_rings_on_the_open_map_and_alarms_the_dispatcher(
    site: tuple[str, Path], ingest_process: None, browser: Any
) -> None:
    url, _ = site
    auth = {"Authorization": f"Bearer {_token(url, 'dispatcher')}"}
    unit = httpx.post(
        f"{url}/api/v1/units",
        json={"call_sign": "E2E-1", "station_code": "WH-YL", "kind": "patrol_car"},
        headers=auth,
    )
    assert unit.status_code == 201, unit.text
    placed = httpx.post(
        f"{url}/api/v1/units/{unit.json()['id']}/position",
        json={"lat": 30.6125, "lon": 104.0525},
        headers=auth,
    )
    assert placed.status_code in (200, 204), placed.text
    holster = httpx.post(
        f"{url}/api/v1/sensors/devices",
        json={
            "device_id": "e2e-holster",
            "kind": "holster",
            "community": "holster",
            "officer": "officer",
            "unit_call_sign": "E2E-1",
        },
        headers=auth,
    )
    assert holster.status_code == 201, holster.text
    key = bytes.fromhex(holster.json()["key"])

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/login?next=/command/map")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "pingan-demo-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/command/map")
    page.locator('#command-map[data-safety-count="0"]').wait_for(state="attached", timeout=20_000)
    page.evaluate("window.notReloaded = true")

    body: dict[str, Any] = {
        "v": 1,
        "device": "e2e-holster",
        "seq": 1,
        "ts": datetime.now(UTC).isoformat(),
        "event": "holster_draw",
    }
    body["sig"] = rules.sign(key, body)
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"e2e-holster-{uuid.uuid4().hex[:6]}")
    device.connect(*BROKER)
    device.loop_start()
    device.publish(f"{MQTT_ROOT}/holster/e2e-holster/event", json.dumps(body), qos=1).wait_for_publish(10)
    device.disconnect()
    device.loop_stop()

    page.locator('#command-map[data-safety-count="1"]').wait_for(state="attached", timeout=20_000)
    page.locator("#safety-alarms .safety-alarm").wait_for(timeout=20_000)
    ring = page.evaluate(
        "document.getElementById('command-map').maplibre.querySourceFeatures('safety').map(f => f.properties.unit)"
    )
    assert "E2E-1" in ring
    assert page.evaluate("window.notReloaded") is True
    assert errors == [], errors
    page.close()
