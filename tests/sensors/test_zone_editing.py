"""Editing, retiring and deleting a large event's zones (issue #20 item 5), and the telemetry that
reaches open pages live without an audit entry per reading.

- A dispatcher or supervisor edits a zone's name, polygon, capacity and thresholds, over the API and
  on the zone's page, through one write path (`check_update_zone`, `do_update_zone`, audited
  `crowd.zone_update` with before and after). Another role is a 403, a bad polygon or thresholds out
  of order a 422 naming the field, a retired zone a 409.
- A zone is retired with a note (`crowd.zone_retire`): kept with its alerts' history, off the map,
  its counts refused as `zone_retired` and counted, drones in it raising nothing. A zone with an
  active alert is not retired (409) until the alert is closed.
- Only a zone that never raised an alert is deleted (`crowd.zone_delete`); one with a history is a
  409: retire it instead.
- A count or a drone's later report pulses its event once per ingest batch (`core/pulse.py`), and the
  live poller sends an event at most once a second, the last pulse always.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.core import db, live
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.pulse import LivePulse
from pingan.core.roles import Actor, Role
from pingan.sensors import actions, jobs, queries
from pingan.sensors import live as sensors_live
from pingan.sensors.choices import DeviceKind, Refusal
from pingan.sensors.model import CrowdAlert, CrowdZone, DeadLetter
from tests.conftest import bearer, make_user
from tests.sensors.conftest import Registered, register
from tests.sensors.test_crowd_ingest import COUNT_TOPIC, DRONE_TOPIC, HALL, make_event
from tests.sensors.test_registry_and_alerts import HTML, _browser, _csrf
from tests.web.test_live import LiveServer, server  # noqa: F401 - the app under uvicorn

# Hall 1 moved one street east, as a gate opened.
HALL_EAST = [[[104.07, 30.63], [104.08, 30.63], [104.08, 30.64], [104.07, 30.64], [104.07, 30.63]]]


@pytest.fixture
def expo_event(district: None) -> int:
    """The expo (西博会), running now: crowd zone `hall-1` of 1,000 people and no-fly zone `sky`."""
    return make_event()


@pytest.fixture
def hall_counter(expo_event: int) -> Registered:
    return register("expo-hall-1", DeviceKind.CROWD_COUNTER, "expo", location="一号馆入口")


@pytest.fixture
def sky_radar(expo_event: int) -> Registered:
    return register("radar-1", DeviceKind.DRONE_DETECTOR, "drone", lat=30.635, lon=104.065)


def _zone_id(code: str) -> int:
    with db.read_transaction() as s:
        return int(s.execute(select(CrowdZone.id).where(CrowdZone.code == code)).scalar_one())


def _zone(code: str) -> CrowdZone:
    with db.read_transaction() as s:
        return s.execute(select(CrowdZone).where(CrowdZone.code == code)).scalar_one()


def _audited(action: str) -> list[dict[str, Any]]:
    with db.read_transaction() as s:
        rows = s.execute(select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id))
        return [json.loads(d) for d in rows.scalars()]


def _close_all_alerts(actor: Actor) -> None:
    with db.transaction() as s:
        for alert in s.execute(select(CrowdAlert)).scalars():
            item = actions.EventAlertClosing(alert=alert, reason="resolved", note="人流回落", actor=actor)
            actions.check_close_event_alert(item)
            actions.do_close_event_alert(s, item, now=alert.raised_at)


# ---------------------------------------------------------------------------------------------- API


def test_a_dispatcher_edits_a_zones_name_polygon_capacity_and_thresholds_and_it_is_audited(
    client: TestClient, dispatcher: User, expo_event: int
) -> None:
    hall = _zone_id("hall-1")
    change = {
        "name": "一号馆（扩）",
        "polygon": HALL_EAST,
        "capacity": 1500,
        "watch_pct": 60,
        "control_pct": 85,
    }
    r = client.patch(f"/api/v1/sensors/zones/{hall}", json=change, headers=bearer(dispatcher))
    assert r.status_code == 200, r.text
    shown = r.json()
    assert (shown["name"], shown["polygon"], shown["capacity"]) == ("一号馆（扩）", HALL_EAST, 1500)
    assert (shown["watch_pct"], shown["control_pct"], shown["over_pct"]) == (60, 85, 100)
    [entry] = _audited(actions.ZONE_UPDATE_ACTION)
    assert entry["changed"]["polygon"] == [HALL, HALL_EAST]  # the area watched before stays on record
    assert entry["changed"]["capacity"] == [1000, 1500] and "over_pct" not in entry["changed"]


def test_a_supervisor_may_edit_a_zone_too(client: TestClient, supervisor_liu: User, expo_event: int) -> None:
    r = client.patch(f"/api/v1/sensors/zones/{_zone_id('sky')}", json={"name": "禁飞区（扩）"},
                     headers=bearer(supervisor_liu))  # fmt: skip
    assert r.status_code == 200 and r.json()["name"] == "禁飞区（扩）"


@pytest.mark.parametrize("role", [Role.OFFICER, Role.ADMIN, Role.AUDITOR])
def test_a_role_outside_the_command_centre_may_not_edit_retire_or_delete_a_zone(
    client: TestClient, expo_event: int, role: Role
) -> None:
    user = make_user(f"user_{role.value}", role, station_code="WH-YL" if role is Role.OFFICER else None)
    hall = _zone_id("hall-1")
    assert (
        client.patch(f"/api/v1/sensors/zones/{hall}", json={"name": "x"}, headers=bearer(user)).status_code
        == 403
    )
    retire = client.post(f"/api/v1/sensors/zones/{hall}/retire", json={"note": "x"}, headers=bearer(user))
    assert retire.status_code == 403
    assert client.delete(f"/api/v1/sensors/zones/{hall}", headers=bearer(user)).status_code == 403
    assert _zone("hall-1").name == "一号馆" and _zone("hall-1").retired_at is None


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"polygon": [[HALL[0][0], HALL[0][1], HALL[0][1], HALL[0][0]]]}, "polygon", "3 distinct"),
        ({"polygon": [HALL[0][:-1]]}, "polygon", "not closed"),
        ({"watch_pct": 95}, "control_pct", "above watch"),
        ({"over_pct": 80}, "over_pct", "above control"),
        ({"watch_pct": 0}, "watch_pct", "greater than or equal"),
        ({"capacity": 0}, "capacity", "greater than or equal"),
    ],
)
def test_a_bad_edit_is_refused_naming_the_field_and_nothing_changes(
    client: TestClient, dispatcher: User, expo_event: int, change: dict[str, Any], field: str, says: str
) -> None:
    r = client.patch(f"/api/v1/sensors/zones/{_zone_id('hall-1')}", json=change, headers=bearer(dispatcher))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and says in r.text
    hall = _zone("hall-1")
    assert json.loads(hall.polygon) == HALL and hall.thresholds == (70, 90, 100)
    assert _audited(actions.ZONE_UPDATE_ACTION) == []


def test_a_no_fly_zone_has_no_capacity_to_edit(client: TestClient, dispatcher: User, expo_event: int) -> None:
    r = client.patch(
        f"/api/v1/sensors/zones/{_zone_id('sky')}", json={"capacity": 10}, headers=bearer(dispatcher)
    )
    assert r.status_code == 422 and r.json()["field"] == "capacity"


def test_a_retired_zone_cannot_be_edited_or_retired_again(
    client: TestClient, dispatcher: User, expo_event: int
) -> None:
    hall = _zone_id("hall-1")
    retired = client.post(f"/api/v1/sensors/zones/{hall}/retire", json={"note": "一号馆关闭"},
                          headers=bearer(dispatcher))  # fmt: skip
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired_by"] == "dispatcher_chen" and retired.json()["retire_note"] == "一号馆关闭"
    edit = client.patch(f"/api/v1/sensors/zones/{hall}", json={"name": "x"}, headers=bearer(dispatcher))
    assert edit.status_code == 409 and "retired" in edit.text
    again = client.post(
        f"/api/v1/sensors/zones/{hall}/retire", json={"note": "x"}, headers=bearer(dispatcher)
    )
    assert again.status_code == 409


def test_a_zone_is_retired_only_with_a_note(client: TestClient, dispatcher: User, expo_event: int) -> None:
    r = client.post(f"/api/v1/sensors/zones/{_zone_id('hall-1')}/retire", json={"note": ""},
                    headers=bearer(dispatcher))  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "note"


def test_a_zone_with_an_active_alert_is_retired_only_once_the_alert_is_closed(
    client: TestClient, dispatcher: User, hall_counter: Registered
) -> None:
    jobs.handle(COUNT_TOPIC, hall_counter.raw(1, count=930))
    hall = _zone_id("hall-1")
    refused = client.post(
        f"/api/v1/sensors/zones/{hall}/retire", json={"note": "闭馆"}, headers=bearer(dispatcher)
    )
    assert refused.status_code == 409 and "1 active alert" in refused.text
    _close_all_alerts(Actor(username="dispatcher_chen", role=Role.DISPATCHER, user_id=dispatcher.id))
    done = client.post(
        f"/api/v1/sensors/zones/{hall}/retire", json={"note": "闭馆"}, headers=bearer(dispatcher)
    )
    assert done.status_code == 200
    assert [d["note"] for d in _audited(actions.ZONE_RETIRE_ACTION)] == ["闭馆"]


def test_a_retired_zone_leaves_the_map_and_its_counts_are_refused_and_counted(
    client: TestClient, dispatcher: User, hall_counter: Registered
) -> None:
    hall = _zone_id("hall-1")
    client.post(f"/api/v1/sensors/zones/{hall}/retire", json={"note": "闭馆"}, headers=bearer(dispatcher))
    result = jobs.handle(COUNT_TOPIC, hall_counter.raw(1, count=1200))
    assert not result.accepted and result.refusal is Refusal.ZONE_RETIRED
    with db.read_transaction() as s:
        assert s.execute(select(func.count()).select_from(CrowdAlert)).scalar_one() == 0
        assert s.execute(select(DeadLetter.reason)).scalars().all() == [Refusal.ZONE_RETIRED]
    assert _zone("hall-1").last_count is None  # not stored: nobody watches it
    assert 'pingan_sensor_messages_refused_total{reason="zone_retired"} 1.0' in client.get("/metrics").text
    features = client.get("/sensors/events.geojson", headers=bearer(dispatcher)).json()["features"]
    assert [f["properties"]["code"] for f in features] == ["sky"]
    shown = client.get(f"/api/v1/sensors/events/{hall_counter and _zone('hall-1').event_id}",
                       headers=bearer(dispatcher)).json()  # fmt: skip
    assert [z["retired_at"] is not None for z in shown["zones"]] == [True, False]  # kept, marked


def test_a_drone_in_a_retired_no_fly_zone_raises_nothing(
    client: TestClient, dispatcher: User, sky_radar: Registered
) -> None:
    client.post(f"/api/v1/sensors/zones/{_zone_id('sky')}/retire", json={"note": "禁飞解除"},
                headers=bearer(dispatcher))  # fmt: skip
    result = jobs.handle(DRONE_TOPIC, sky_radar.raw(1, lat=30.63, lon=104.055))
    assert result.accepted and result.alert_id is None


def test_a_zone_with_alerts_in_its_history_is_retired_not_deleted(
    client: TestClient, dispatcher: User, hall_counter: Registered
) -> None:
    jobs.handle(COUNT_TOPIC, hall_counter.raw(1, count=930))
    _close_all_alerts(Actor(username="dispatcher_chen", role=Role.DISPATCHER, user_id=dispatcher.id))
    r = client.delete(f"/api/v1/sensors/zones/{_zone_id('hall-1')}", headers=bearer(dispatcher))
    assert r.status_code == 409 and "retire it instead" in r.text
    assert _zone("hall-1") is not None


def test_a_zone_that_never_raised_an_alert_is_deleted_and_the_audit_keeps_what_it_was(
    client: TestClient, dispatcher: User, expo_event: int
) -> None:
    r = client.delete(f"/api/v1/sensors/zones/{_zone_id('hall-1')}", headers=bearer(dispatcher))
    assert r.status_code == 204
    with db.read_transaction() as s:
        assert s.execute(select(CrowdZone.code)).scalars().all() == ["sky"]
    [entry] = _audited(actions.ZONE_DELETE_ACTION)
    assert entry["code"] == "hall-1" and entry["polygon"] == HALL and entry["capacity"] == 1000
    assert (
        client.delete(
            f"/api/v1/sensors/zones/{_zone_id('sky') + 100}", headers=bearer(dispatcher)
        ).status_code
        == 404
    )


def test_a_higher_capacity_lowers_the_level_at_once_and_a_lower_one_raises_at_the_next_count(
    client: TestClient, dispatcher: User, hall_counter: Registered
) -> None:
    jobs.handle(COUNT_TOPIC, hall_counter.raw(1, count=930))  # 93 %: control
    hall = _zone_id("hall-1")
    client.patch(f"/api/v1/sensors/zones/{hall}", json={"capacity": 1200}, headers=bearer(dispatcher))
    assert _zone("hall-1").level == "watch"  # 77.5 %: lowered quietly, as a falling count lowers it
    client.patch(f"/api/v1/sensors/zones/{hall}", json={"capacity": 900}, headers=bearer(dispatcher))
    assert _zone("hall-1").level == "watch"  # an edit raises nothing by itself
    result = jobs.handle(COUNT_TOPIC, hall_counter.raw(2, count=930))  # 103 % of 900
    assert result.alert_id is not None
    with db.read_transaction() as s:
        assert s.get(CrowdAlert, result.alert_id).level == "over"  # type: ignore[union-attr]


def test_a_zone_graded_by_its_own_thresholds(
    client: TestClient, dispatcher: User, hall_counter: Registered
) -> None:
    client.patch(f"/api/v1/sensors/zones/{_zone_id('hall-1')}", json={"watch_pct": 50, "control_pct": 60,
                                                                      "over_pct": 80}, headers=bearer(dispatcher))  # fmt: skip
    result = jobs.handle(COUNT_TOPIC, hall_counter.raw(1, count=650))
    with db.read_transaction() as s:
        assert s.get(CrowdAlert, result.alert_id).level == "control"  # type: ignore[union-attr,arg-type]


# -------------------------------------------------------------------------------------------- pages


def test_a_zone_added_from_the_event_page_gets_its_own_thresholds(
    client: TestClient, dispatcher: User, expo_event: int
) -> None:
    browser = _browser(client, dispatcher)
    page = browser.get(f"/sensors/events/{expo_event}", headers=HTML).text
    form = {"csrf_token": _csrf(page), "code": "hall-2", "name": "二号馆", "capacity": "800",
            "polygon": json.dumps(HALL_EAST), "watch_pct": "60", "control_pct": "80", "over_pct": "95"}  # fmt: skip
    bad = browser.post(
        f"/sensors/events/{expo_event}/zones", data={**form, "control_pct": "50"}, headers=HTML
    )
    assert bad.status_code == 422 and "control_pct" in bad.text and 'value="50"' in bad.text
    done = browser.post(
        f"/sensors/events/{expo_event}/zones", data=form, headers=HTML, follow_redirects=False
    )
    assert done.status_code == 303
    assert _zone("hall-2").thresholds == (60, 80, 95)


def test_the_zone_page_edits_the_zone_through_the_same_write_path(
    client: TestClient, dispatcher: User, expo_event: int
) -> None:
    browser = _browser(client, dispatcher)
    event_page = browser.get(f"/sensors/events/{expo_event}", headers=HTML).text
    hall = _zone_id("hall-1")
    assert f'href="/sensors/zones/{hall}"' in event_page
    page = browser.get(f"/sensors/zones/{hall}", headers=HTML).text
    assert 'id="zone-draw-map"' in page and 'value="1000"' in page
    form = {"csrf_token": _csrf(page), "name": "一号馆（扩）", "capacity": "1500", "watch_pct": "70",
            "control_pct": "90", "over_pct": "100", "polygon": json.dumps({"type": "Polygon", "coordinates": HALL_EAST})}  # fmt: skip
    bad = browser.post(f"/sensors/zones/{hall}", data={**form, "over_pct": "85"}, headers=HTML)
    assert bad.status_code == 422 and "over_pct" in bad.text and 'value="85"' in bad.text  # kept
    thin = [[HALL[0][0], HALL[0][1], HALL[0][1], HALL[0][0]]]
    bad = browser.post(f"/sensors/zones/{hall}", data={**form, "polygon": json.dumps(thin)}, headers=HTML)
    assert bad.status_code == 422 and "polygon" in bad.text and "3 distinct" in bad.text
    done = browser.post(f"/sensors/zones/{hall}", data=form, headers=HTML, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/sensors/events/{expo_event}"
    assert json.loads(_zone("hall-1").polygon) == HALL_EAST and _zone("hall-1").capacity == 1500
    assert len(_audited(actions.ZONE_UPDATE_ACTION)) == 1


def test_the_zone_page_retires_a_zone_which_then_shows_as_retired_and_refuses_edits(
    client: TestClient, dispatcher: User, expo_event: int
) -> None:
    browser = _browser(client, dispatcher)
    hall = _zone_id("hall-1")
    page = browser.get(f"/sensors/zones/{hall}", headers=HTML).text
    no_note = browser.post(
        f"/sensors/zones/{hall}/retire", data={"csrf_token": _csrf(page), "note": " "}, headers=HTML
    )
    assert no_note.status_code == 422 and "note" in no_note.text
    done = browser.post(f"/sensors/zones/{hall}/retire", data={"csrf_token": _csrf(page), "note": "一号馆关闭"},
                        headers=HTML, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    event_page = browser.get(f"/sensors/events/{expo_event}", headers=HTML).text
    watched, retired = event_page.split('id="zones-retired"')
    assert "一号馆关闭" in retired and f'data-zone-id="{hall}"' not in watched.split('id="event-alerts"')[0]
    edit = browser.post(f"/sensors/zones/{hall}", data={"csrf_token": _csrf(page), "name": "x"}, headers=HTML)
    assert edit.status_code == 409 and _zone("hall-1").name == "一号馆"


def test_the_zone_page_deletes_a_zone_without_history(
    client: TestClient, dispatcher: User, expo_event: int
) -> None:
    browser = _browser(client, dispatcher)
    sky = _zone_id("sky")
    page = browser.get(f"/sensors/zones/{sky}", headers=HTML).text
    assert 'id="zone-delete-form"' in page
    done = browser.post(f"/sensors/zones/{sky}/delete", data={"csrf_token": _csrf(page)}, headers=HTML,
                        follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and _audited(actions.ZONE_DELETE_ACTION)[0]["code"] == "sky"


def test_the_zone_page_is_refused_to_a_role_that_may_not_edit(client: TestClient, expo_event: int) -> None:
    admin = make_user("admin_he", Role.ADMIN)
    browser = _browser(client, admin)
    hall = _zone_id("hall-1")
    assert browser.get(f"/sensors/zones/{hall}", headers=HTML).status_code == 403
    page = browser.get("/me/settings", headers=HTML).text
    r = browser.post(
        f"/sensors/zones/{hall}/retire", data={"csrf_token": _csrf(page), "note": "x"}, headers=HTML
    )
    assert r.status_code == 403 and _zone("hall-1").retired_at is None


# --------------------------------------------------------------------------------------------- live


def _pulses() -> list[tuple[str, int]]:
    with db.read_transaction() as s:
        return [(t, k) for t, k in s.execute(select(LivePulse.topic, LivePulse.key).order_by(LivePulse.id))]


def test_counts_and_a_drones_later_reports_pulse_their_event_once_per_batch_with_no_audit_entry(
    expo_event: int, hall_counter: Registered, sky_radar: Registered
) -> None:
    with db.read_transaction() as s:
        audited_before = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    pulsed_before = len(_pulses())  # the zones added pulsed the event too
    jobs.handle(DRONE_TOPIC, sky_radar.raw(1, lat=30.63, lon=104.055))  # raises the drone alert (audited)
    batch = [(COUNT_TOPIC, hall_counter.raw(k, count=n)) for k, n in enumerate([500, 480, 450, 430], start=1)]
    batch += [(DRONE_TOPIC, sky_radar.raw(k, lat=30.631 + k / 1000, lon=104.056)) for k in (2, 3)]
    jobs.handle_batch(batch)
    assert _pulses()[pulsed_before:] == [("crowd", expo_event)]  # one for the batch of six
    with db.read_transaction() as s:
        audited = s.execute(
            select(AuditEntry.action).order_by(AuditEntry.id).offset(audited_before)
        ).scalars()
        assert list(audited) == [actions.DRONE_ALERT_ACTION]
        drone = s.execute(select(CrowdAlert)).scalar_one()
        assert (drone.lat, drone.reports) == (30.634, 3)  # the drone's later reports moved its alert
    assert _zone("hall-1").last_count == 430


def test_the_poller_sends_a_pulsed_event_at_most_once_a_second_and_the_last_pulse_always(
    client: TestClient, expo_event: int, hall_counter: Registered
) -> None:
    hub = live.Hub()
    hub.cursor = live._log_end()
    hub._pulses.cursor = live._pulses_end()
    jobs.handle(COUNT_TOPIC, hall_counter.raw(1, count=500))
    first = [c for c in hub.poll() if c.action == live.PULSE]
    assert [(c.topic, c.ids) for c in first] == [("crowd", (expo_event,))]
    jobs.handle(COUNT_TOPIC, hall_counter.raw(2, count=400))
    jobs.handle(COUNT_TOPIC, hall_counter.raw(3, count=300))
    assert [c for c in hub.poll() if c.action == live.PULSE] == []  # held: within the second
    time.sleep(live.PULSE_EVERY_S)
    held = [c for c in hub.poll() if c.action == live.PULSE]
    assert [(c.topic, c.ids) for c in held] == [("crowd", (expo_event,))]  # sent with no new pulse
    assert [c for c in hub.poll() if c.action == live.PULSE] == []


def test_a_pulse_is_rendered_as_the_events_crowd_messages(
    client: TestClient, dispatcher: User, expo_event: int
) -> None:
    actor = Actor(username="dispatcher_chen", role=Role.DISPATCHER, user_id=dispatcher.id)
    with db.read_transaction() as s:
        messages = sensors_live.render_crowd(s, actor, [live.Change(0, "crowd", live.PULSE, (expo_event,))])
        assert queries.zone_alert_counts(s, expo_event) == {}
    assert [m.event for m in messages] == ["crowd", f"crowd-{expo_event}"]
    assert json.loads(messages[0].html) == {"raised": [], "closed": [], "events": [expo_event]}


def test_a_falling_count_reaches_an_open_stream_and_on_postgresql_without_waiting_for_the_poll(
    server: LiveServer,  # noqa: F811
    dispatcher: User,
    hall_counter: Registered,
    expo_event: int,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if database == "postgres":
        monkeypatch.setattr(live, "POLL_S", 30.0)  # only the pulse's NOTIFY (migration 0040) can deliver
    stream = server.open(dispatcher, "crowd")
    time.sleep(0.5)  # the listener's connection is up
    jobs.handle(COUNT_TOPIC, hall_counter.raw(1, count=400))  # 40 %: no alert, no audit entry
    started = time.monotonic()
    pushed = stream.wait_for(lambda e: e.event == f"crowd-{expo_event}", timeout=5.0)
    assert json.loads(pushed.data) == {"raised": [], "closed": []} and pushed.id is None
    assert time.monotonic() - started < 5.0
