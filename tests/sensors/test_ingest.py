"""The ingest's reading of messages: every bad input is refused, counted and kept with its reason,
and nothing else is written for it; a good alarm becomes an incident with its acknowledgement."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.command.choices import IncidentStatus, Priority
from pingan.command.model import Incident
from pingan.core import clock, db
from pingan.core.settings import get_settings
from pingan.sensors import jobs
from pingan.sensors.choices import AckState, AlarmDecision, DeviceKind, Refusal
from pingan.sensors.model import DeadLetter, SensorAck, SensorAlarm
from tests.sensors.conftest import GARDEN, Registered

TOPIC = f"pingan/{GARDEN}/smoke-a/alarm"


def _counts() -> tuple[int, int, int]:
    with db.read_transaction() as s:
        return (
            s.execute(select(func.count()).select_from(SensorAlarm)).scalar_one(),
            s.execute(select(func.count()).select_from(Incident)).scalar_one(),
            s.execute(select(func.count()).select_from(DeadLetter)).scalar_one(),
        )


def _only_dead_letter() -> DeadLetter:
    with db.read_transaction() as s:
        rows = list(s.execute(select(DeadLetter)).scalars())
        s.expunge_all()
    assert len(rows) == 1
    return rows[0]


def _refused_with(topic: str, raw: bytes, reason: Refusal) -> DeadLetter:
    result = jobs.handle(topic, raw)
    assert not result.accepted and result.refusal is reason
    assert _counts()[:2] == (0, 0)  # no alarm, no incident
    letter = _only_dead_letter()
    assert letter.reason is reason
    return letter


def test_malformed_json_is_refused_and_kept(smoke_a: Registered) -> None:
    letter = _refused_with(TOPIC, b'{"v": 1, "device": "smoke-a", ', Refusal.MALFORMED_JSON)
    assert letter.excerpt.startswith('{"v": 1')


def test_a_json_array_is_malformed(smoke_a: Registered) -> None:
    _refused_with(TOPIC, b"[1, 2]", Refusal.MALFORMED_JSON)


def test_unknown_device_is_refused(smoke_a: Registered) -> None:
    stranger = Registered("smoke-x", GARDEN, b"k" * 32, 0)
    letter = _refused_with(
        f"pingan/{GARDEN}/smoke-x/alarm", stranger.raw(1, type="smoke"), Refusal.UNKNOWN_DEVICE
    )
    assert letter.device_id == "smoke-x"


def test_unknown_schema_version_is_refused(smoke_a: Registered) -> None:
    body = smoke_a.message(1, type="smoke")
    body["v"] = 2
    letter = _refused_with(TOPIC, json.dumps(body).encode(), Refusal.UNKNOWN_SCHEMA)
    assert "v=2" in letter.detail


def test_bad_signature_is_refused(smoke_a: Registered) -> None:
    body = smoke_a.message(1, type="smoke")
    body["type"] = "sos"  # changed after signing
    _refused_with(TOPIC, json.dumps(body).encode(), Refusal.BAD_SIGNATURE)


def test_a_message_signed_with_another_key_is_refused(smoke_a: Registered) -> None:
    forger = Registered("smoke-a", GARDEN, b"\x01" * 32, 0)
    _refused_with(TOPIC, forger.raw(1, type="smoke"), Refusal.BAD_SIGNATURE)


def test_a_replayed_message_is_refused_the_second_time(smoke_a: Registered) -> None:
    raw = smoke_a.raw(1, type="smoke")
    assert jobs.handle(TOPIC, raw).accepted
    again = jobs.handle(TOPIC, raw)
    assert again.refusal is Refusal.REPLAYED
    alarms, incidents, letters = _counts()
    assert (alarms, incidents, letters) == (1, 1, 1)


def test_a_message_stamped_outside_the_window_is_refused(smoke_a: Registered) -> None:
    old = clock.now() - timedelta(hours=2)
    _refused_with(TOPIC, smoke_a.raw(1, at=old, type="smoke"), Refusal.STALE_TIMESTAMP)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image", "aGVsbG8="),
        ("snapshot", {"w": 10}),
        ("detail", {"face": "..."}),
        ("detail", {"list": [{"fingerprint": "x"}]}),
        ("note", "data:image/jpeg;base64,/9j/4AAQ"),
    ],
)
def test_image_video_and_biometric_fields_are_refused_without_their_content(
    smoke_a: Registered, field: str, value: object
) -> None:
    letter = _refused_with(TOPIC, smoke_a.raw(1, type="smoke", **{field: value}), Refusal.FORBIDDEN_MEDIA)
    assert letter.excerpt == ""  # the content is not kept
    assert letter.detail.startswith(field)


def test_an_unknown_topic_is_refused(smoke_a: Registered) -> None:
    _refused_with("pingan/x/alarm", smoke_a.raw(1, type="smoke"), Refusal.UNKNOWN_TOPIC)


def test_a_topic_under_another_systems_root_is_refused(
    smoke_a: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broker shared with another system: only topics under the configured root are pingan's."""
    monkeypatch.setenv("PINGAN_SENSORS_TOPIC_ROOT", "district-b")
    get_settings.cache_clear()
    try:
        assert jobs.subscriptions()[0] == "district-b/+/+/alarm"
        assert jobs.subscriptions(share_group="g", primary=False) == ["$share/g/district-b/units/+/position"]
        _refused_with(f"pingan/{GARDEN}/smoke-a/alarm", smoke_a.raw(1, type="smoke"), Refusal.UNKNOWN_TOPIC)
        taken = jobs.handle(f"district-b/{GARDEN}/smoke-a/alarm", smoke_a.raw(2, type="smoke"))
        assert taken.accepted and taken.alarm_id is not None, taken
    finally:
        get_settings.cache_clear()


def test_a_device_on_another_devices_topic_is_refused(smoke_a: Registered, smoke_b: Registered) -> None:
    _refused_with(f"pingan/{GARDEN}/smoke-b/alarm", smoke_a.raw(1, type="smoke"), Refusal.TOPIC_MISMATCH)


def test_an_unknown_alarm_type_is_refused_naming_the_field(smoke_a: Registered) -> None:
    letter = _refused_with(TOPIC, smoke_a.raw(1, type="earthquake"), Refusal.INVALID_FIELD)
    assert letter.detail.startswith("type:")


def test_a_message_over_the_size_limit_is_refused(smoke_a: Registered) -> None:
    _refused_with(TOPIC, smoke_a.raw(1, type="smoke", note="x" * 9000), Refusal.TOO_LARGE)


def test_refusals_are_counted_in_metrics(smoke_a: Registered, client: TestClient) -> None:
    jobs.handle(TOPIC, b"not json")
    jobs.handle(TOPIC, b"{also not")
    jobs.handle(TOPIC, smoke_a.raw(1, type="smoke", photo="x"))
    text = client.get("/metrics").text
    assert 'pingan_sensor_messages_refused_total{reason="malformed_json"} 2.0' in text
    assert 'pingan_sensor_messages_refused_total{reason="forbidden_media"} 1.0' in text
    assert 'pingan_sensor_messages_refused_total{reason="bad_signature"} 0.0' in text


def test_an_alarm_becomes_an_incident_with_a_received_ack(smoke_a: Registered) -> None:
    result = jobs.handle(TOPIC, smoke_a.raw(1, type="smoke"))
    assert result.accepted
    with db.read_transaction() as s:
        alarm = s.execute(select(SensorAlarm)).scalar_one()
        incident = s.get(Incident, alarm.incident_id)
        assert incident is not None and incident.status is IncidentStatus.OPEN
        assert incident.category_code == "040101" and incident.station_code == "WH-YL"
        assert incident.lat == 30.6125
        acks = list(s.execute(select(SensorAck)).scalars())
        assert [a.state for a in acks] == [AckState.RECEIVED]


def test_a_repeated_alarm_within_the_window_joins_the_incident(smoke_a: Registered) -> None:
    jobs.handle(TOPIC, smoke_a.raw(1, type="door_forced"))
    jobs.handle(TOPIC, smoke_a.raw(2, type="door_forced"))
    with db.read_transaction() as s:
        alarms = list(s.execute(select(SensorAlarm).order_by(SensorAlarm.id)).scalars())
        assert [a.decision for a in alarms] == [AlarmDecision.INCIDENT, AlarmDecision.DEDUPLICATED]
        assert alarms[0].incident_id == alarms[1].incident_id
        assert s.execute(select(func.count()).select_from(Incident)).scalar_one() == 1


def test_smoke_confirmed_by_a_second_sensor_is_priority_one(smoke_a: Registered, smoke_b: Registered) -> None:
    jobs.handle(TOPIC, smoke_a.raw(1, type="smoke"))
    jobs.handle(f"pingan/{GARDEN}/smoke-b/alarm", smoke_b.raw(1, type="smoke"))
    with db.read_transaction() as s:
        second = s.execute(select(SensorAlarm).order_by(SensorAlarm.id.desc()).limit(1)).scalar_one()
        assert second.reasons == "smoke_confirmed_by:smoke-a"
        incident = s.get(Incident, second.incident_id)
        assert incident is not None and incident.priority is Priority.URGENT


def test_a_message_that_cannot_be_acted_on_is_kept_with_the_error_and_the_ingest_goes_on(
    tracker_yulin1: Registered, smoke_a: Registered
) -> None:
    from pingan.sensors.model import Device

    with db.transaction() as s:  # the unit was renamed after its tracker was registered
        tracker = s.get(Device, tracker_yulin1.pk)
        assert tracker is not None
        tracker.unit_call_sign = "已撤编"
    failed = jobs.handle("pingan/units/已撤编/position", tracker_yulin1.raw(1, lat=30.61, lon=104.05))
    assert failed.refusal is Refusal.PROCESSING_FAILED
    letter = _only_dead_letter()
    assert "已撤编" in letter.detail
    with db.read_transaction() as s:  # rolled back whole: the tracker's number was not taken
        tracker = s.get(Device, tracker_yulin1.pk)
        assert tracker is not None and tracker.last_seq == 0
    assert jobs.handle(TOPIC, smoke_a.raw(1, type="smoke")).accepted


def test_a_batch_of_mixed_messages_keeps_every_good_one_and_dead_letters_each_bad_one(
    tracker_yulin1: Registered, smoke_a: Registered, sos_button: Registered
) -> None:
    from pingan.sensors.model import Device

    with db.transaction() as s:  # acting on this tracker's fix fails: its unit was renamed
        tracker = s.get(Device, tracker_yulin1.pk)
        assert tracker is not None
        tracker.unit_call_sign = "已撤编"
    first_smoke = smoke_a.raw(1, type="smoke")
    batch = [
        (TOPIC, first_smoke),
        (TOPIC, b"{not json"),
        ("pingan/units/已撤编/position", tracker_yulin1.raw(1, lat=30.61, lon=104.05)),
        (f"pingan/{GARDEN}/sos-1/alarm", sos_button.raw(1, type="sos")),
        (TOPIC, first_smoke),  # the same message again, in the same batch
        (TOPIC, smoke_a.raw(2, type="smoke", photo="x")),
        (TOPIC, smoke_a.raw(3, type="smoke")),  # a repeat within the dedup window
    ]
    results = jobs.handle_batch(batch)

    assert [r.accepted for r in results] == [True, False, False, True, False, False, True]
    assert [r.refusal for r in results if not r.accepted] == [
        Refusal.MALFORMED_JSON,
        Refusal.PROCESSING_FAILED,
        Refusal.REPLAYED,
        Refusal.FORBIDDEN_MEDIA,
    ]
    with db.read_transaction() as s:
        alarms = list(s.execute(select(SensorAlarm).order_by(SensorAlarm.id)).scalars())
        assert [(a.seq, a.alarm_type.value, a.decision) for a in alarms] == [
            (1, "smoke", AlarmDecision.INCIDENT),
            (1, "sos", AlarmDecision.INCIDENT),
            (3, "smoke", AlarmDecision.DEDUPLICATED),
        ]
        assert alarms[2].incident_id == alarms[0].incident_id
        letters = [d.reason for d in s.execute(select(DeadLetter).order_by(DeadLetter.id)).scalars()]
        assert letters == [r.refusal for r in results if not r.accepted]
        # The failed message's savepoint was rolled back alone: its number was not taken.
        tracker = s.get(Device, tracker_yulin1.pk)
        assert tracker is not None and tracker.last_seq == 0
        assert s.execute(select(func.count()).select_from(Incident)).scalar_one() == 2


def test_a_batch_of_positions_moves_each_unit_to_its_latest_fix_and_keeps_every_fix(
    tracker_yulin1: Registered, unit_yulin1: int
) -> None:
    from pingan.command.model import Unit
    from pingan.core.audit import AuditEntry
    from pingan.sensors.model import Device, OfficerPosition
    from tests.command.conftest import add_unit
    from tests.sensors.conftest import register

    unit2 = add_unit("玉林2")
    tracker2 = register("gps-yl2", DeviceKind.UNIT_TRACKER, "units", unit_call_sign="玉林2")
    t0 = clock.now() - timedelta(seconds=60)
    one, two = "pingan/units/玉林1/position", "pingan/units/玉林2/position"
    batch = [
        (one, tracker_yulin1.raw(1, lat=30.6101, lon=104.0501, at=t0)),
        (two, tracker2.raw(1, lat=30.6201, lon=104.0601, at=t0)),
        (one, tracker_yulin1.raw(2, lat=30.6103, lon=104.0503, at=t0 + timedelta(seconds=10))),
        (one, tracker_yulin1.raw(3, lat=30.6102, lon=104.0502, at=t0 + timedelta(seconds=5))),  # delayed
        (one, tracker_yulin1.raw(3, lat=30.9, lon=104.9, at=t0 + timedelta(seconds=20))),  # replayed seq
        (two, tracker2.raw(2, lat=30.6202, lon=104.0602, at=t0 + timedelta(seconds=10))),
    ]
    results = jobs.handle_batch(batch)

    assert [r.accepted for r in results] == [True, True, True, True, False, True]
    assert results[4].refusal is Refusal.REPLAYED
    with db.read_transaction() as s:
        u1, u2 = s.get(Unit, unit_yulin1), s.get(Unit, unit2)
        assert u1 is not None and (u1.lat, u1.lon) == (30.6103, 104.0503)  # not moved back by the delayed fix
        assert u2 is not None and (u2.lat, u2.lon) == (30.6202, 104.0602)
        history = s.execute(select(OfficerPosition.lat).order_by(OfficerPosition.id)).scalars().all()
        assert history == [30.6101, 30.6201, 30.6103, 30.6102, 30.6202]
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "unit.positions")).scalars()
        detail = json.loads(entry.detail)
        assert detail == {
            "units": sorted([unit_yulin1, unit2]),
            "count": 5,
            "devices": ["gps-yl1", "gps-yl2"],
        }
        assert s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "unit.position")).scalar_one() == 0  # fmt: skip
        tracker = s.get(Device, tracker_yulin1.pk)
        assert tracker is not None and tracker.last_seq == 3


def test_a_holster_draw_after_positions_in_the_same_batch_sees_the_units_new_position(
    holster_wang: Registered, tracker_yulin1: Registered
) -> None:
    from pingan.sensors.model import SafetyAlert

    batch = [
        ("pingan/units/玉林1/position", tracker_yulin1.raw(1, lat=30.6111, lon=104.0511)),
        ("pingan/holster/holster-7/event", holster_wang.raw(1, event="holster_draw")),
    ]
    assert all(r.accepted for r in jobs.handle_batch(batch))
    with db.read_transaction() as s:
        alert = s.execute(select(SafetyAlert)).scalar_one()
    assert (alert.lat, alert.lon) == (30.6111, 104.0511)


def test_a_position_arriving_after_a_later_one_of_its_device_is_kept_once_and_its_copy_is_a_replay(
    tracker_yulin1: Registered, unit_yulin1: int
) -> None:
    # Several ingest processes share the positions: the device's 2nd may be committed before its 1st.
    from pingan.command.model import Unit
    from pingan.sensors.model import Device, OfficerPosition

    t0 = clock.now() - timedelta(seconds=30)
    topic = "pingan/units/玉林1/position"
    first = tracker_yulin1.raw(1, lat=30.6101, lon=104.0501, at=t0)
    second = tracker_yulin1.raw(2, lat=30.6102, lon=104.0502, at=t0 + timedelta(seconds=5))
    assert jobs.handle(topic, second).accepted
    assert jobs.handle(topic, first).accepted
    again = jobs.handle_batch([(topic, first), (topic, second)])
    assert [r.refusal for r in again] == [Refusal.REPLAYED, Refusal.REPLAYED]
    with db.read_transaction() as s:
        rows = s.execute(select(OfficerPosition.seq, OfficerPosition.lat).order_by(OfficerPosition.id)).all()
        assert [tuple(r) for r in rows] == [(2, 30.6102), (1, 30.6101)]
        unit = s.get(Unit, unit_yulin1)
        assert unit is not None and unit.lat == 30.6102  # not moved back to the older fix
        tracker = s.get(Device, tracker_yulin1.pk)
        assert tracker is not None and tracker.last_seq == 2


def test_a_signature_checked_before_the_transaction_counts_only_with_the_key_the_device_holds_now(
    tracker_yulin1: Registered, unit_yulin1: int
) -> None:
    import secrets

    from pingan.core.pii import seal_secret
    from pingan.sensors import actions
    from pingan.sensors.model import Device

    ring = actions.KeyRing()  # the ingest process's keys: it learns the tracker's with its first batch
    topic = "pingan/units/玉林1/position"
    assert jobs.handle_batch([(topic, tracker_yulin1.raw(1, lat=30.61, lon=104.05))], ring=ring)[0].accepted
    new_key = secrets.token_hex(32)  # the device is given a new key
    with db.transaction() as s:
        device = s.get(Device, tracker_yulin1.pk)
        assert device is not None
        device.key_cipher = seal_secret(actions.KEY_PURPOSE, new_key)
    renewed = Registered(tracker_yulin1.device_id, "units", bytes.fromhex(new_key), tracker_yulin1.pk)

    results = jobs.handle_batch(
        [
            (topic, tracker_yulin1.raw(2, lat=30.62, lon=104.05)),
            (topic, renewed.raw(3, lat=30.63, lon=104.05)),
        ],
        ring=ring,
    )
    assert [r.refusal for r in results] == [Refusal.BAD_SIGNATURE, None]
