"""Large events at the ingest (issue #20 item 5): crowd counts raise graded alerts, one per zone and
level; a drone inside a running event's no-fly zone raises one; counts are numbers only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.sensors import actions, jobs
from pingan.sensors.choices import CrowdAlertKind, DeviceKind, Refusal
from pingan.sensors.model import CrowdAlert, CrowdZone, DeadLetter
from pingan.sensors.schemas import CrowdEventIn, CrowdZoneIn
from tests.conftest import SYSTEM
from tests.sensors.conftest import Registered, register

HALL = [[[104.06, 30.63], [104.07, 30.63], [104.07, 30.64], [104.06, 30.64], [104.06, 30.63]]]
NO_FLY = [[[104.05, 30.62], [104.08, 30.62], [104.08, 30.65], [104.05, 30.65], [104.05, 30.62]]]
COUNT_TOPIC = "pingan/crowd/expo/hall-1/count"
DRONE_TOPIC = "pingan/drone/radar-1/report"


def make_event(code: str = "expo", *, capacity: int = 1000) -> int:
    """An event running now with a crowd zone `hall-1` and a no-fly zone `sky`."""
    now = clock.now()
    with db.transaction() as s:
        body = CrowdEventIn(code=code, name="西博会", starts_at=now - timedelta(hours=1),
                            ends_at=now + timedelta(hours=8))  # fmt: skip
        actions.check_create_event(s, body, SYSTEM)
        event = actions.do_create_event(s, body, SYSTEM, now=now)
        for zone in (
            CrowdZoneIn(code="hall-1", name="一号馆", polygon=HALL, capacity=capacity),
            CrowdZoneIn(code="sky", name="禁飞区", polygon=NO_FLY, no_fly=True),
        ):
            actions.check_add_zone(s, event, zone, SYSTEM)
            actions.do_add_zone(s, event, zone, SYSTEM)
        return event.id


@pytest.fixture
def expo(district: None) -> int:
    return make_event()


@pytest.fixture
def counter(expo: int) -> Registered:
    return register("expo-hall-1", DeviceKind.CROWD_COUNTER, "expo", location="一号馆入口")


@pytest.fixture
def radar(district: None) -> Registered:
    return register("radar-1", DeviceKind.DRONE_DETECTOR, "drone", lat=30.635, lon=104.065)


def _alerts() -> list[tuple[str, str, int | None]]:
    with db.read_transaction() as s:
        rows = s.execute(select(CrowdAlert).order_by(CrowdAlert.id)).scalars()
        return [(a.kind.value, a.level, a.count) for a in rows]


def _zone() -> CrowdZone:
    with db.read_transaction() as s:
        return s.execute(select(CrowdZone).where(CrowdZone.code == "hall-1")).scalar_one()


def test_a_count_over_a_threshold_raises_one_alert_per_zone_and_level(counter: Registered) -> None:
    counts = [500, 720, 750, 760, 930, 600, 740, 1010, 1020]
    results = jobs.handle_batch([(COUNT_TOPIC, counter.raw(k + 1, count=n)) for k, n in enumerate(counts)])
    assert all(r.accepted for r in results)
    # 72 % watch, 93 % control, 101 % over: once each, though the counts stay up and fall back to watch.
    assert _alerts() == [("crowd", "watch", 720), ("crowd", "control", 930), ("crowd", "over", 1010)]
    assert _zone().level == "over" and _zone().last_count == 1020
    with db.read_transaction() as s:
        raised = s.execute(select(AuditEntry.action).where(AuditEntry.action == "crowd.alert")).scalars()
        assert len(list(raised)) == 3


def test_a_lower_level_later_is_recorded_and_not_alarmed_again(counter: Registered) -> None:
    jobs.handle(COUNT_TOPIC, counter.raw(1, count=950))
    jobs.handle(COUNT_TOPIC, counter.raw(2, count=710))
    assert _zone().level == "watch" and _zone().last_count == 710
    jobs.handle(COUNT_TOPIC, counter.raw(3, count=960))  # back up to control: raised already
    assert _alerts() == [("crowd", "control", 950)]
    assert _zone().level == "control"


def test_a_count_with_an_image_is_refused_counted_and_kept_without_it(counter: Registered) -> None:
    result = jobs.handle(COUNT_TOPIC, counter.raw(1, count=900, snapshot="data:image/jpeg;base64,AAAA"))
    assert result.refusal is Refusal.FORBIDDEN_MEDIA
    with db.read_transaction() as s:
        letter = s.execute(select(DeadLetter)).scalar_one()
    assert letter.detail == "snapshot" and letter.excerpt == ""
    assert _alerts() == [] and _zone().last_count is None


@pytest.mark.parametrize(
    ("topic", "fields", "reason", "says"),
    [
        ("pingan/crowd/expo/hall-9/count", {"count": 10}, Refusal.TOPIC_MISMATCH, "hall-9"),
        ("pingan/crowd/other/hall-1/count", {"count": 10}, Refusal.TOPIC_MISMATCH, "crowd_counter"),
        (COUNT_TOPIC, {"count": -1}, Refusal.INVALID_FIELD, "count"),
        (COUNT_TOPIC, {"count": "many"}, Refusal.INVALID_FIELD, "count"),
        (COUNT_TOPIC, {}, Refusal.INVALID_FIELD, "count"),
    ],
)
def test_a_bad_count_is_refused_naming_why(
    counter: Registered, topic: str, fields: dict[str, object], reason: Refusal, says: str
) -> None:
    result = jobs.handle(topic, counter.raw(1, **fields))
    assert result.refusal is reason and says in result.what


def test_a_crowd_counter_is_registered_for_an_existing_event(district: None) -> None:
    from pingan.core.errors import Invalid

    with pytest.raises(Invalid) as refused:
        register("ghost-1", DeviceKind.CROWD_COUNTER, "no-such-event")
    assert refused.value.field == "community"


def test_a_drone_inside_a_no_fly_zone_raises_one_alert_and_later_reports_join_it(
    expo: int, radar: Registered
) -> None:
    outside = jobs.handle(DRONE_TOPIC, radar.raw(1, lat=30.70, lon=104.20))
    assert outside.accepted and outside.alert_id is None
    first = jobs.handle(DRONE_TOPIC, radar.raw(2, lat=30.63, lon=104.055, alt_m=80))
    again = jobs.handle(DRONE_TOPIC, radar.raw(3, lat=30.631, lon=104.056))
    assert first.alert_id is not None and again.alert_id == first.alert_id
    with db.read_transaction() as s:
        alert = s.execute(select(CrowdAlert)).scalar_one()
        assert alert.kind is CrowdAlertKind.DRONE and alert.reports == 2
        assert (alert.lat, alert.lon) == (30.631, 104.056)
        zone = s.get(CrowdZone, alert.zone_id)
        assert zone is not None and zone.code == "sky"


def test_a_drone_over_an_event_not_running_raises_nothing(district: None, radar: Registered) -> None:
    now = clock.now()
    with db.transaction() as s:
        body = CrowdEventIn(code="later", name="明日赛事", starts_at=now + timedelta(days=1),
                            ends_at=now + timedelta(days=2))  # fmt: skip
        event = actions.do_create_event(s, body, SYSTEM, now=now)
        actions.do_add_zone(s, event, CrowdZoneIn(code="sky", name="禁飞区", polygon=NO_FLY, no_fly=True),
                            SYSTEM)  # fmt: skip
    assert jobs.handle(DRONE_TOPIC, radar.raw(1, lat=30.63, lon=104.055)).alert_id is None
    assert _alerts() == []


def test_a_drone_report_with_a_photo_is_refused(expo: int, radar: Registered) -> None:
    result = jobs.handle(
        DRONE_TOPIC, json.dumps(radar.message(1, lat=30.63, lon=104.055, photo="x")).encode()
    )
    assert result.refusal is Refusal.FORBIDDEN_MEDIA and _alerts() == []
