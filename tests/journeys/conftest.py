"""One server and one Chromium for the module; each role's journey is walked once and shared by the
tests that read it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pingan.core.roles import Role
from pingan.demo import DEMO_PASSWORD
from tests.browser import chromium, serve
from tests.factories import report_payload
from tests.journeys.harness import AXE_HINT, AXE_JS, JourneyRecord, walk

SEEDED_REF = "JOURNEY-0001"


def _seed(base: str) -> dict[str, int]:
    """A report registered by the station officer through the API, as an intake system would."""
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "officer", "password": DEMO_PASSWORD}, timeout=10
    ).json()["access_token"]
    r = httpx.post(
        f"{base}/api/v1/fraud-reports",
        json=report_payload(external_ref=SEEDED_REF),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return {"report": int(r.json()["id"])}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    with serve(tmp_path_factory.mktemp("journeys")) as base:
        yield base, _seed(base)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: {AXE_HINT}")
    with chromium() as b:
        yield b


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
