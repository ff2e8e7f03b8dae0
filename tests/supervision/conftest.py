"""Fixtures of the supervision tests: the Yulin station, its case officer Li, his supervisor Liu, the
legal-supervision office's Sun, and a criminal case opened on 2026-03-10 09:00 Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import User
from pingan.core.org import Station
from pingan.core.roles import Role
from tests.conftest import bearer, make_user

OPENED = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 Beijing
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def legal_sun(database: str) -> User:
    return make_user("legal_sun", Role.LEGAL_SUPERVISOR)


@pytest.fixture
def officer_zhou_elsewhere(database: str) -> User:
    """An officer of another station, who may not see Yulin's cases."""
    return make_user("officer_zhou", Role.OFFICER, station_code="WH-XX")


def case_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": "A5101072026030001",
        "kind": "criminal",
        "title": "盗窃电动车案",
        "station_code": "WH-YL",
        "officer": "officer_li",
        "supervisor": "supervisor_liu",
        "opened_at": OPENED.isoformat(),
    }
    body.update(changes)
    return body


@pytest.fixture
def theft_case(
    client: TestClient, station_yulin: Station, officer_li: User, supervisor_liu: User, legal_sun: User
) -> dict[str, Any]:
    """A criminal case with one suspect, Wang Wu, opened by officer Li."""
    r = client.post("/api/v1/supervision/cases", json=case_body(), headers=bearer(officer_li))
    assert r.status_code == 201, r.text
    case = r.json()
    p = client.post(
        f"/api/v1/supervision/cases/{case['id']}/parties",
        json={"role": "suspect", "name": "王五", "national_id": "11010519491231002X"},
        headers=bearer(officer_li),
    )
    assert p.status_code == 201, p.text
    case["suspect_id"] = p.json()["id"]
    return case


@pytest.fixture(autouse=True)
def frozen_now() -> Any:
    """The platform's clock stands at 2026-03-20 10:00 Beijing time, ten days after the case opened."""
    from pingan.core import clock

    with clock.frozen(NOW):
        yield NOW
