"""The noise-level ingest against the real Mosquitto on 127.0.0.1:1883: a loud-exhaust reading
arrives and is kept on its segment; a message carrying audio is refused, counted and dead-lettered
with no content."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from pingan.command.roads import Roads
from pingan.core import db
from pingan.traffic.choices import NoiseRefusal
from pingan.traffic.model import NoiseDeadLetter, NoiseReading
from pingan.traffic.noise import NoiseIngest
from tests.conftest import MQTT_ROOT
from tests.traffic.conftest import on_segment
from tests.traffic.test_racing import noise

pytestmark = [pytest.mark.services, pytest.mark.mqtt]
HOST, PORT = "127.0.0.1", 1883


def wait_for(what: str, check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker(database: str) -> Iterator[NoiseIngest]:
    try:
        socket.create_connection((HOST, PORT), timeout=1).close()
    except OSError:
        pytest.skip("Mosquitto is not running on 127.0.0.1:1883")
    w = NoiseIngest(host=HOST, port=PORT, client_id=f"pingan-test-noise-{uuid.uuid4().hex[:8]}")
    w.start()
    wait_for("the ingest to connect", lambda: w.connects)
    time.sleep(0.3)  # the SUBACK
    yield w
    w.stop()
    forget = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=w.client_id, clean_session=True)
    forget.connect(HOST, PORT, keepalive=5)
    forget.disconnect()


def test_a_loud_exhaust_reading_arrives_and_an_audio_payload_is_refused(
    worker: NoiseIngest, grid: Roads
) -> None:
    sensor = f"N-{uuid.uuid4().hex[:6]}"
    topic = f"{MQTT_ROOT}/noise/{sensor}/level"
    lat, lon = on_segment(grid, 8)
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{sensor}-dev", protocol=mqtt.MQTTv311)
    sender.connect(HOST, PORT, keepalive=30)
    sender.loop_start()
    try:
        now = datetime.now(UTC)
        sender.publish(topic, noise(sensor, 1, at=now, lat=lat, lon=lon, lmax=103.5), qos=1).wait_for_publish(
            5
        )
        sender.publish(
            topic, noise(sensor, 2, at=now, lat=lat, lon=lon, lmax=104.0, audio="UklGRiQAAABXQVZFZm10"), qos=1
        ).wait_for_publish(5)

        def landed() -> tuple[NoiseReading, NoiseDeadLetter] | None:
            with db.transaction() as s:
                r = s.execute(select(NoiseReading).where(NoiseReading.sensor == sensor)).scalar_one_or_none()
                d = s.execute(
                    select(NoiseDeadLetter).where(NoiseDeadLetter.sensor == sensor)
                ).scalar_one_or_none()
                if r is not None:
                    s.expunge(r)
                if d is not None:
                    s.expunge(d)
                return (r, d) if r is not None and d is not None else None

        reading, letter = wait_for("the reading and the dead letter", landed)
    finally:
        sender.loop_stop()
        sender.disconnect()
    assert reading.lmax_db == 103.5 and reading.edge_id == int(grid.edge_id[8]) and reading.seq == 1
    assert letter.reason is NoiseRefusal.FORBIDDEN_MEDIA and letter.detail == "audio" and letter.excerpt == ""
    assert worker.refused_media == 1 and worker.taken == 1
