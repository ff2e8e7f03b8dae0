"""`pingan sim devices`: the plan is a function of its seed; alarms carry their false share; units
drive the road graph; holster draws come only from officers at an open incident; and a short run
against the real Mosquitto turns a simulated alarm into an incident through the ingest."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pingan.cli import app
from pingan.command import queries as command_queries
from pingan.core import db
from pingan.sensors.actions import DeviceForSimulation
from pingan.sensors.choices import AlarmType, DeviceKind
from pingan.sensors.jobs import Ingest
from pingan.sensors.model import SensorAlarm
from pingan.sim import devices as sim
from tests.sensors.conftest import GARDEN, Registered
from tests.sensors.test_mqtt import ingest, system_broker, wait_for  # noqa: F401 - fixtures

pytestmark = pytest.mark.mqtt

KEY = b"k" * 32


def _device(device_id: str, kind: DeviceKind, community: str = GARDEN, unit: str = "") -> DeviceForSimulation:
    return DeviceForSimulation(device_id, kind, community, 30.6125, 104.0525, unit, "", KEY, 0)


FLEET = [
    _device("smoke-a", DeviceKind.SMOKE_DETECTOR),
    _device("smoke-b", DeviceKind.SMOKE_DETECTOR),
    _device("door-1", DeviceKind.DOOR_SENSOR),
    _device("sos-1", DeviceKind.SOS_BUTTON),
    _device("holster-1", DeviceKind.HOLSTER, "holster", unit="玉林1"),
    _device("holster-2", DeviceKind.HOLSTER, "holster", unit="玉林2"),
]


def test_the_same_seed_gives_the_same_messages_and_another_seed_others() -> None:
    p = sim.Params(duration_s=3600, alarms_per_hour=120, holster_per_hour=10)
    one = sim.plan(7, FLEET, working={"玉林1"}, starts={}, graph=None, p=p)
    assert one == sim.plan(7, FLEET, working={"玉林1"}, starts={}, graph=None, p=p)
    assert one != sim.plan(8, FLEET, working={"玉林1"}, starts={}, graph=None, p=p)
    assert [m.at_s for m in one] == sorted(m.at_s for m in one)


def test_alarms_are_false_at_about_their_types_share() -> None:
    smoke = [_device("smoke-a", DeviceKind.SMOKE_DETECTOR)]
    p = sim.Params(duration_s=3600, alarms_per_hour=4000)
    first = [m for m in sim.plan_alarms(random.Random(3), smoke, p)]
    truths = Counter(m.truth for m in first)
    # A real one rings twice (it repeats), a false one once: count the first rings.
    false, real = truths["false"], truths["real"] / 2
    share = false / (false + real)
    assert abs(share - sim.FALSE_ALARM_SHARE[AlarmType.SMOKE]) < 0.03


def test_a_real_smoke_alarm_is_confirmed_by_the_communitys_second_detector() -> None:
    p = sim.Params(duration_s=3600, alarms_per_hour=200)
    plan = sim.plan_alarms(random.Random(5), FLEET[:2], p)
    real = [m for m in plan if m.truth == "real"]
    assert real and {m.device for m in real} == {"smoke-a", "smoke-b"}
    # Every real first ring is followed by the other detector's.
    rings = sorted(real, key=lambda m: m.at_s)
    assert len(rings) % 2 == 0


def test_holster_draws_come_only_from_officers_whose_unit_is_at_an_open_incident() -> None:
    p = sim.Params(duration_s=3600, holster_per_hour=30)
    events = sim.plan_holster(random.Random(2), FLEET, {"玉林1"}, p)
    assert events and {m.device for m in events} == {"holster-1"}
    kinds = Counter(m.fields["event"] for m in events)
    assert kinds["holster_draw"] == kinds["holster_return"] > 0
    assert sim.plan_holster(random.Random(2), FLEET, set(), p) == []


def test_units_drive_along_the_road_graph(block_roads: None) -> None:
    with db.read_transaction() as s:
        segments = command_queries.road_segments(s)
    graph = sim.Graph.from_segments(segments)
    tracker = _device("gps-1", DeviceKind.UNIT_TRACKER, "units", unit="玉林1")
    start = (float(graph.lat[0]), float(graph.lon[0]))
    p = sim.Params(duration_s=120, position_every_s=5)
    fixes = sim.plan_tracks(random.Random(1), [tracker], {"玉林1": start}, graph, p)
    assert len(fixes) == 24 and {m.topic for m in fixes} == {"pingan/units/玉林1/position"}
    lats, lons = graph.lat, graph.lon
    for m in fixes:  # every fix lies on a road segment (between its two ends)
        lat, lon = m.fields["lat"], m.fields["lon"]
        on_some = any(
            min(segments.a_lat[k], segments.b_lat[k]) - 1e-6
            <= lat
            <= max(segments.a_lat[k], segments.b_lat[k]) + 1e-6
            and min(segments.a_lon[k], segments.b_lon[k]) - 1e-6
            <= lon
            <= max(segments.a_lon[k], segments.b_lon[k]) + 1e-6
            for k in range(len(segments.edge_id))
        )
        assert on_some, (lat, lon)
    assert len({(m.fields["lat"], m.fields["lon"]) for m in fixes}) > 10  # it moves
    assert lats.min() - 1e-6 <= min(m.fields["lat"] for m in fixes)
    assert lons.max() + 1e-6 >= max(m.fields["lon"] for m in fixes)


def test_the_crowd_curve_rises_holds_and_falls() -> None:
    d = 1000.0
    assert sim.crowd_share(0, d) < 0.05
    assert sim.crowd_share(500, d) > 0.95
    assert sim.crowd_share(999, d) < 0.1
    p = sim.Params(duration_s=600, crowd_event="expo", crowd_zones=2, crowd_capacity=1000, crowd_every_s=60)
    counts = sim.plan_crowd(random.Random(1), p)
    assert len(counts) == 20 and all(set(m.fields) == {"count"} for m in counts)


def test_a_short_run_against_mosquitto_becomes_incidents_through_the_ingest(
    ingest: Ingest,  # noqa: F811
    smoke_a: Registered,
    sos_button: Registered,
) -> None:
    out = CliRunner().invoke(
        app,
        ["sim", "devices", "--duration", "2", "--alarms-per-hour", "18000", "--seed", "4",
         "--position-every", "0"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "published alarm" in out.output and "not acknowledged by the broker 0" in out.output

    def incidents() -> list[int]:
        with db.read_transaction() as s:
            return [i for i in s.execute(select(SensorAlarm.incident_id)).scalars() if i is not None]

    assert wait_for("a simulated alarm's incident", incidents)


def test_simulated_crowd_counts_are_taken_by_the_ingest(ingest: Ingest, district: None) -> None:  # noqa: F811
    from pingan.sensors import actions
    from pingan.sensors.model import CrowdEvent, CrowdZone, DeadLetter
    from pingan.sensors.schemas import CrowdZoneIn
    from tests.conftest import SYSTEM
    from tests.sensors.conftest import register
    from tests.sensors.test_crowd_ingest import HALL, make_event

    make_event("expo", capacity=100)
    with db.transaction() as s:  # the simulator's zones are zone-1, zone-2, counted by expo-zone-N
        expo = s.execute(select(CrowdEvent).where(CrowdEvent.code == "expo")).scalar_one()
        for z in ("zone-1", "zone-2"):
            actions.do_add_zone(s, expo, CrowdZoneIn(code=z, name=z, polygon=HALL, capacity=100), SYSTEM)
    for z in ("zone-1", "zone-2"):
        register(f"expo-{z}", DeviceKind.CROWD_COUNTER, "expo")
    out = CliRunner().invoke(
        app,
        ["sim", "devices", "--duration", "30", "--alarms-per-hour", "0", "--holster-per-hour", "0",
         "--position-every", "0", "--crowd-event", "expo", "--crowd-zones", "2", "--crowd-capacity", "100",
         "--speed", "30"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output

    def counted() -> list[int | None]:
        with db.read_transaction() as s:
            zones = s.execute(select(CrowdZone).where(CrowdZone.code.in_(["zone-1", "zone-2"]))).scalars()
            return [z.last_count for z in zones if z.counted_at is not None]

    wait_for("both zones' counts", lambda: len(counted()) == 2)
    with db.read_transaction() as s:
        assert s.execute(select(DeadLetter)).scalars().all() == []
