"""Large events on the pages (issue #20 item 5): an event and its zones made from forms (a polygon
pasted as GeoJSON; a bad one refused naming the field), its zones' levels and alerts shown, and the
live map's event mode fed with the running events' zones and drone reports."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import db
from pingan.core.auth import User
from pingan.sensors import jobs
from pingan.sensors.choices import DeviceKind
from pingan.sensors.model import CrowdEvent, CrowdZone
from tests.sensors.conftest import register
from tests.sensors.test_crowd_ingest import COUNT_TOPIC, DRONE_TOPIC, HALL, make_event
from tests.sensors.test_registry_and_alerts import HTML, _browser, _csrf


def test_an_event_and_its_zones_are_made_from_the_page_forms(client: TestClient, dispatcher: User) -> None:
    browser = _browser(client, dispatcher)
    page = browser.get("/sensors/events", headers=HTML).text
    made = browser.post(
        "/sensors/events",
        data={"csrf_token": _csrf(page), "code": "marathon", "name": "成都马拉松",
              "starts_at": "2026-12-20T07:00", "ends_at": "2026-12-20T14:00"},
        headers=HTML, follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303
    event_page = browser.get(made.headers["location"], headers=HTML).text
    assert "成都马拉松" in event_page
    url = made.headers["location"] + "/zones"
    bad = browser.post(url, data={"csrf_token": _csrf(event_page), "code": "start", "name": "起点",
                                  "capacity": "800", "polygon": "[[[104.06,30.63],[104.07,30.63]]]"},
                       headers=HTML)  # fmt: skip
    assert bad.status_code == 422 and "polygon" in bad.text and "at least 4" in bad.text
    not_json = browser.post(url, data={"csrf_token": _csrf(event_page), "code": "start", "name": "起点",
                                       "capacity": "800", "polygon": "{oops"}, headers=HTML)  # fmt: skip
    assert not_json.status_code == 422 and "polygon" in not_json.text
    feature = json.dumps({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": HALL}})
    good = browser.post(url, data={"csrf_token": _csrf(event_page), "code": "start", "name": "起点",
                                   "capacity": "800", "polygon": feature},
                        headers=HTML, follow_redirects=False)  # fmt: skip
    assert good.status_code == 303
    no_fly = browser.post(url, data={"csrf_token": _csrf(event_page), "code": "sky", "name": "禁飞区",
                                     "no_fly": "on", "polygon": str(HALL)}, headers=HTML,
                          follow_redirects=False)  # fmt: skip
    assert no_fly.status_code == 303
    with db.read_transaction() as s:
        event = s.execute(select(CrowdEvent).where(CrowdEvent.code == "marathon")).scalar_one()
        assert event.starts_at.isoformat() == "2026-12-19T23:00:00+00:00"  # 07:00 Beijing time
        zones = s.execute(select(CrowdZone).order_by(CrowdZone.id)).scalars().all()
        assert [(z.code, z.capacity, z.no_fly) for z in zones] == [("start", 800, False), ("sky", 0, True)]


def test_the_map_event_mode_shows_zones_by_level_and_drones(client: TestClient, dispatcher: User) -> None:
    event_id = make_event(capacity=1000)
    counter = register("expo-hall-1", DeviceKind.CROWD_COUNTER, "expo")
    radar = register("radar-1", DeviceKind.DRONE_DETECTOR, "drone")
    jobs.handle(COUNT_TOPIC, counter.raw(1, count=930))
    jobs.handle(DRONE_TOPIC, radar.raw(1, lat=30.64, lon=104.07))
    browser = _browser(client, dispatcher)
    features = browser.get("/sensors/events.geojson").json()["features"]
    shown = {(f["properties"]["kind"], f["properties"].get("level"), f["geometry"]["type"]) for f in features}
    assert shown == {("zone", "control", "Polygon"), ("no_fly", "none", "Polygon"), ("drone", None, "Point")}
    page = browser.get(f"/sensors/events/{event_id}", headers=HTML).text
    assert "930" in page and "control" in page
    assert 'id="event-mode"' in browser.get("/command/map", headers=HTML).text
