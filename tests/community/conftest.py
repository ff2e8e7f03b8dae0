"""Fixtures of the community tests: the demo district's stations, a Yulin officer who mediates, and a
helper that takes in a dispute through the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import User
from pingan.core.roles import Role
from tests.command.conftest import T0, district  # noqa: F401 - the district fixture, shared
from tests.conftest import bearer, make_user

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def mediator_wang(district: None) -> User:  # noqa: F811 - the fixture imported above
    """A Yulin station officer, who mediates disputes of the Yulin area."""
    return make_user("mediator_wang", Role.OFFICER, station_code="WH-YL")


@pytest.fixture
def api(client: TestClient, mediator_wang: User) -> TestClient:
    client.headers.update(bearer(mediator_wang))
    return client


def dispute_body(**over: Any) -> dict[str, Any]:
    """A neighbours' dispute of the Yulin area, taken in at T0, with two parties and two mediators."""
    body: dict[str, Any] = {
        "kind": "neighbours",
        "station_code": "WH-YL",
        "taken_in_at": T0.isoformat(),
        "summary": "楼上漏水，双方争吵",
        "address": "玉林北路2号3栋",
        "parties": [
            {"role": "applicant", "name": "张伟", "phone": "13800001111"},
            {"role": "respondent", "name": "李娜", "phone": "13900002222"},
        ],
        "mediators": [{"side": "station", "name": "王警官"}, {"side": "community", "name": "刘主任"}],
    }
    body.update(over)
    return body
