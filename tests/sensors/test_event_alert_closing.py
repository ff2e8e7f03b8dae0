"""Closing a large event's alerts (issue #20 item 5): a crowd or drone alert stays active until a
dispatcher or supervisor closes it as resolved, a false alarm or handed over, with a note; it then
leaves the active list and the map and stays in the history with who, when and why. Another role is
refused (403), a second close is a conflict (409), a missing reason or note is a 422 naming it.
Raised and closed alerts reach the events pages live (the `crowd` topic)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.errors import Conflict, Forbidden, Invalid
from pingan.core.live import Change, topics_for
from pingan.core.roles import Actor, Role
from pingan.sensors import actions, jobs
from pingan.sensors import live as sensors_live
from pingan.sensors.choices import DeviceKind, EventAlertState
from pingan.sensors.model import CrowdAlert
from tests.conftest import bearer, make_user
from tests.sensors.conftest import Registered, register
from tests.sensors.test_crowd_ingest import COUNT_TOPIC, DRONE_TOPIC, HALL, make_event
from tests.sensors.test_registry_and_alerts import HTML, _browser, _csrf


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


@pytest.fixture
def control_alert(hall_counter: Registered) -> int:
    """Hall 1 of the expo at 93 % of its capacity: one `control` crowd alert, active."""
    result = jobs.handle(COUNT_TOPIC, hall_counter.raw(1, count=930))
    assert result.alert_id is not None
    return result.alert_id


@pytest.fixture
def dispatcher_actor(dispatcher: User) -> Actor:
    return Actor(username=dispatcher.username, role=Role.DISPATCHER, user_id=dispatcher.id)


def _close(alert_id: int, actor: Actor, *, reason: str = "handed_over", note: str = "移交场馆安保") -> None:
    with db.transaction() as s:
        item = actions.EventAlertClosing(
            alert=actions.get_event_alert(s, alert_id), reason=reason, note=note, actor=actor
        )
        actions.check_close_event_alert(item)
        actions.do_close_event_alert(s, item, now=clock.now())


def _alert(alert_id: int) -> CrowdAlert:
    with db.read_transaction() as s:
        alert = s.get(CrowdAlert, alert_id)
        assert alert is not None
        return alert


# ------------------------------------------------------------------------------------------ actions


def test_a_dispatcher_closes_an_alert_saying_how_it_ended_and_it_is_kept_with_who_when_why(
    control_alert: int, dispatcher_actor: Actor
) -> None:
    _close(control_alert, dispatcher_actor, reason="handed_over", note="已移交场馆安保分流")
    alert = _alert(control_alert)
    assert alert.state is EventAlertState.HANDED_OVER
    assert (alert.closed_by, alert.close_note) == ("dispatcher_chen", "已移交场馆安保分流")
    assert alert.closed_at is not None and clock.now() - alert.closed_at < timedelta(minutes=1)
    with db.read_transaction() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "crowd.alert_close")).scalar_one()
    assert entry.object_id == str(control_alert) and entry.actor == "dispatcher_chen"
    assert json.loads(entry.detail)["state"] == "handed_over"


def test_a_supervisor_may_close_an_alert_too(control_alert: int, supervisor_liu: User) -> None:
    _close(control_alert, Actor(username="supervisor_liu", role=Role.SUPERVISOR), reason="resolved")
    assert _alert(control_alert).state is EventAlertState.RESOLVED


def test_closing_an_alert_twice_is_a_conflict(control_alert: int, dispatcher_actor: Actor) -> None:
    _close(control_alert, dispatcher_actor, reason="resolved", note="人流已疏散")
    with pytest.raises(Conflict) as refused:
        _close(control_alert, dispatcher_actor, reason="false_alarm", note="again")
    assert refused.value.field == "state"
    assert _alert(control_alert).close_note == "人流已疏散"


@pytest.mark.parametrize("role", [Role.OFFICER, Role.ADMIN, Role.ANTIFRAUD_ANALYST])
def test_a_role_outside_the_command_centre_may_not_close_an_alert(control_alert: int, role: Role) -> None:
    with pytest.raises(Forbidden):
        _close(control_alert, Actor(username="someone", role=role, station_code="WH-YL"))
    assert _alert(control_alert).state is EventAlertState.ACTIVE


@pytest.mark.parametrize(
    ("reason", "note", "field"),
    [("", "人流已疏散", "reason"), ("active", "人流已疏散", "reason"), ("gone", "x", "reason"),
     ("resolved", "", "note"), ("resolved", "   ", "note")],
)  # fmt: skip
def test_an_alert_closed_without_a_reason_or_a_note_is_refused_naming_it(
    control_alert: int, dispatcher_actor: Actor, reason: str, note: str, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        _close(control_alert, dispatcher_actor, reason=reason, note=note)
    assert refused.value.field == field
    assert _alert(control_alert).state is EventAlertState.ACTIVE


def test_a_zone_climbing_back_to_a_level_after_its_alert_was_closed_raises_a_new_one(
    hall_counter: Registered, control_alert: int, dispatcher_actor: Actor
) -> None:
    jobs.handle(COUNT_TOPIC, hall_counter.raw(2, count=940))  # still control: the alert is active
    _close(control_alert, dispatcher_actor, reason="resolved", note="入口限流")
    jobs.handle(COUNT_TOPIC, hall_counter.raw(3, count=600))  # falls below watch
    again = jobs.handle(COUNT_TOPIC, hall_counter.raw(4, count=950))  # and climbs back to control
    assert again.alert_id is not None and again.alert_id != control_alert
    assert _alert(again.alert_id).state is EventAlertState.ACTIVE


def test_a_drone_reported_after_its_alert_was_closed_raises_a_new_alert(
    expo_event: int, sky_radar: Registered, dispatcher_actor: Actor
) -> None:
    first = jobs.handle(DRONE_TOPIC, sky_radar.raw(1, lat=30.63, lon=104.055))
    assert first.alert_id is not None
    _close(first.alert_id, dispatcher_actor, reason="false_alarm", note="雷达误识别飞鸟")
    again = jobs.handle(DRONE_TOPIC, sky_radar.raw(2, lat=30.631, lon=104.056))
    assert again.alert_id is not None and again.alert_id != first.alert_id
    assert _alert(first.alert_id).reports == 1  # the closed alert was not joined


# ---------------------------------------------------------------------------------------------- API


def test_over_the_api_a_closed_alert_leaves_the_active_list_and_stays_in_the_history(
    client: TestClient, dispatcher: User, expo_event: int, control_alert: int
) -> None:
    url = f"/api/v1/sensors/events/{expo_event}/alerts"
    assert [a["id"] for a in client.get(f"{url}?state=active", headers=bearer(dispatcher)).json()] == [
        control_alert
    ]
    r = client.post(f"/api/v1/sensors/event-alerts/{control_alert}/close",
                    json={"reason": "handed_over", "note": "移交场馆安保"}, headers=bearer(dispatcher))  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["closed_by"], r.json()["zone_code"]) == (
        "handed_over", "dispatcher_chen", "hall-1"
    )  # fmt: skip
    assert client.get(f"{url}?state=active", headers=bearer(dispatcher)).json() == []
    [kept] = client.get(url, headers=bearer(dispatcher)).json()
    assert (kept["id"], kept["close_note"]) == (control_alert, "移交场馆安保")
    assert kept["closed_at"] is not None


def test_over_the_api_a_second_close_is_409_another_role_403_and_a_missing_reason_422(
    client: TestClient, dispatcher: User, control_alert: int
) -> None:
    url = f"/api/v1/sensors/event-alerts/{control_alert}/close"
    officer = make_user("officer_wang", Role.OFFICER, station_code="WH-YL")
    forbidden = client.post(url, json={"reason": "resolved", "note": "x"}, headers=bearer(officer))
    assert forbidden.status_code == 403
    no_reason = client.post(url, json={"note": "人流已疏散"}, headers=bearer(dispatcher))
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    blank_note = client.post(url, json={"reason": "resolved", "note": "  "}, headers=bearer(dispatcher))
    assert blank_note.status_code == 422 and blank_note.json()["field"] == "note"
    closing = {"reason": "resolved", "note": "人流已疏散"}
    assert client.post(url, json=closing, headers=bearer(dispatcher)).status_code == 200
    twice = client.post(url, json=closing, headers=bearer(dispatcher))
    assert twice.status_code == 409 and twice.json()["field"] == "state"
    missing = client.post(
        "/api/v1/sensors/event-alerts/999999/close", json=closing, headers=bearer(dispatcher)
    )
    assert missing.status_code == 404


def test_the_map_shows_only_active_drone_alerts(
    client: TestClient, dispatcher: User, expo_event: int, sky_radar: Registered, dispatcher_actor: Actor
) -> None:
    drone = jobs.handle(DRONE_TOPIC, sky_radar.raw(1, lat=30.63, lon=104.055))
    assert drone.alert_id is not None

    def drones() -> int:
        features = client.get("/sensors/events.geojson", headers=bearer(dispatcher)).json()["features"]
        return sum(1 for f in features if f["properties"]["kind"] == "drone")

    assert drones() == 1
    _close(drone.alert_id, dispatcher_actor, reason="resolved", note="无人机已降落")
    assert drones() == 0


# --------------------------------------------------------------------------------------------- page


def test_the_event_page_closes_an_alert_from_its_form(
    client: TestClient, dispatcher: User, expo_event: int, control_alert: int
) -> None:
    browser = _browser(client, dispatcher)
    page = browser.get(f"/sensors/events/{expo_event}", headers=HTML).text
    assert f'action="/sensors/event-alerts/{control_alert}/close"' in page
    url = f"/sensors/event-alerts/{control_alert}/close"
    no_note = browser.post(
        url, data={"csrf_token": _csrf(page), "reason": "resolved", "note": ""}, headers=HTML
    )
    assert no_note.status_code == 422 and "note" in no_note.text
    assert 'value="resolved" selected' in no_note.text  # the choice made is kept
    no_reason = browser.post(url, data={"csrf_token": _csrf(page), "note": "x"}, headers=HTML)
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    done = browser.post(url, data={"csrf_token": _csrf(page), "reason": "false_alarm", "note": "计数器故障"},
                        headers=HTML, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].startswith(f"/sensors/events/{expo_event}")
    after = browser.get(f"/sensors/events/{expo_event}", headers=HTML).text
    active, history = after.split('id="event-alerts-closed"')
    assert f'action="/sensors/event-alerts/{control_alert}/close"' not in after
    assert "No active alerts." in active
    assert "计数器故障" in history and "dispatcher_chen" in history and "false alarm" in history
    twice = browser.post(
        url, data={"csrf_token": _csrf(after), "reason": "resolved", "note": "x"}, headers=HTML
    )
    assert twice.status_code == 409


def test_the_close_form_is_refused_to_a_role_that_may_not_close(
    client: TestClient, control_alert: int
) -> None:
    admin = make_user("admin_he", Role.ADMIN)
    browser = _browser(client, admin)
    page = browser.get("/me/settings", headers=HTML).text
    r = browser.post(f"/sensors/event-alerts/{control_alert}/close",
                     data={"csrf_token": _csrf(page), "reason": "resolved", "note": "x"}, headers=HTML)  # fmt: skip
    assert r.status_code == 403 and "may not" in r.text  # refused for the role, not the form token
    assert _alert(control_alert).state is EventAlertState.ACTIVE


def test_the_events_list_counts_each_events_active_alerts(
    client: TestClient, dispatcher: User, expo_event: int, control_alert: int, dispatcher_actor: Actor
) -> None:
    browser = _browser(client, dispatcher)
    assert 'data-active="1"' in browser.get("/sensors/events", headers=HTML).text
    _close(control_alert, dispatcher_actor)
    assert 'data-active="0"' in browser.get("/sensors/events", headers=HTML).text


def test_a_polygon_of_fewer_than_three_distinct_corners_is_refused_naming_the_field(
    client: TestClient, dispatcher: User, expo_event: int
) -> None:
    a, b = HALL[0][0], HALL[0][1]
    body = {"code": "thin", "name": "细线", "polygon": [[a, b, b, a]], "capacity": 10}
    r = client.post(f"/api/v1/sensors/events/{expo_event}/zones", json=body, headers=bearer(dispatcher))
    assert r.status_code == 422 and r.json()["field"] == "polygon" and "3 distinct" in r.text


# --------------------------------------------------------------------------------------------- live


def test_a_raised_and_a_closed_alert_are_pushed_to_the_pages_that_watch_the_event(
    client: TestClient, dispatcher: User, expo_event: int, control_alert: int, dispatcher_actor: Actor
) -> None:
    assert "crowd" in [t.name for t in topics_for(dispatcher_actor, "crowd")]
    assert "crowd" not in [t.name for t in topics_for(dispatcher_actor, "")]  # asked for, not everywhere
    officer = Actor(username="officer_wang", role=Role.OFFICER, station_code="WH-YL")
    assert "crowd" not in [t.name for t in topics_for(officer, "crowd")]
    page = _browser(client, dispatcher).get(f"/sensors/events/{expo_event}", headers=HTML).text
    assert f'hx-trigger="sse:crowd-{expo_event}"' in page and "topics=crowd" in page
    _close(control_alert, dispatcher_actor)
    changes = [
        Change(1, "crowd", actions.CROWD_ALERT_ACTION, (control_alert,)),
        Change(2, "crowd", actions.EVENT_ALERT_CLOSE_ACTION, (control_alert,)),
    ]
    with db.read_transaction() as s:
        messages = sensors_live.render_crowd(s, dispatcher_actor, changes)
    assert [m.event for m in messages] == ["crowd", f"crowd-{expo_event}"]
    assert json.loads(messages[1].html) == {"raised": [control_alert], "closed": [control_alert]}
    assert json.loads(messages[0].html)["events"] == [expo_event]


def test_active_event_alerts_are_counted_in_metrics_by_kind(
    client: TestClient, control_alert: int, sky_radar: Registered, dispatcher_actor: Actor
) -> None:
    jobs.handle(DRONE_TOPIC, sky_radar.raw(1, lat=30.63, lon=104.055))
    text = client.get("/metrics").text
    assert 'pingan_event_alerts_active{kind="crowd"} 1.0' in text
    assert 'pingan_event_alerts_active{kind="drone"} 1.0' in text
    _close(control_alert, dispatcher_actor)
    assert 'pingan_event_alerts_active{kind="crowd"} 0.0' in client.get("/metrics").text
