"""Accidents: placed on the road graph or flagged, casualties checked, plates protected, the major
alarm, the finding clock, countermeasures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.command.roads import Roads
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.live import Change
from pingan.core.pii import PiiKind, lookup_key
from pingan.core.roles import Actor, Role
from pingan.traffic import live, rules
from pingan.traffic.model import AccidentVehicle
from tests.traffic.conftest import accident_body, on_segment

T = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_an_accident_on_a_street_is_placed_on_that_segment_with_its_distance(
    api: TestClient, grid: Roads
) -> None:
    lat, lon = on_segment(grid, 7)
    r = api.post("/api/v1/traffic/accidents", json=accident_body(lat, lon))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["edge_id"] == int(grid.edge_id[7])
    assert body["snap_flag"] == "snapped" and body["snap_m"] < 1.0
    assert (body["lat"], body["lon"]) == (lat, lon)  # kept as given
    assert body["severity"] == "serious" and body["serious_injuries"] == 1


def test_an_accident_far_from_every_road_is_kept_where_given_and_flagged(
    api: TestClient, grid: Roads
) -> None:
    lat, lon = float(grid.lat.max()) + 0.02, float(grid.lon.max()) + 0.02  # about 2 km off the grid
    r = api.post("/api/v1/traffic/accidents", json=accident_body(lat, lon))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["edge_id"] is None and body["snap_flag"] == "too_far"
    assert body["snap_m"] > 1000 and (body["lat"], body["lon"]) == (lat, lon)
    flagged = api.get("/api/v1/traffic/accidents", params={"flagged": True}).json()
    assert [a["id"] for a in flagged] == [body["id"]]


def test_more_deaths_than_people_gets_422_naming_deaths(api: TestClient, grid: Roads) -> None:
    lat, lon = on_segment(grid, 3)
    body = accident_body(lat, lon, people=[], deaths=3, people_count=2)
    r = api.post("/api/v1/traffic/accidents", json=body)
    assert r.status_code == 422
    assert r.json()["field"] == "deaths"
    assert api.get("/api/v1/traffic/accidents").json() == []


def test_counts_that_disagree_with_the_people_listed_get_422(api: TestClient, grid: Roads) -> None:
    lat, lon = on_segment(grid, 3)
    r = api.post("/api/v1/traffic/accidents", json=accident_body(lat, lon, deaths=1))
    assert r.status_code == 422 and r.json()["field"] == "deaths"


def test_three_deaths_make_a_major_accident_that_the_live_topic_alerts(api: TestClient, grid: Roads) -> None:
    lat, lon = on_segment(grid, 2)
    people = [{"role": "passenger", "injury": "killed", "vehicle_no": 1} for _ in range(3)]
    r = api.post("/api/v1/traffic/accidents", json=accident_body(lat, lon, people=people))
    assert r.status_code == 201, r.text
    accident_id = r.json()["id"]
    assert r.json()["major"] is True and r.json()["severity"] == "fatal"
    with db.read_transaction() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "accident.major")).scalar_one()
        assert entry.object_id == str(accident_id)
        reader = Actor(username="officer_sun", role=Role.TRAFFIC_POLICE)
        messages = live.render(s, reader, [Change(entry.id, "traffic", "accident.major", (accident_id,))])
    assert [m.event for m in messages] == ["major"]
    assert f"/traffic/accidents/{accident_id}" in messages[0].html


def test_two_deaths_are_not_major(api: TestClient, grid: Roads) -> None:
    lat, lon = on_segment(grid, 2)
    people = [{"role": "passenger", "injury": "killed", "vehicle_no": 1} for _ in range(2)]
    r = api.post("/api/v1/traffic/accidents", json=accident_body(lat, lon, people=people))
    assert r.status_code == 201 and r.json()["major"] is False


def test_a_plate_is_stored_protected_and_shown_masked(api: TestClient, grid: Roads) -> None:
    lat, lon = on_segment(grid, 4)
    r = api.post("/api/v1/traffic/accidents", json=accident_body(lat, lon))
    assert r.json()["vehicles"][0]["plate_masked"] == "川A***45"
    assert "川A12345" not in r.text
    with db.read_transaction() as s:
        v = s.execute(
            select(AccidentVehicle).where(
                AccidentVehicle.plate.pseudonym == lookup_key(PiiKind.PLATE, "川A·12345")
            )
        ).scalar_one()
        assert v.plate is not None and "12345" not in v.plate.cipher


def test_a_malformed_plate_gets_422_naming_the_vehicle(api: TestClient, grid: Roads) -> None:
    lat, lon = on_segment(grid, 4)
    body = accident_body(lat, lon, vehicles=[{"kind": "car", "plate": "12345"}, {"kind": "ebike"}])
    r = api.post("/api/v1/traffic/accidents", json=body)
    assert r.status_code == 422 and r.json()["field"] == "vehicles.0.plate"


def test_the_finding_is_due_10_days_after_the_scene_investigation() -> None:
    c = rules.finding_clock(
        scene_investigated_at=T, tests_ordered=False, tests_reported_at=None, finding_issued_at=None,
        now=T + timedelta(days=11),
    )  # fmt: skip
    assert c.deadline == T + timedelta(days=10) and c.overdue and c.reason == "10d_from_scene"


def test_with_tests_ordered_the_finding_is_due_5_days_after_the_results() -> None:
    results = T + timedelta(days=20)
    waiting = rules.finding_clock(
        scene_investigated_at=T, tests_ordered=True, tests_reported_at=None, finding_issued_at=None,
        now=T + timedelta(days=15),
    )  # fmt: skip
    assert waiting.deadline is None and not waiting.overdue
    c = rules.finding_clock(
        scene_investigated_at=T, tests_ordered=True, tests_reported_at=results,
        finding_issued_at=results + timedelta(days=4), now=T + timedelta(days=40),
    )  # fmt: skip
    assert c.deadline == results + timedelta(days=5) and c.done and not c.overdue


def test_a_countermeasure_dated_in_the_future_gets_422(api: TestClient, grid: Roads) -> None:
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    r = api.post(
        "/api/v1/traffic/countermeasures",
        json={"kind": "camera", "edge_id": int(grid.edge_id[0]), "installed_on": future},
    )
    assert r.status_code == 422 and r.json()["field"] == "installed_on"


def test_a_countermeasure_on_a_segment_the_graph_lacks_gets_422(api: TestClient, grid: Roads) -> None:
    r = api.post(
        "/api/v1/traffic/countermeasures",
        json={"kind": "patrol", "edge_id": 999999, "installed_on": "2026-01-05"},
    )
    assert r.status_code == 422 and r.json()["field"] == "edge_id"


def test_a_dispatcher_reads_accidents_but_may_not_record_them(client: TestClient, grid: Roads) -> None:
    from tests.conftest import bearer, make_user

    client.headers.update(bearer(make_user("dispatcher_chen", Role.DISPATCHER)))
    assert client.get("/api/v1/traffic/accidents").status_code == 200
    lat, lon = on_segment(grid, 1)
    assert client.post("/api/v1/traffic/accidents", json=accident_body(lat, lon)).status_code == 403


def test_a_countermeasures_effect_is_an_eb_estimate_with_its_interval_and_method(
    api: TestClient, grid: Roads
) -> None:
    from pingan.traffic import actions
    from pingan.traffic.schemas import AccidentIn

    now = datetime.now(UTC)
    installed = (now - timedelta(days=365)).date()
    # Segment 3: 12 accidents in the three years before, 1 in the year after; 60 elsewhere, spread.
    times = [(3, now - timedelta(days=400 + 60 * i)) for i in range(12)] + [(3, now - timedelta(days=100))]
    times += [
        (k % grid.edge_id.size, now - timedelta(days=20 + 23 * k))
        for k in range(60)
        if k % grid.edge_id.size != 3
    ]
    with db.transaction() as s:
        snapper = actions.Snapper.load(s)
        for k, at in times:
            lat, lon = on_segment(grid, k)
            item = actions.NewAccident(
                accident=AccidentIn.model_validate(accident_body(lat, lon, occurred_at=at.isoformat())),
                actor=Actor.system("test"),
            )
            actions.do_record_accident(s, item, actions.check_record_accident(s, item), snapper=snapper)
    r = api.post(
        "/api/v1/traffic/countermeasures",
        json={"kind": "speed_table", "edge_id": int(grid.edge_id[3]), "installed_on": installed.isoformat()},
    )
    assert r.status_code == 201, r.text
    e = api.get("/api/v1/traffic/effects", params={"kind": "speed_table"}).json()
    assert e["sites"] == 1 and e["observed_after"] == 1
    assert e["theta_low"] <= e["theta"] <= e["theta_high"] and e["theta"] < 1
    assert "Hauer" in e["method"]
    assert e["expected_after"] > e["observed_after"] and e["naive_ratio"] is not None
    assert api.get("/api/v1/traffic/effects", params={"kind": "camera"}).json() is None
