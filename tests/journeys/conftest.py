"""One server and one Chromium for the module; each role's journey is walked once and shared by the
tests that read it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pingan.core.roles import Role
from pingan.demo import DEMO_PASSWORD
from tests.browser import serve
from tests.factories import report_payload
from tests.journeys.harness import AXE_HINT, AXE_JS, JourneyRecord, walk

SEEDED_REF = "JOURNEY-0001"


def _bearer(base: str, username: str) -> dict[str, str]:
    r = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}, timeout=10
    )
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _seed(base: str) -> dict[str, int]:
    """A report registered by the station officer through the API, as an intake system would, and the
    stop-payment order the robot raises for its mule card: the ids stand in `Journey.extra`'s paths."""
    r = httpx.post(
        f"{base}/api/v1/fraud-reports",
        json=report_payload(external_ref=SEEDED_REF),
        headers=_bearer(base, "officer"),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    ids = {"report": int(r.json()["id"])}
    analyst = _bearer(base, "analyst")
    deadline = time.monotonic() + 30
    while "order" not in ids and time.monotonic() < deadline:
        orders = httpx.get(f"{base}/api/v1/orders", headers=analyst, timeout=10).json()["items"]
        if orders:
            ids["order"] = int(orders[0]["id"])
        else:
            time.sleep(0.3)
    assert "order" in ids, "the robot raised no stop-payment order for the seeded report within 30 s"
    device = httpx.post(
        f"{base}/api/v1/sensors/devices",
        json={
            "device_id": "journey-smoke",
            "kind": "smoke_detector",
            "community": "yulin-garden",
            "owner": "玉林花园物业",
        },
        headers=_bearer(base, "dispatcher"),
        timeout=30,
    )
    assert device.status_code == 201, device.text
    ids["device"] = int(device.json()["id"])
    now = datetime.now(UTC)
    event = httpx.post(
        f"{base}/api/v1/sensors/events",
        json={"code": "journey-expo", "name": "西博会", "starts_at": (now - timedelta(hours=1)).isoformat(),
              "ends_at": (now + timedelta(hours=8)).isoformat()},
        headers=_bearer(base, "dispatcher"),
        timeout=30,
    )  # fmt: skip
    assert event.status_code == 201, event.text
    ids["event"] = int(event.json()["id"])
    hall = [[[104.06, 30.63], [104.07, 30.63], [104.07, 30.64], [104.06, 30.64], [104.06, 30.63]]]
    zone = httpx.post(
        f"{base}/api/v1/sensors/events/{ids['event']}/zones",
        json={"code": "hall-1", "name": "一号馆", "polygon": hall, "capacity": 3000},
        headers=_bearer(base, "dispatcher"),
        timeout=30,
    )
    assert zone.status_code == 201, zone.text
    ids["zone"] = int(zone.json()["zones"][0]["id"])
    return ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    with serve(tmp_path_factory.mktemp("journeys")) as base:
        yield base, _seed(base)


@pytest.fixture(scope="module")
def browser(chromium_browser: Any) -> Any:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: {AXE_HINT}")
    return chromium_browser


@pytest.fixture(scope="module")
def journey(site: tuple[str, dict[str, int]], browser: Any) -> Callable[[Role], JourneyRecord]:
    """`journey(role)`: the role's journey, walked on first use."""
    base, ids = site
    walked: dict[Role, JourneyRecord] = {}

    def get(role: Role) -> JourneyRecord:
        if role not in walked:
            walked[role] = walk(browser, base, role, ids)
        return walked[role]

    return get
