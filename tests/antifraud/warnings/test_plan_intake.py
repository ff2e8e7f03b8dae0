"""A warning plan posted through the API: idempotent by plan id, but only for the same plan, and only
for a station that exists."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import User
from tests.conftest import bearer

pytestmark = pytest.mark.usefixtures("station_yulin")


def _plan(**changes: Any) -> dict[str, Any]:
    body = {
        "plan_id": "plan-wang-1",
        "person_pseudonym": "person:wang",
        "typology": "冒充公检法",
        "amount_fen": 5_000_000,
        "home_station_code": "WH-YL",
        "risk_event_at": "2026-11-20T09:40:00+08:00",
    }
    return body | changes


def test_the_same_plan_posted_twice_is_accepted_once(client: TestClient, analyst_zhang: User) -> None:
    first = client.post("/api/v1/warnings/plans", json=_plan(), headers=bearer(analyst_zhang))
    again = client.post("/api/v1/warnings/plans", json=_plan(), headers=bearer(analyst_zhang))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["plan_id"] == again.json()["plan_id"]


def test_a_plan_id_reused_with_another_amount_gets_409(client: TestClient, analyst_zhang: User) -> None:
    client.post("/api/v1/warnings/plans", json=_plan(), headers=bearer(analyst_zhang))
    r = client.post("/api/v1/warnings/plans", json=_plan(amount_fen=1), headers=bearer(analyst_zhang))
    assert r.status_code == 409
    assert r.json()["field"] == "plan_id"
    assert "amount_fen" in r.json()["message"]


def test_a_plan_for_an_unknown_station_gets_422_naming_it(client: TestClient, analyst_zhang: User) -> None:
    r = client.post(
        "/api/v1/warnings/plans", json=_plan(home_station_code="NOPE"), headers=bearer(analyst_zhang)
    )
    assert r.status_code == 422
    assert r.json()["field"] == "home_station_code"
