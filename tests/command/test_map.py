"""The live map's data: GeoJSON within the filters and the reader's station, never the caller; its
CSV export honours the filters and is audited; MapLibre comes from our own origin; the `map`
live topic tells a map reader that an incident changed."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.command import map as command_map
from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.live import Change
from pingan.sim.geography import district_stations
from tests.command.conftest import T0, YULIN, actor_of, add_unit, take_call
from tests.conftest import bearer

HTML = {"Accept": "text/html,application/xhtml+xml"}
PHONE = "13812345678"


def _centre(code: str) -> tuple[float, float]:
    st = next(s for s in district_stations() if s.code == code)
    return st.lat, st.lon


def _ids(body: dict[str, object]) -> set[int]:
    features = body["features"]
    assert isinstance(features, list)
    return {f["properties"]["id"] for f in features}


def test_the_geojson_holds_only_incidents_inside_the_filters_and_no_caller(
    client: TestClient, dispatcher: User
) -> None:
    with clock.frozen(T0):
        old = take_call(text="有人持刀抢劫", category_code="010201", lat=YULIN[0], lon=YULIN[1])
    with clock.frozen(T0 + timedelta(hours=30)):
        theft = take_call(
            text="电动车被偷了",
            category_code="010103",
            lat=YULIN[0],
            lon=YULIN[1],
            caller_phone=PHONE,
            caller_name="张三",
        )
        noise = take_call(text="楼上装修太吵", category_code="020302", lat=YULIN[0], lon=YULIN[1])
        elsewhere = take_call(
            text="电动车被偷了", category_code="010103", lat=_centre("WH-JTQ")[0], lon=_centre("WH-JTQ")[1]
        )
    client.headers.update(bearer(dispatcher))
    with clock.frozen(T0 + timedelta(hours=31)):
        day = client.get("/command/map/incidents.geojson?window=24")
        thefts = client.get("/command/map/incidents.geojson?window=24&category=01")
        yulin_thefts = client.get("/command/map/incidents.geojson?window=24&category=0101&station=WH-YL")
        urgent = client.get("/command/map/incidents.geojson?window=72&priority=1")
    assert day.status_code == 200 and day.headers["content-type"].startswith("application/geo+json")
    assert _ids(day.json()) == {theft, noise, elsewhere}  # the robbery 31 h ago is outside the day
    assert _ids(thefts.json()) == {theft, elsewhere}
    assert _ids(yulin_thefts.json()) == {theft}
    assert _ids(urgent.json()) == {old}
    feature = next(f for f in day.json()["features"] if f["properties"]["id"] == theft)
    assert feature["geometry"] == {"type": "Point", "coordinates": [YULIN[1], YULIN[0]]}
    assert feature["properties"]["received"] == "12-01 15:00:00 Beijing time"  # 07:00 UTC
    assert "5678" not in day.text and "张" not in day.text and "caller" not in day.text


def test_a_filter_the_map_does_not_know_is_refused_naming_its_field(
    client: TestClient, dispatcher: User
) -> None:
    client.headers.update(bearer(dispatcher))
    for query, field in (("window=5", "window"), ("category=9999", "category"), ("priority=7", "priority")):
        answer = client.get(f"/command/map/incidents.geojson?{query}")
        assert answer.status_code == 422, query
        assert field in answer.text


def test_after_a_live_event_the_map_reads_only_the_incidents_and_units_it_names(
    client: TestClient, dispatcher: User
) -> None:
    theft = take_call(text="电动车被偷了", category_code="010103", lat=YULIN[0], lon=YULIN[1])
    noise = take_call(text="楼上装修太吵", category_code="020302", lat=YULIN[0], lon=YULIN[1])
    add_unit("YL-01", "WH-YL")
    add_unit("YL-02", "WH-YL")
    with db.transaction() as s:
        from pingan.command.model import Unit

        for u in s.execute(select(Unit)).scalars():
            u.lat, u.lon = YULIN
    client.headers.update(bearer(dispatcher))
    named = client.get(f"/command/map/incidents.geojson?window=24&ids={theft}").json()
    outside = client.get(f"/command/map/incidents.geojson?window=24&category=02&ids={theft}").json()
    units = client.get("/command/map/units.geojson").json()
    first = min(_ids(units))
    one_unit = client.get(f"/command/map/units.geojson?ids={first}").json()
    assert _ids(named) == {theft} and noise not in _ids(named)
    assert outside["features"] == []  # the theft has left a filter for disputes: the map drops it
    assert _ids(one_unit) == {first} and len(units["features"]) == 2
    too_many = "&".join(f"ids={i}" for i in range(1, command_map.MAX_IDS + 2))
    for query in ("ids=0", "ids=x", too_many):
        answer = client.get(f"/command/map/incidents.geojson?{query}")
        assert answer.status_code == 422 and "ids" in answer.text, query[:20]


def test_an_officer_sees_only_their_stations_incidents_and_units_on_the_map(
    client: TestClient, officer_yulin: User
) -> None:
    mine = take_call(text="电动车被偷了", category_code="010103", lat=YULIN[0], lon=YULIN[1])
    theirs = take_call(
        text="电动车被偷了", category_code="010103", lat=_centre("WH-JTQ")[0], lon=_centre("WH-JTQ")[1]
    )
    add_unit("YL-01", "WH-YL")
    add_unit("JTQ-01", "WH-JTQ")
    with db.transaction() as s:
        from pingan.command.model import Unit

        for u in s.execute(select(Unit)).scalars():
            u.lat, u.lon = YULIN
    client.headers.update(bearer(officer_yulin))
    incidents = client.get("/command/map/incidents.geojson").json()
    asked_for_theirs = client.get("/command/map/incidents.geojson?station=WH-JTQ").json()
    units = client.get("/command/map/units.geojson").json()
    assert _ids(incidents) == {mine} and theirs not in _ids(incidents)
    assert asked_for_theirs["features"] == []
    assert [f["properties"]["call_sign"] for f in units["features"]] == ["YL-01"]


def test_the_station_areas_are_the_maps_base_layer(client: TestClient, dispatcher: User) -> None:
    client.headers.update(bearer(dispatcher))
    body = client.get("/command/map/stations.geojson").json()
    assert len(body["features"]) == len(district_stations())
    assert {f["geometry"]["type"] for f in body["features"]} == {"Polygon"}


def test_the_csv_export_honours_the_filters_and_is_audited(client: TestClient, dispatcher: User) -> None:
    theft = take_call(
        text="电动车被偷了", category_code="010103", lat=YULIN[0], lon=YULIN[1], caller_phone=PHONE
    )
    take_call(text="楼上装修太吵", category_code="020302", lat=YULIN[0], lon=YULIN[1])
    no_place = take_call(text="手机被偷了", category_code="010102")
    client.headers.update(bearer(dispatcher))
    answer = client.get("/command/map/export.csv?category=0101&station=")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert {int(r[0]) for r in rows[1:]} == {theft, no_place}  # a call with no coordinates is listed too
    assert PHONE[-4:] not in answer.text
    with db.transaction() as s:
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "incident.export").order_by(AuditEntry.id.desc())
        ).scalar_one()
    detail = json.loads(entry.detail)
    assert entry.actor == dispatcher.username
    assert detail["filters"]["category"] == "0101" and detail["rows"] == 2 and detail["format"] == "csv"


def test_the_map_page_loads_maplibre_from_our_own_origin(client: TestClient, dispatcher: User) -> None:
    client.headers.update(bearer(dispatcher))
    page = client.get("/command/map?category=0101", headers=HTML)
    assert page.status_code == 200
    assert 'id="command-map"' in page.text
    assert 'href="/static/vendor/maplibre-gl/maplibre-gl.mjs"' in page.text
    assert 'data-incidents="/command/map/incidents.geojson?window=24&amp;category=0101"' in page.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)  # nothing from elsewhere
    script = client.get("/static/command-map.js").text
    assert 'from "/static/vendor/maplibre-gl/maplibre-gl.mjs"' in script and "http" not in script
    library = client.get("/static/vendor/maplibre-gl/maplibre-gl.mjs")
    if library.status_code == 404:
        pytest.skip("node_modules not installed (make assets)")
    assert library.headers["content-type"].startswith("application/javascript")
    assert client.get("/static/vendor/maplibre-gl/maplibre-gl-worker.mjs").status_code == 200
    assert client.get("/static/vendor/maplibre-gl/package.json").status_code == 404


def test_the_big_screen_shows_the_days_key_figures(client: TestClient, dispatcher: User) -> None:
    with clock.frozen(T0 - timedelta(hours=12)):  # the day before in Beijing time
        take_call(text="楼上装修太吵", category_code="020302", lat=YULIN[0], lon=YULIN[1])
    with clock.frozen(T0):
        take_call(text="电动车被偷了", category_code="010103", lat=YULIN[0], lon=YULIN[1])
        take_call(text="电动车被偷了", category_code="010103", lat=YULIN[0], lon=YULIN[1])
    add_unit("YL-01")
    client.headers.update(bearer(dispatcher))
    with clock.frozen(T0 + timedelta(minutes=5)):
        figures = client.get("/command/bigscreen/figures.json").json()
        page = client.get("/command/bigscreen", headers=HTML)
    assert figures["calls_today"] == 2 and figures["open_incidents"] == 3
    assert (figures["units_available"], figures["units_busy"]) == (1, 0)
    assert figures["sign_off_pct"] == 0.0 and figures["sign_off_of"] == 2  # nobody signed off in 30 s
    assert page.status_code == 200
    assert "/static/vendor/echarts.min.js" in page.text and 'id="command-map"' in page.text


def test_the_map_topic_names_the_changed_incidents_within_the_readers_view(
    client: TestClient, officer_yulin: User
) -> None:
    mine = take_call(text="电动车被偷了", category_code="010103", lat=YULIN[0], lon=YULIN[1])
    theirs = take_call(
        text="电动车被偷了", category_code="010103", lat=_centre("WH-JTQ")[0], lon=_centre("WH-JTQ")[1]
    )
    actor = actor_of(officer_yulin)
    with db.transaction() as s:
        mine_msg = command_map.render_change(s, actor, [Change(1, "map", "incident.take_call", (mine,))])
        theirs_msg = command_map.render_change(s, actor, [Change(2, "map", "incident.take_call", (theirs,))])
    assert [(m.event, json.loads(m.html)) for m in mine_msg] == [("map", {"incidents": [mine], "units": []})]
    assert theirs_msg == []
    assert command_map.TOPIC.watches("incident.take_call") and not command_map.TOPIC.watches("incident.list")
