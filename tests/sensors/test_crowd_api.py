"""Large events over the API (issue #20 item 5, in part): an event with its crowd zones and no-fly
zones; a zone whose polygon cannot be one, or a crowd zone without capacity, is a 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from tests.conftest import bearer

SQUARE = [[[104.06, 30.63], [104.07, 30.63], [104.07, 30.64], [104.06, 30.64], [104.06, 30.63]]]
EVENT = {
    "code": "expo-2026",
    "name": "西博会",
    "starts_at": "2026-12-10T01:00:00+00:00",
    "ends_at": "2026-12-10T10:00:00+00:00",
}


def _event(client: TestClient, user: User) -> int:
    r = client.post("/api/v1/sensors/events", json=EVENT, headers=bearer(user))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_an_event_gets_a_crowd_zone_and_a_no_fly_zone(client: TestClient, dispatcher: User) -> None:
    event_id = _event(client, dispatcher)
    zone = {"code": "hall-1", "name": "一号馆", "polygon": SQUARE, "capacity": 3000}
    first = client.post(f"/api/v1/sensors/events/{event_id}/zones", json=zone, headers=bearer(dispatcher))
    assert first.status_code == 201, first.text
    no_fly = {"code": "nofly-1", "name": "禁飞区", "polygon": SQUARE, "no_fly": True}
    r = client.post(f"/api/v1/sensors/events/{event_id}/zones", json=no_fly, headers=bearer(dispatcher))
    assert r.status_code == 201
    shown = client.get(f"/api/v1/sensors/events/{event_id}", headers=bearer(dispatcher)).json()
    assert [(z["code"], z["capacity"], z["no_fly"]) for z in shown["zones"]] == [
        ("hall-1", 3000, False),
        ("nofly-1", 0, True),
    ]
    assert shown["zones"][0]["polygon"] == SQUARE
    with db.read_transaction() as s:
        actions = (
            s.execute(select(AuditEntry.action).where(AuditEntry.action.like("crowd.%"))).scalars().all()
        )
    assert actions == ["crowd.event_create", "crowd.zone_add", "crowd.zone_add"]


@pytest.mark.parametrize(
    ("zone", "field", "says"),
    [
        ({"polygon": [SQUARE[0][:-1]]}, "polygon", "not closed"),
        ({"polygon": [SQUARE[0][:3]]}, "polygon", "at least 4"),
        ({"polygon": SQUARE[0]}, "polygon", "one outer ring"),
        (
            {"polygon": [[[104.06, 30.63], [104.07, 30.63], [104.08, 30.63], [104.06, 30.63]]]},
            "polygon",
            "no area",
        ),
        ({"capacity": 0}, "capacity", "at least one person"),
        ({"capacity": -5}, "capacity", "greater than or equal"),
    ],
)
def test_a_zone_that_cannot_be_one_is_refused_naming_the_field(
    client: TestClient, dispatcher: User, zone: dict[str, Any], field: str, says: str
) -> None:
    event_id = _event(client, dispatcher)
    body = {"code": "hall-1", "name": "一号馆", "polygon": SQUARE, "capacity": 3000, **zone}
    r = client.post(f"/api/v1/sensors/events/{event_id}/zones", json=body, headers=bearer(dispatcher))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and says in r.text


def test_an_event_code_taken_and_a_zone_code_taken_are_conflicts(
    client: TestClient, dispatcher: User
) -> None:
    event_id = _event(client, dispatcher)
    again = client.post("/api/v1/sensors/events", json=EVENT, headers=bearer(dispatcher))
    assert again.status_code == 409 and again.json()["field"] == "code"
    zone = {"code": "hall-1", "name": "一号馆", "polygon": SQUARE, "capacity": 10}
    client.post(f"/api/v1/sensors/events/{event_id}/zones", json=zone, headers=bearer(dispatcher))
    twice = client.post(f"/api/v1/sensors/events/{event_id}/zones", json=zone, headers=bearer(dispatcher))
    assert twice.status_code == 409 and twice.json()["field"] == "code"


def test_an_event_that_ends_before_it_starts_is_refused(client: TestClient, dispatcher: User) -> None:
    body = {**EVENT, "ends_at": "2026-12-09T10:00:00+00:00"}
    r = client.post("/api/v1/sensors/events", json=body, headers=bearer(dispatcher))
    assert r.status_code == 422 and "ends_at" in r.text
