"""The page forms to record an accident and a countermeasure: a refusal comes back on the form with
the field named and what was typed kept; an accident far from any road is recorded and flagged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.command.roads import Roads
from pingan.core import db
from pingan.core.auth import User
from pingan.traffic.choices import SnapFlag
from pingan.traffic.model import Accident, Countermeasure
from tests.traffic.conftest import on_segment
from tests.traffic.test_racing import HTML, browser, csrf

BEIJING = ZoneInfo("Asia/Shanghai")


def accident_form(b: TestClient, lat: float, lon: float, **extra: str) -> dict[str, Any]:
    page = b.get("/traffic/accidents/new", headers=HTML)
    assert page.status_code == 200
    form = {
        "csrf_token": csrf(page.text),
        "occurred_at": (datetime.now(BEIJING) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "lat": str(lat),
        "lon": str(lon),
        "address": "二环路南四段",
        "collision": "head_on",
        "weather": "fine",
        "lighting": "daylight",
        "surface": "dry",
        "vehicle_1_kind": "car",
        "vehicle_1_plate": "川A12345",
        "vehicle_2_kind": "tricycle",
        "people_count": "3",
        "deaths": "1",
        "serious_injuries": "1",
        "slight_injuries": "0",
    }
    form.update(extra)
    return form


def accidents() -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(Accident)).scalar_one())


def test_an_accident_recorded_on_the_form_lands_on_its_segment(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    lat, lon = on_segment(grid, 5)
    r = b.post("/traffic/accidents", data=accident_form(b, lat, lon), headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    shown = b.get(r.headers["location"], headers=HTML).text
    assert "川A***45" in shown and "川A12345" not in shown and "head-on" in shown
    with db.transaction() as s:
        a = s.execute(select(Accident)).scalar_one()
        assert a.edge_id == int(grid.edge_id[5]) and a.deaths == 1 and len(a.vehicles) == 2


def test_more_deaths_than_people_comes_back_naming_deaths_with_the_form_kept(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    lat, lon = on_segment(grid, 5)
    r = b.post(
        "/traffic/accidents", data=accident_form(b, lat, lon, people_count="1", deaths="2"), headers=HTML
    )
    assert r.status_code == 422 and 'role="alert"' in r.text and "deaths" in r.text
    assert "二环路南四段" in r.text and accidents() == 0


def test_a_malformed_plate_and_a_bad_number_come_back_naming_the_field(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    lat, lon = on_segment(grid, 5)
    plate = b.post("/traffic/accidents", data=accident_form(b, lat, lon, vehicle_1_plate="XYZ"), headers=HTML)
    assert plate.status_code == 422 and "vehicles.0.plate" in plate.text
    number = b.post("/traffic/accidents", data=accident_form(b, lat, lon, deaths="two"), headers=HTML)
    assert number.status_code == 422 and "deaths" in number.text
    lat_bad = b.post("/traffic/accidents", data=accident_form(b, 123.0, lon), headers=HTML)
    assert lat_bad.status_code == 422 and "lat" in lat_bad.text
    assert accidents() == 0


def test_an_accident_far_from_any_road_is_recorded_and_flagged_not_refused(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    lat, lon = on_segment(grid, 5)
    r = b.post(
        "/traffic/accidents", data=accident_form(b, lat + 0.05, lon), headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303
    with db.transaction() as s:
        a = s.execute(select(Accident)).scalar_one()
        assert a.edge_id is None and a.snap_flag is SnapFlag.TOO_FAR
    assert "far from any road: place it" in b.get("/traffic", headers=HTML).text


def test_a_countermeasure_dated_in_the_future_comes_back_naming_the_field(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    page = b.get("/traffic/countermeasures/new", headers=HTML)
    assert page.status_code == 200
    tomorrow = (datetime.now(BEIJING) + timedelta(days=2)).date().isoformat()
    form = {
        "csrf_token": csrf(page.text),
        "kind": "camera",
        "edge_id": str(int(grid.edge_id[3])),
        "installed_on": tomorrow,
    }
    r = b.post("/traffic/countermeasures", data=form, headers=HTML)
    assert r.status_code == 422 and 'role="alert"' in r.text and "installed_on" in r.text
    last_week = (datetime.now(BEIJING) - timedelta(days=7)).date().isoformat()
    ok = b.post(
        "/traffic/countermeasures",
        data={**form, "installed_on": last_week},
        headers=HTML,
        follow_redirects=False,
    )
    assert ok.status_code == 303
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(Countermeasure)).scalar_one() == 1


def test_a_dispatcher_may_not_open_the_accident_form(client: TestClient, dispatcher_chen: User) -> None:
    r = browser(client, dispatcher_chen).get("/traffic/accidents/new", headers=HTML)
    assert r.status_code == 403


def test_a_segment_is_picked_by_its_road_then_between_its_cross_streets(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    # The grid's first east-west street is 纬1大道; the north-south ones are 经1大道 to 经6路.
    # Natural order (纬2街 before 纬10街), the name typed in full first, then those beginning with it.
    assert b.get("/traffic/roads", params={"q": "纬"}).json()["roads"][:3] == ["纬1大道", "纬2街", "纬3街"]
    assert b.get("/traffic/roads", params={"q": "纬3街"}).json()["roads"] == ["纬3街"]
    assert b.get("/traffic/roads", params={"q": "1大"}).json() == {"roads": ["纬1大道", "经1大道"]}
    assert b.get("/traffic/roads", params={"q": "%"}).json() == {"roads": []}, (
        "% is a character, not a wildcard"
    )
    assert b.get("/traffic/roads", params={"q": "  "}).json() == {"roads": []}
    segments = b.get("/traffic/roads/segments", params={"road": "纬1大道"}).json()["segments"]
    assert [s["edge_id"] for s in segments] == [1, 2, 3, 4, 5], "west to east along the street"
    assert segments[1]["place"] == "纬1大道 between 经2街 and 经3街"
    unknown = b.get("/traffic/roads/segments", params={"road": "人民南路"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "road"


def test_the_black_spot_link_opens_the_countermeasure_form_at_its_segment(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    page = b.get("/traffic/countermeasures/new", params={"edge_id": 2}, headers=HTML)
    assert page.status_code == 200
    assert 'name="edge_id" value="2"' in page.text and "纬1大道 between 经2街 and 经3街" in page.text
    assert 'class="segment-picker"' in page.text and "/static/segment-picker.js" in page.text
    assert 'data-road value="纬1大道"' in page.text, "the picker opens on the segment's road"
    assert b.get("/traffic/countermeasures/new", params={"edge_id": "x"}, headers=HTML).status_code == 422
