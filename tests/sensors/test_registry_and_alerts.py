"""The device registry, outcomes and the false-alarm score, officer-safety alerts and their closing,
the live alarm on every dispatcher page, and officer positions' retention and audited reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.command.choices import Priority
from pingan.command.model import Incident
from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User, issue_token
from pingan.core.live import Change, topics_for
from pingan.core.roles import Actor, Role
from pingan.sensors import actions, jobs, rules
from pingan.sensors import live as sensors_live
from pingan.sensors.choices import AlarmType, AlertState
from pingan.sensors.model import Device, OfficerPosition, SafetyAlert, SensorAlarm
from tests.command.conftest import move
from tests.conftest import bearer
from tests.sensors.conftest import GARDEN, Registered

HTML = {"Accept": "text/html,application/xhtml+xml"}
SMOKE_TOPIC = f"pingan/{GARDEN}/smoke-a/alarm"


def _browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _close_incident_of_alarm(unit_id: int) -> int:
    with db.read_transaction() as s:
        alarm = s.execute(select(SensorAlarm).order_by(SensorAlarm.id.desc()).limit(1)).scalar_one()
        incident_id, alarm_id = alarm.incident_id, alarm.id
    assert incident_id is not None
    move(unit_id, "assign", incident_id=incident_id)
    for step in ("acknowledge", "depart", "arrive"):
        move(unit_id, step)
    move(unit_id, "clear", note="现场查看：厨房油烟")
    return alarm_id


# ----------------------------------------------------------------------------------------- registry


def test_a_registered_device_gets_its_key_once_and_it_is_stored_encrypted(
    client: TestClient, dispatcher: User
) -> None:
    body = {"device_id": "door-9", "kind": "door_sensor", "community": GARDEN, "owner": "玉林物业"}
    r = client.post("/api/v1/sensors/devices", json=body, headers=bearer(dispatcher))
    assert r.status_code == 201
    key = r.json()["key"]
    assert len(key) == 64
    with db.read_transaction() as s:
        stored = s.execute(select(Device)).scalar_one()
        assert key not in stored.key_cipher and actions.device_key(stored).hex() == key


def test_a_device_id_taken_is_refused_naming_the_field(client: TestClient, dispatcher: User) -> None:
    body = {"device_id": "door-9", "kind": "door_sensor", "community": GARDEN}
    client.post("/api/v1/sensors/devices", json=body, headers=bearer(dispatcher))
    again = client.post("/api/v1/sensors/devices", json=body, headers=bearer(dispatcher))
    assert again.status_code == 409 and again.json()["field"] == "device_id"


def test_a_holster_without_its_officer_is_refused(client: TestClient, dispatcher: User) -> None:
    body = {"device_id": "h-1", "kind": "holster", "community": "holster"}
    r = client.post("/api/v1/sensors/devices", json=body, headers=bearer(dispatcher))
    assert r.status_code == 422 and r.json()["field"] == "officer"


def test_the_registry_page_lists_devices_and_registers_one(
    client: TestClient, dispatcher: User, smoke_a: Registered
) -> None:
    browser = _browser(client, dispatcher)
    page = browser.get("/sensors", headers=HTML).text
    assert "smoke-a" in page and "玉林物业" in page
    answer = browser.post(
        "/sensors/devices",
        data={"csrf_token": _csrf(page), "device_id": "lift-1", "kind": "lift_camera", "community": GARDEN},
        headers=HTML,
    )
    assert answer.status_code == 200 and "lift-1" in answer.text
    assert re.search(r"<code>[0-9a-f]{64}</code>", answer.text)


# -------------------------------------------------------------------------------- false-alarm score


def test_an_outcome_waits_for_the_incident_to_close(
    client: TestClient, dispatcher: User, smoke_a: Registered
) -> None:
    jobs.handle(SMOKE_TOPIC, smoke_a.raw(1, type="smoke"))
    with db.read_transaction() as s:
        alarm_id = s.execute(select(SensorAlarm.id)).scalar_one()
    r = client.post(
        f"/api/v1/sensors/alarms/{alarm_id}/outcome", json={"outcome": "false"}, headers=bearer(dispatcher)
    )
    assert r.status_code == 409 and r.json()["field"] == "outcome"


def test_false_outcomes_raise_the_score_shown_on_the_device_page(
    client: TestClient, dispatcher: User, smoke_a: Registered, unit_yulin1: int
) -> None:
    jobs.handle(SMOKE_TOPIC, smoke_a.raw(1, type="smoke"))
    alarm_id = _close_incident_of_alarm(unit_yulin1)
    r = client.post(
        f"/api/v1/sensors/alarms/{alarm_id}/outcome",
        json={"outcome": "false", "reason": "厨房油烟"},
        headers=bearer(dispatcher),
    )
    assert r.status_code == 200 and r.json()["outcome"] == "false"
    page = _browser(client, dispatcher).get(f"/sensors/devices/{smoke_a.pk}", headers=HTML).text
    # (1 false + 1) / (1 outcome + 2) = 0.67
    assert re.search(r'id="device-score">0\.67', page)
    assert re.search(r'id="community-score">0\.67', page)


def test_a_device_mostly_false_is_demoted_one_priority_and_says_why() -> None:
    now = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
    noisy = rules.Score(false=9, outcomes=10)  # (9+1)/(10+2) = 0.83
    ruling = rules.rule_alarm(
        device="door-1",
        community=GARDEN,
        alarm_type=AlarmType.DOOR_FORCED,
        now=now,
        recent=[],
        device_score=noisy,
        dedup_window_s=300,
        confirm_window_s=120,
        demote_at=0.8,
        min_outcomes=5,
    )
    assert ruling.priority == "3"  # a forced door is priority 2
    assert "false_alarm_score:0.83>=0.80" in ruling.reasons


def test_a_new_device_is_not_demoted_for_one_false_alarm() -> None:
    ruling = rules.rule_alarm(
        device="door-1",
        community=GARDEN,
        alarm_type=AlarmType.DOOR_FORCED,
        now=datetime(2026, 12, 6, 6, 0, tzinfo=UTC),
        recent=[],
        device_score=rules.Score(false=1, outcomes=1),
        dedup_window_s=300,
        confirm_window_s=120,
        demote_at=0.8,
        min_outcomes=5,
    )
    assert ruling.priority == "2" and ruling.reasons == ("alarm:door_forced",)


def test_an_alarm_after_its_incident_closed_opens_a_new_one(smoke_a: Registered, unit_yulin1: int) -> None:
    jobs.handle(SMOKE_TOPIC, smoke_a.raw(1, type="smoke"))
    _close_incident_of_alarm(unit_yulin1)
    jobs.handle(SMOKE_TOPIC, smoke_a.raw(2, type="smoke"))
    with db.read_transaction() as s:
        incidents = {a.incident_id for a in s.execute(select(SensorAlarm)).scalars()}
    assert len(incidents) == 2


# ---------------------------------------------------------------------------------- safety alerts


def _draw(holster: Registered, seq: int = 1, event: str = "holster_draw") -> int:
    result = jobs.handle(f"pingan/holster/{holster.device_id}/event", holster.raw(seq, event=event))
    assert result.accepted and result.alert_id is not None
    return result.alert_id


def test_a_draw_links_the_officers_current_incident(holster_wang: Registered, unit_yulin1: int) -> None:
    from tests.command.conftest import take_call

    current = take_call(text="有人打架", category_code="020201", lat=30.6125, lon=104.0525)
    move(unit_yulin1, "assign", incident_id=current)
    alert_id = _draw(holster_wang)
    with db.read_transaction() as s:
        alert = s.get(SafetyAlert, alert_id)
        assert alert is not None and alert.linked_incident_id == current
        incident = s.get(Incident, alert.incident_id)
        assert incident is not None and incident.priority is Priority.URGENT
        assert f"关联警情 #{current}" in incident.text


def test_a_holster_return_or_low_battery_raises_nothing(holster_wang: Registered) -> None:
    for seq, event in ((1, "holster_return"), (2, "low_battery"), (3, "cew_armed")):
        result = jobs.handle("pingan/holster/holster-7/event", holster_wang.raw(seq, event=event))
        assert result.accepted and result.alert_id is None
    with db.read_transaction() as s:
        assert s.execute(select(SafetyAlert)).first() is None


def test_an_alert_stays_active_until_closed_with_a_reason(
    client: TestClient, dispatcher: User, holster_wang: Registered
) -> None:
    alert_id = _draw(holster_wang)
    no_reason = client.post(
        f"/api/v1/sensors/alerts/{alert_id}/close",
        json={"state": "resolved", "reason": ""},
        headers=bearer(dispatcher),
    )
    assert no_reason.status_code == 422
    browser = _browser(client, dispatcher)
    page = browser.get(f"/sensors/alerts/{alert_id}", headers=HTML).text
    done = browser.post(
        f"/sensors/alerts/{alert_id}/close",
        data={"csrf_token": _csrf(page), "state": "false_alarm", "reason": "枪套卡扣误触"},
        headers=HTML,
    )
    assert done.status_code == 200 and "枪套卡扣误触" in done.text
    with db.read_transaction() as s:
        alert = s.get(SafetyAlert, alert_id)
        assert alert is not None and alert.state is AlertState.FALSE_ALARM
    # After closing, the next draw is a new danger: a new alert.
    assert _draw(holster_wang, 2) != alert_id


def test_every_dispatcher_page_carries_the_safety_alarm(
    client: TestClient, dispatcher: User, holster_wang: Registered
) -> None:
    actor = Actor(username=dispatcher.username, role=Role.DISPATCHER, user_id=dispatcher.id)
    assert "safety" in [t.name for t in topics_for(actor, "")]  # asked for nothing, still carried
    officer = Actor(username="officer_wang", role=Role.OFFICER, station_code="WH-YL")
    assert "safety" not in [t.name for t in topics_for(officer, "")]
    page = _browser(client, dispatcher).get("/command/units", headers=HTML).text
    assert 'sse-swap="safety"' in page
    alert_id = _draw(holster_wang)
    with db.read_transaction() as s:
        [message] = sensors_live.render(s, actor, [Change(1, "safety", actions.ALERT_ACTION, (alert_id,))])
    assert message.event == "safety" and f"/sensors/alerts/{alert_id}" in message.html
    assert "Officer in danger" in message.html or "警员遇险" in message.html


def test_the_map_draws_a_ring_at_the_officers_last_position(
    client: TestClient, dispatcher: User, holster_wang: Registered, tracker_yulin1: Registered
) -> None:
    jobs.handle("pingan/units/玉林1/position", tracker_yulin1.raw(1, lat=30.6131, lon=104.0533))
    _draw(holster_wang)
    rings = client.get("/sensors/alerts.geojson", headers=bearer(dispatcher)).json()
    assert [(f["properties"]["unit"], f["geometry"]["coordinates"]) for f in rings["features"]] == [
        ("玉林1", [104.0533, 30.6131])
    ]


# -------------------------------------------------------------------------------------- positions


def test_positions_older_than_the_retention_are_purged(tracker_yulin1: Registered) -> None:
    now = clock.now()
    with db.transaction() as s:
        for age_days in (1, 29, 31, 90):
            s.add(
                OfficerPosition(
                    device_pk=tracker_yulin1.pk,
                    unit_call_sign="玉林1",
                    lat=30.6,
                    lon=104.0,
                    fix_at=now - timedelta(days=age_days),
                )
            )
    with db.transaction() as s:
        assert actions.do_purge_positions(s, now=now, actor=actions.INGEST) == 2
    with db.read_transaction() as s:
        left = sorted((now - p.fix_at).days for p in s.execute(select(OfficerPosition)).scalars())
    assert left == [1, 29]


def test_reading_positions_needs_a_purpose_and_is_audited(
    client: TestClient, dispatcher: User, tracker_yulin1: Registered
) -> None:
    jobs.handle("pingan/units/玉林1/position", tracker_yulin1.raw(1, lat=30.61, lon=104.05))
    since = (clock.now() - timedelta(hours=1)).isoformat()
    no_purpose = client.get(
        "/api/v1/sensors/positions", params={"unit": "玉林1", "since": since}, headers=bearer(dispatcher)
    )
    assert no_purpose.status_code == 422
    r = client.get(
        "/api/v1/sensors/positions",
        params={"unit": "玉林1", "since": since, "purpose": "复盘警情 #12"},
        headers=bearer(dispatcher),
    )
    assert r.status_code == 200 and [(p["lat"], p["lon"]) for p in r.json()] == [(30.61, 104.05)]
    with db.read_transaction() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "sensor.positions_read")).scalar_one()
        assert entry.purpose == "复盘警情 #12" and entry.object_id == "玉林1"


def test_a_repeat_alarm_joining_a_dispatched_incident_hears_dispatched_too(
    smoke_a: Registered, unit_yulin1: int
) -> None:
    from pingan.sensors.model import SensorAck

    actions.install()
    jobs.handle(SMOKE_TOPIC, smoke_a.raw(1, type="smoke"))
    with db.read_transaction() as s:
        incident_id = s.execute(select(SensorAlarm.incident_id)).scalar_one()
    assert incident_id is not None
    move(unit_yulin1, "assign", incident_id=incident_id)
    jobs.handle(SMOKE_TOPIC, smoke_a.raw(2, type="smoke"))
    with db.read_transaction() as s:
        by_alarm: dict[int, list[str]] = {}
        for ack in s.execute(select(SensorAck).order_by(SensorAck.id)).scalars():
            by_alarm.setdefault(ack.alarm_id, []).append(ack.state.value)
    assert list(by_alarm.values()) == [["received", "dispatched"], ["received", "dispatched"]]


def test_a_device_taken_off_the_whitelist_is_not_heard(
    client: TestClient, dispatcher: User, smoke_a: Registered
) -> None:
    off = client.post(
        f"/api/v1/sensors/devices/{smoke_a.pk}/active", json={"active": False}, headers=bearer(dispatcher)
    )
    assert off.status_code == 200 and off.json()["active"] is False
    result = jobs.handle(SMOKE_TOPIC, smoke_a.raw(1, type="smoke"))
    assert result.refusal is not None and result.refusal.value == "unknown_device"
    again = client.post(
        f"/api/v1/sensors/devices/{smoke_a.pk}/active", json={"active": False}, headers=bearer(dispatcher)
    )
    assert again.status_code == 409 and again.json()["field"] == "active"


def test_a_holster_for_an_officer_who_is_not_a_user_is_refused(
    client: TestClient, dispatcher: User, unit_yulin1: int
) -> None:
    body = {
        "device_id": "h-2",
        "kind": "holster",
        "community": "holster",
        "officer": "nobody",
        "unit_call_sign": "玉林1",
    }
    r = client.post("/api/v1/sensors/devices", json=body, headers=bearer(dispatcher))
    assert r.status_code == 422 and r.json()["field"] == "officer"
