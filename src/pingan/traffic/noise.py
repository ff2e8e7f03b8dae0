"""The noise-level ingest (`pingan accidents noise-ingest`): noise sensors at the kerb publish
aggregate levels (LAeq, LAmax in dB(A) over a window) on `pingan/noise/{sensor}/level`; never audio.

It follows the sensor link's pattern (pingan.sensors.jobs, docs/mqtt.md), as its own small
subscriber since traffic may not import sensors (import-linter: the two sit side by side):
- QoS 1, a persistent session under a fixed client id (`clean_session=False`): while the ingest is
  away the broker keeps the readings;
- a message is acknowledged (PUBACK, `manual_ack`) only after its transaction commits; a copy sent
  again carries a reading number already taken and is refused as `replayed`;
- every refusal is a dead letter (`traffic_noise_dead_letter`); a message with audio, pictures or
  video is refused whole, counted, and keeps only the offending field names.
Not done: device keys and signatures (the sensor link's HMAC); the broker's ACL must restrict who
may publish on `pingan/noise/#`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pingan.core import clock, db
from pingan.core.logging import get_logger
from pingan.core.settings import get_settings
from pingan.traffic import actions, rules
from pingan.traffic.choices import NoiseRefusal

log = get_logger("traffic.noise")

CLIENT_ID = "pingan-traffic-noise"
SNAPPER_TTL_S = 600.0  # the road graph is read again this often
HANDLE_TRIES = 5


def subscription() -> str:
    """The noise topic filter under the configured root (`PINGAN_SENSORS_TOPIC_ROOT`)."""
    return f"{get_settings().sensors.topic_root}/noise/+/level"


@dataclass
class NoiseIngest:
    """One noise ingest connection: a paho client with its persistent session, run in the background."""

    host: str
    port: int
    client_id: str = CLIENT_ID
    taken: int = 0
    refused: int = 0
    refused_media: int = 0
    connects: int = 0
    client: mqtt.Client = field(init=False)
    _snapper: actions.Snapper | None = None
    _snapper_at: float = 0.0

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.suppress_exceptions = True
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    @classmethod
    def from_settings(cls) -> NoiseIngest:
        """On the sensor link's broker (`PINGAN_SENSORS_MQTT_HOST`, `_PORT`)."""
        s = get_settings().sensors
        return cls(host=s.mqtt_host, port=s.mqtt_port)

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("noise.connect_refused", reason=str(reason))
            return
        self.connects += 1
        client.subscribe(subscription(), qos=1)
        log.info("noise.connected", session_present=bool(flags.session_present))

    def handle(self, topic: str, raw: bytes, *, now: datetime | None = None) -> actions.NoiseIngested:
        """Take one message in its own transaction; a fault is rolled back and kept as a dead letter."""
        at = now or clock.now()
        try:
            with db.transaction() as session:
                if self._snapper is None or time.monotonic() - self._snapper_at > SNAPPER_TTL_S:
                    self._snapper, self._snapper_at = actions.Snapper.load(session), time.monotonic()
                return actions.do_ingest_noise(session, topic=topic, raw=raw, now=at, snapper=self._snapper)
        except Exception as exc:  # the ingest must outlive any message
            log.exception("noise.ingest_failed", topic=topic)
            refused = rules.NoiseRefused(NoiseRefusal.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}"[:255])
            with db.transaction() as session:
                return actions.do_noise_dead_letter(session, topic=topic, refused=refused, raw=raw, now=at)

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        result = None
        for attempt in range(HANDLE_TRIES):
            try:
                result = self.handle(message.topic, bytes(message.payload))
                break
            except Exception:  # the database itself is away: wait, try again
                log.exception("noise.database_unavailable", attempt=attempt + 1)
                time.sleep(min(5.0, 0.5 * 2**attempt))
        if result is None:
            log.error("noise.message_left_with_broker", topic=message.topic, mid=message.mid)
            return
        if result.accepted:
            self.taken += 1
        else:
            self.refused += 1
            if result.refusal is NoiseRefusal.FORBIDDEN_MEDIA:
                self.refused_media += 1
                log.warning("noise.media_refused", topic=message.topic, fields=result.detail)
        client.ack(message.mid, message.qos)

    def start(self) -> None:
        """Connect (retrying until the broker answers) and work in paho's background thread."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect cleanly (the session stays with the broker)."""
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()

    def run_forever(self) -> None:
        """Work until interrupted."""
        self.start()
        try:
            while True:
                time.sleep(1.0)
        finally:
            self.stop()
