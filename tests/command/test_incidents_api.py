"""Taking 110 calls over the API: what is refused, where a call lands, and how it ends."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.command.model import Incident
from pingan.core import db
from pingan.core.auth import User
from tests.command.conftest import EAST_OF_DISTRICT, YULIN, YULIN_80M_EAST
from tests.conftest import bearer


def _count() -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(Incident)).scalar_one())


def test_an_incident_with_neither_text_nor_category_is_422_naming_text(api: TestClient) -> None:
    r = api.post("/api/v1/incidents", json={"address": "玉林北路", "lat": YULIN[0], "lon": YULIN[1]})
    assert r.status_code == 422
    assert r.json()["field"] == "text"
    assert _count() == 0


def test_a_call_with_only_a_category_is_taken_at_that_category_s_usual_priority(api: TestClient) -> None:
    r = api.post("/api/v1/incidents", json={"category_code": "020201", "lat": YULIN[0], "lon": YULIN[1]})
    assert r.status_code == 201
    body = r.json()
    assert (body["priority"], body["station_code"], body["status"]) == ("1", "WH-YL", "open")


def test_the_caller_is_stored_protected_and_shown_masked(api: TestClient) -> None:
    r = api.post(
        "/api/v1/incidents",
        json={
            "text": "家里被盗",
            "caller_phone": "13812345678",
            "caller_name": "李小红",
            "lat": YULIN[0],
            "lon": YULIN[1],
        },
    )
    assert (r.json()["caller_phone_masked"], r.json()["caller_name_masked"]) == ("138****5678", "李**")
    with db.transaction() as s:
        row = s.execute(select(Incident)).scalar_one()
        assert row.caller_phone is not None and "13812345678" not in row.caller_phone.cipher


def test_coordinates_outside_the_district_are_kept_as_given_and_flagged(api: TestClient) -> None:
    lat, lon = EAST_OF_DISTRICT
    r = api.post("/api/v1/incidents", json={"text": "路边有人晕倒", "lat": lat, "lon": lon})
    assert r.status_code == 201
    body = r.json()
    assert (body["lat"], body["lon"]) == (lat, lon)
    assert body["location_flag"] == "outside_district"
    assert body["location_reasons"][0] == "outside_district"
    assert body["station_code"] is not None  # the nearest station, for a human to confirm


def test_a_second_call_nearby_about_the_same_fight_gets_the_first_suggested(api: TestClient) -> None:
    first = api.post(
        "/api/v1/incidents", json={"category_code": "020201", "lat": YULIN[0], "lon": YULIN[1]}
    ).json()
    lat, lon = YULIN_80M_EAST
    r = api.get(
        "/api/v1/incidents/attach-suggestion", params={"category_code": "020202", "lat": lat, "lon": lon}
    )
    assert r.json()["incident_id"] == first["id"]
    assert r.json()["reasons"][0] == "same_type:0202"


def test_a_call_of_another_type_at_the_same_place_is_not_suggested(api: TestClient) -> None:
    api.post("/api/v1/incidents", json={"category_code": "020201", "lat": YULIN[0], "lon": YULIN[1]})
    r = api.get(
        "/api/v1/incidents/attach-suggestion",
        params={"category_code": "010101", "lat": YULIN[0], "lon": YULIN[1]},
    )
    assert r.json()["incident_id"] is None


def test_an_attached_call_joins_the_open_incident_and_does_not_enter_the_queue(api: TestClient) -> None:
    first = api.post(
        "/api/v1/incidents", json={"category_code": "020201", "lat": YULIN[0], "lon": YULIN[1]}
    ).json()
    r = api.post(
        "/api/v1/incidents",
        json={
            "text": "楼下又打起来了",
            "category_code": "020201",
            "lat": YULIN[0],
            "lon": YULIN[1],
            "disposition": "attached",
            "related_incident_id": first["id"],
        },
    )
    assert r.status_code == 201
    assert (r.json()["status"], r.json()["related_incident_id"]) == ("closed", first["id"])
    queue = api.get("/api/v1/incidents").json()
    assert [i["id"] for i in queue] == [first["id"]]
    assert "call_attached" in [e["kind"] for e in queue[0]["events"]]


def test_a_hoax_needs_its_reason(api: TestClient) -> None:
    r = api.post("/api/v1/incidents", json={"text": "哈哈骗你的", "disposition": "hoax"})
    assert (r.status_code, r.json()["field"]) == (422, "disposition_reason")
    ok = api.post(
        "/api/v1/incidents",
        json={
            "text": "哈哈骗你的",
            "disposition": "hoax",
            "disposition_reason": "caller laughed, admitted a prank",
        },
    )
    assert (ok.status_code, ok.json()["status"]) == (201, "closed")


def test_an_officer_does_not_see_another_station_s_incident(api: TestClient, officer_jtq: User) -> None:
    created = api.post(
        "/api/v1/incidents", json={"text": "电动车被偷", "lat": YULIN[0], "lon": YULIN[1]}
    ).json()
    r = api.get(f"/api/v1/incidents/{created['id']}", headers=bearer(officer_jtq))
    assert r.status_code == 404


def test_an_officer_may_not_take_calls(api: TestClient, officer_yulin: User) -> None:
    r = api.post("/api/v1/incidents", json={"text": "有人打架"}, headers=bearer(officer_yulin))
    assert r.status_code == 403
