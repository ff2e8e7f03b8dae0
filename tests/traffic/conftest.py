"""Fixtures of the traffic tests: a small street grid stored as the road graph, a traffic officer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingan.command.roads import Roads, do_store_roads
from pingan.core import db
from pingan.core.auth import User
from pingan.core.roles import Role
from pingan.sim.roads import generate_roads
from tests.conftest import bearer, make_user


@pytest.fixture
def grid(database: str) -> Roads:
    """A 6 x 6 street grid of the district, stored as the road graph."""
    roads = generate_roads(3, size=6)
    with db.transaction() as s:
        do_store_roads(s, roads)
    return roads


@pytest.fixture
def officer_sun(database: str) -> User:
    """An officer of the traffic police brigade."""
    return make_user("officer_sun", Role.TRAFFIC_POLICE)


@pytest.fixture
def api(client: TestClient, officer_sun: User) -> TestClient:
    client.headers.update(bearer(officer_sun))
    return client


def on_segment(roads: Roads, k: int, *, t: float = 0.5) -> tuple[float, float]:
    """A point a fraction `t` along segment index k."""
    a, b = int(roads.source[k]) - 1, int(roads.target[k]) - 1
    return (
        float(roads.lat[a] + t * (roads.lat[b] - roads.lat[a])),
        float(roads.lon[a] + t * (roads.lon[b] - roads.lon[a])),
    )


def accident_body(lat: float, lon: float, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "occurred_at": "2026-11-20T10:00:00+00:00",
        "lat": lat,
        "lon": lon,
        "address": "人民南路四段",
        "collision": "rear_end",
        "weather": "rain",
        "lighting": "daylight",
        "surface": "wet",
        "causes": ["distraction"],
        "vehicles": [{"kind": "car", "plate": "川A12345"}, {"kind": "ebike"}],
        "people": [
            {"role": "driver", "injury": "uninjured", "vehicle_no": 1},
            {"role": "cyclist", "injury": "serious", "vehicle_no": 2},
        ],
    }
    body.update(extra)
    return body
