"""The sensor link against real Mosquitto brokers: the system one on 127.0.0.1:1883, and a private
`mosquitto -p PORT` with persistence in a temporary folder, killed and restarted mid-test."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from pingan.command.choices import IncidentStatus, Priority
from pingan.command.model import Incident, Unit
from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.sensors import actions as sensors_actions
from pingan.sensors.choices import AlertState, DeviceKind
from pingan.sensors.jobs import Ingest
from pingan.sensors.model import DeadLetter, OfficerPosition, SafetyAlert, SensorAlarm
from tests.command.conftest import add_unit, move
from tests.conftest import MQTT_ROOT
from tests.sensors.conftest import GARDEN, Registered, register

pytestmark = [pytest.mark.services, pytest.mark.mqtt]
HOST, PORT = "127.0.0.1", 1883
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
TIMEOUT_S = 15.0


def _broker_up(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Device:
    """A device's own MQTT client: QoS 1, a persistent session of its own, and what it hears back."""

    def __init__(self, port: int, client_id: str) -> None:
        self.heard: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311
        )
        self.client.reconnect_delay_set(1, 2)
        self.client.on_message = self._heard
        self.client.connect(HOST, port, keepalive=30)
        self.client.loop_start()

    def _heard(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.heard.append(json.loads(message.payload))

    def listen(self, topic: str) -> None:
        info = self.client.subscribe(topic, qos=1)
        assert info[0] == mqtt.MQTT_ERR_SUCCESS

    def states(self) -> list[str]:
        with self.lock:
            return [str(m["state"]) for m in self.heard]

    def publish(self, topic: str, raw: bytes) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, raw, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def forget_session(port: int, client_id: str) -> None:
    """Connect once with a clean session under `client_id`, so the broker drops what it kept for it."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        c.connect(HOST, port, keepalive=5)
        c.loop_start()
        time.sleep(0.2)
        c.disconnect()
        c.loop_stop()
    except OSError:
        pass


@pytest.fixture
def system_broker() -> int:
    if not _broker_up(PORT):
        pytest.skip("Mosquitto is not running on 127.0.0.1:1883 (apt install mosquitto)")
    return PORT


@pytest.fixture
def ingest(system_broker: int, database: str) -> Iterator[Ingest]:
    sensors_actions.install()
    client_id = f"pingan-test-ingest-{uuid.uuid4().hex[:8]}"
    worker = Ingest(host=HOST, port=system_broker, client_id=client_id)
    worker.start()
    wait_for("the ingest to connect", lambda: worker.connects)
    time.sleep(0.3)  # the SUBACK
    yield worker
    worker.stop()
    forget_session(system_broker, client_id)


@pytest.fixture
def device_client(system_broker: int) -> Iterator[Device]:
    client_id = f"pingan-test-device-{uuid.uuid4().hex[:8]}"
    d = Device(system_broker, client_id)
    yield d
    d.close()
    forget_session(system_broker, client_id)


def _alarms() -> list[tuple[int, int | None]]:
    with db.read_transaction() as s:
        return [
            (a.seq, a.incident_id) for a in s.execute(select(SensorAlarm).order_by(SensorAlarm.id)).scalars()
        ]


def test_an_alarm_becomes_an_incident_and_is_acknowledged_on_the_device_topic(
    ingest: Ingest, device_client: Device, smoke_a: Registered, unit_yulin1: int
) -> None:
    device_client.listen(f"{MQTT_ROOT}/{GARDEN}/smoke-a/ack")
    time.sleep(0.3)
    device_client.publish(f"{MQTT_ROOT}/{GARDEN}/smoke-a/alarm", smoke_a.raw(1, type="smoke"))

    wait_for("the received ack", lambda: "received" in device_client.states())
    [(seq, incident_id)] = _alarms()
    assert seq == 1 and incident_id is not None
    assert device_client.heard[0]["incident"] == incident_id and device_client.heard[0]["alarm_seq"] == 1

    move(unit_yulin1, "assign", incident_id=incident_id)
    wait_for("the dispatched ack", lambda: "dispatched" in device_client.states())
    for step in ("acknowledge", "depart", "arrive"):
        move(unit_yulin1, step)
    move(unit_yulin1, "clear", note="烟感误报：厨房油烟")
    wait_for("the closed ack", lambda: "closed" in device_client.states())
    assert device_client.states() == ["received", "dispatched", "closed"]
    with db.read_transaction() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None and incident.status is IncidentStatus.CLOSED


def test_a_bad_message_through_the_broker_is_a_dead_letter_and_the_ingest_goes_on(
    ingest: Ingest, device_client: Device, smoke_a: Registered
) -> None:
    device_client.publish(f"{MQTT_ROOT}/{GARDEN}/smoke-a/alarm", b"\xff\xfe not json")
    device_client.publish(f"{MQTT_ROOT}/{GARDEN}/smoke-a/alarm", smoke_a.raw(1, type="smoke"))
    wait_for("the good alarm after the bad one", _alarms)
    with db.read_transaction() as s:
        reasons = [d.reason.value for d in s.execute(select(DeadLetter)).scalars()]
    assert reasons == ["malformed_json"]


def test_unit_positions_move_the_unit_and_its_fix_time(
    ingest: Ingest, device_client: Device, tracker_yulin1: Registered, unit_yulin1: int
) -> None:
    device_client.publish(
        f"{MQTT_ROOT}/units/玉林1/position", tracker_yulin1.raw(1, lat=30.6131, lon=104.0533)
    )

    def moved() -> bool:
        with db.read_transaction() as s:
            unit = s.get(Unit, unit_yulin1)
            return unit is not None and unit.lat == 30.6131 and unit.fix_at is not None

    wait_for("the unit to move", moved)


def test_a_holster_draw_raises_one_officer_safety_alert_with_backup(
    ingest: Ingest,
    device_client: Device,
    holster_wang: Registered,
    tracker_yulin1: Registered,
    unit_yulin1: int,
    block_roads: None,
) -> None:
    backup = add_unit("玉林2")
    with db.transaction() as s:
        unit = s.get(Unit, backup)
        assert unit is not None
        unit.lat, unit.lon, unit.fix_at = 30.6000, 104.0100, clock.now()
    device_client.publish(
        f"{MQTT_ROOT}/units/玉林1/position", tracker_yulin1.raw(1, lat=30.6000, lon=104.0000)
    )
    wait_for("the officer's position", lambda: _unit_lat(unit_yulin1) == 30.6000)

    device_client.publish(f"{MQTT_ROOT}/holster/holster-7/event", holster_wang.raw(1, event="holster_draw"))
    device_client.publish(f"{MQTT_ROOT}/holster/holster-7/event", holster_wang.raw(2, event="shot_detected"))

    def alert_with_two_events() -> SafetyAlert | None:
        with db.read_transaction() as s:
            a = s.execute(select(SafetyAlert)).scalar_one_or_none()
            if a is not None and a.events == "holster_draw,shot_detected":
                s.expunge(a)
                return a
            return None

    alert = wait_for("the alert with both events", alert_with_two_events)
    assert alert.state is AlertState.ACTIVE and (alert.lat, alert.lon) == (30.6000, 104.0000)
    assert [b["call_sign"] for b in json.loads(alert.backup)] == ["玉林2"]
    with db.read_transaction() as s:
        incident = s.get(Incident, alert.incident_id)
        assert incident is not None and incident.priority is Priority.URGENT
        # One danger, one incident: the shot joined the draw's alert.
        assert s.execute(select(func.count()).select_from(SafetyAlert)).scalar_one() == 1
        raised = s.execute(select(AuditEntry).where(AuditEntry.action == "safety.alert")).scalars().all()
        assert [e.object_id for e in raised] == [str(alert.id)]


def _unit_lat(unit_id: int) -> float | None:
    with db.read_transaction() as s:
        unit = s.get(Unit, unit_id)
        return unit.lat if unit is not None else None


# ----------------------------------------------------------------------- worker processes shared


def test_two_ingest_workers_share_the_positions_and_keep_each_exactly_once(
    database: str, system_broker: int, district: None
) -> None:
    sensors_actions.install()
    trackers = []  # three: the broker's turns among two workers split each device's positions
    for i in range(3):
        add_unit(f"共享{i}")
        trackers.append(
            register(f"gps-share-{i}", DeviceKind.UNIT_TRACKER, "units", unit_call_sign=f"共享{i}")
        )
    group = f"pingan-test-share-{uuid.uuid4().hex[:8]}"
    workers = [
        Ingest(host=HOST, port=system_broker, client_id=f"{group}-{k}", share_group=group, primary=k == 0)
        for k in range(2)
    ]
    device = Device(system_broker, f"pingan-test-device-{uuid.uuid4().hex[:8]}")
    try:
        for w in workers:
            w.start()
        wait_for("both workers to connect", lambda: all(w.connects for w in workers))
        time.sleep(0.5)  # the SUBACKs
        # Worker 0 goes away: the broker keeps its share in its session, and worker 1 takes the
        # later positions of the same devices first.
        workers[0].stop()
        per_device = 100
        for seq in range(1, per_device + 1):
            for i, t in enumerate(trackers):
                lat = round(30.60 + seq * 1e-4, 6)
                device.publish(f"{MQTT_ROOT}/units/共享{i}/position", t.raw(seq, lat=lat, lon=104.05))
        total = per_device * len(trackers)
        wait_for("worker 1's share", lambda: workers[1].taken >= 100, timeout=60)
        workers[0] = Ingest(host=HOST, port=system_broker, client_id=f"{group}-0", share_group=group)
        workers[0].start()
        wait_for("every position", lambda: _positions() >= total, timeout=60)
        time.sleep(1.0)  # nothing more comes: no copy is kept twice
    finally:
        for w in workers:
            w.stop()
            forget_session(system_broker, w.client_id)
        device.close()

    with db.read_transaction() as s:
        rows = s.execute(select(OfficerPosition.device_pk, OfficerPosition.seq)).all()
        letters = s.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
        units = {u.call_sign: u for u in s.execute(select(Unit)).scalars()}
    assert len(rows) == total and letters == 0
    for t in trackers:
        assert sorted(seq for pk, seq in rows if pk == t.pk) == list(range(1, per_device + 1))
    # Each worker took its share, and each unit ends at its device's last fix wherever it was taken.
    assert all(w.taken > 0 for w in workers) and sum(w.taken for w in workers) == total
    assert all(units[f"共享{i}"].lat == round(30.60 + per_device * 1e-4, 6) for i in range(3))


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_the_ingest_command_runs_its_workers_and_a_sigint_stops_them_all(
    database: str, system_broker: int, district: None, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    add_unit("进程1")
    tracker = register("gps-proc-1", DeviceKind.UNIT_TRACKER, "units", unit_call_sign="进程1")
    client_id = f"pingan-test-cli-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PINGAN_DATABASE_URL": request.getfixturevalue(f"{database}_url"),
        "PINGAN_SENSORS_MQTT_HOST": HOST,
        "PINGAN_SENSORS_MQTT_PORT": str(system_broker),
        "PINGAN_SENSORS_CLIENT_ID": client_id,
    }
    command = [
        sys.executable,
        "-c",
        "from pingan.cli import app; app()",
        "sensors",
        "ingest",
        "--workers",
        "2",
    ]
    with (tmp_path / "ingest.log").open("w") as log_file:
        proc = subprocess.Popen(command, env=env, stdout=log_file, stderr=log_file)
    device = Device(system_broker, f"pingan-test-device-{uuid.uuid4().hex[:8]}")
    seq = 0
    try:

        def taken() -> bool:  # published until both workers are up and have taken some
            nonlocal seq
            seq += 1
            device.publish(f"{MQTT_ROOT}/units/进程1/position", tracker.raw(seq, lat=30.61, lon=104.05))
            return _positions() >= 20

        wait_for("the workers to take positions", taken, timeout=120)
        workers = _children(proc.pid)
        assert len(workers) == 2
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, (tmp_path / "ingest.log").read_text()
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)  # each stopped and waited for
        assert "stopped" in (tmp_path / "ingest.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        device.close()
        for k in range(2):
            forget_session(system_broker, f"{client_id}-{k}")
    with db.read_transaction() as s:
        letters = [(d.reason.value, d.detail) for d in s.execute(select(DeadLetter)).scalars()]
        kept = s.execute(select(OfficerPosition.seq)).scalars().all()
    # Each position kept once. A copy the broker sends again after a reconnect (a loaded machine can
    # miss a keep-alive) is refused as a replay (docs/mqtt.md, Delivery); nothing else is refused.
    assert len(kept) == len(set(kept))
    assert all(reason == "replayed" for reason, _ in letters), letters


def _positions() -> int:
    with db.read_transaction() as s:
        return int(s.execute(select(func.count()).select_from(OfficerPosition)).scalar_one())


# ----------------------------------------------------------------------------- broker restarted


class PrivateBroker:
    """A Mosquitto of this test's own, on a free port, persisting to a temporary folder."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind((HOST, 0))
            self.port = s.getsockname()[1]
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} {HOST}\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nautosave_interval 1\n"
            # Run as whoever runs the test: as root, Mosquitto would switch to the `mosquitto` user,
            # which cannot write its persistence file into this test's folder.
            f"user {getpass.getuser()}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        wait_for("the private broker", lambda: _broker_up(self.port), timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: Mosquitto writes its persistence file on the way out
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (apt install mosquitto)")
    broker = PrivateBroker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


def test_no_qos1_message_is_lost_when_the_broker_restarts_or_the_ingest_is_away(
    database: str, private_broker: PrivateBroker, district: None
) -> None:
    sensors_actions.install()
    buttons = [
        register(f"sos-{i}", DeviceKind.SOS_BUTTON, GARDEN, lat=30.6125, lon=104.0525) for i in range(3)
    ]
    ingest = Ingest(host=HOST, port=private_broker.port, client_id="pingan-ingest-restart-test")
    ingest.start()
    wait_for("the ingest", lambda: ingest.connects)
    time.sleep(0.3)
    device = Device(private_broker.port, "device-restart-test")
    sent = 0

    def send(n: int) -> None:
        nonlocal sent
        for _ in range(n):
            sent += 1
            b = buttons[sent % 3]
            device.publish(f"{MQTT_ROOT}/{GARDEN}/{b.device_id}/alarm", b.raw(sent, type="sos"))

    # 1. Messages flowing, then the broker restarted under them.
    send(10)
    wait_for("the first 10", lambda: len(_alarms()) == 10)
    private_broker.stop()
    send(5)  # the device's client holds these (QoS 1 in flight) until the broker is back
    time.sleep(1.0)
    private_broker.start()
    wait_for("the ingest to reconnect", lambda: ingest.connects >= 2)
    wait_for("the 5 sent while the broker was down", lambda: len(_alarms()) == 15)

    # 2. The ingest away: the broker keeps its persistent session's messages, over its own restart too.
    ingest.stop()
    send(5)
    time.sleep(1.5)  # the broker has them, and writes them to disk (autosave 1 s)
    private_broker.stop()
    private_broker.start()
    send(5)
    again = Ingest(host=HOST, port=private_broker.port, client_id="pingan-ingest-restart-test")
    again.start()
    try:
        wait_for("all 25", lambda: len(_alarms()) == 25, timeout=30)
    finally:
        again.stop()
        device.close()
    # Each message is taken once: per-device numbers are strictly increasing in what was accepted.
    with db.read_transaction() as s:
        rows = s.execute(select(SensorAlarm.seq).order_by(SensorAlarm.seq)).scalars().all()
    assert rows == list(range(1, 26))


def test_a_crowd_count_over_threshold_and_a_drone_in_a_no_fly_zone_raise_alerts_through_the_broker(
    ingest: Ingest, device_client: Device, district: None
) -> None:
    from pingan.sensors.choices import CrowdAlertKind
    from pingan.sensors.model import CrowdAlert
    from tests.sensors.test_crowd_ingest import COUNT_TOPIC, DRONE_TOPIC, make_event

    count_topic = COUNT_TOPIC.replace("pingan/", f"{MQTT_ROOT}/", 1)
    drone_topic = DRONE_TOPIC.replace("pingan/", f"{MQTT_ROOT}/", 1)

    make_event(capacity=1000)
    counter = register("expo-hall-1", DeviceKind.CROWD_COUNTER, "expo")
    radar = register("radar-1", DeviceKind.DRONE_DETECTOR, "drone")
    device_client.publish(count_topic, counter.raw(1, count=400))
    device_client.publish(count_topic, counter.raw(2, count=940, image="/9j/4AAQSkZJRg"))  # refused
    device_client.publish(count_topic, counter.raw(3, count=955))
    device_client.publish(count_topic, counter.raw(4, count=958))
    device_client.publish(drone_topic, radar.raw(1, lat=30.64, lon=104.07))

    def alerts() -> list[tuple[CrowdAlertKind, str]]:
        with db.read_transaction() as s:
            return [
                (a.kind, a.level) for a in s.execute(select(CrowdAlert).order_by(CrowdAlert.id)).scalars()
            ]

    wait_for("the crowd and drone alerts", lambda: len(alerts()) == 2)
    assert sorted(alerts()) == [(CrowdAlertKind.CROWD, "control"), (CrowdAlertKind.DRONE, "")]
    with db.read_transaction() as s:
        letter = s.execute(select(DeadLetter)).scalar_one()
    assert letter.reason.value == "forbidden_media" and letter.detail == "image" and letter.excerpt == ""
