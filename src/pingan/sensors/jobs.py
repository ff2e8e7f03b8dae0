"""The MQTT ingest (`pingan sensors ingest`): subscribes to the device topics at QoS 1 with a
persistent session under a fixed client id, takes each message through `actions.do_ingest`, and
publishes the alarms' acknowledgements back on each device's `…/ack` topic.

Delivery (docs/mqtt.md):
- The session is persistent (`clean_session=False`, fixed client id): while the ingest is away the
  broker keeps its QoS 1 messages, and hands them over when it reconnects.
- A message is acknowledged to the broker (PUBACK, `manual_ack`) only after its transaction has
  committed, so a crash mid-message leaves it with the broker, which sends it again.
- A message sent twice (a redelivery after the PUBACK was lost) carries a number the device has
  used already: it is refused as a replay and has no effect the second time.
- paho reconnects by itself after a broker restart (1 s, doubling to 30 s).
The ingest never stops on bad input: every refusal is a dead letter, every fault is logged.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pingan.core import clock, db
from pingan.core.logging import get_logger
from pingan.core.settings import get_settings
from pingan.sensors import actions, rules
from pingan.sensors.choices import Refusal

log = get_logger("sensors.ingest")

SUBSCRIPTIONS = ("pingan/+/+/alarm", "pingan/units/+/position", "pingan/holster/+/event")
ACK_POLL_S = 0.5  # how often the outbox of acknowledgements (written by any process) is read
PURGE_EVERY_S = 3600.0
HANDLE_TRIES = 5  # a message whose dead letter cannot be written either is tried this often


def handle(topic: str, raw: bytes, *, now: datetime | None = None) -> actions.Ingested:
    """Take one message in its own transaction. Nothing it holds can raise: a fault in acting on a
    valid message is rolled back and kept as a `processing_failed` dead letter with the error."""
    at = now or clock.now()
    try:
        with db.transaction() as session:
            return actions.do_ingest(session, topic=topic, raw=raw, now=at)
    except Exception as exc:  # the ingest must outlive any message: keep it, with the error, and go on
        log.exception("sensors.ingest_failed", topic=topic)
        refused = rules.Refused(Refusal.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}"[:255])
        with db.transaction() as session:
            return actions.do_dead_letter(session, topic=topic, refused=refused, raw=raw, now=at)


def publish_pending_acks(client: mqtt.Client) -> int:
    """Publish the acknowledgements not yet sent (QoS 1) and stamp them; returns how many."""
    with db.transaction() as session:
        pending = actions.pending_acks(session)
        now = clock.now()
        for ack, topic, body in pending:
            info = client.publish(topic, json.dumps(body, ensure_ascii=False), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
                log.warning("sensors.ack_publish_failed", topic=topic, rc=info.rc)
                break
            # paho keeps a QoS 1 message it could not send yet and sends it on reconnect.
            ack.sent_at = now
        return len(pending)


@dataclass
class Ingest:
    """One ingest connection: a paho client with its persistent session, run in the background."""

    host: str
    port: int
    client_id: str
    taken: int = 0
    refused: int = 0
    connects: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    client: mqtt.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        # A fault in a callback is logged by paho instead of ending its network thread.
        self.client.suppress_exceptions = True
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    @classmethod
    def from_settings(cls) -> Ingest:
        """The ingest as the settings (`PINGAN_SENSORS_*`) describe it."""
        s = get_settings().sensors
        return cls(host=s.mqtt_host, port=s.mqtt_port, client_id=s.client_id)

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("sensors.connect_refused", reason=str(reason))
            return
        self.connects += 1
        # Subscribing again is harmless with a kept session, and needed when the broker lost it.
        client.subscribe([(t, 1) for t in SUBSCRIPTIONS])
        log.info("sensors.connected", session_present=bool(flags.session_present))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        log.info("sensors.disconnected", reason=str(reason))

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        result = None
        for attempt in range(HANDLE_TRIES):
            try:
                result = handle(message.topic, bytes(message.payload))
                break
            except Exception:  # the database itself is away: wait, try again, never die
                log.exception("sensors.database_unavailable", attempt=attempt + 1)
                time.sleep(min(5.0, 0.5 * 2**attempt))
        if result is None:
            # Not acknowledged: the broker keeps the message and sends it again when we reconnect.
            log.error("sensors.message_left_with_broker", topic=message.topic, mid=message.mid)
            return
        if result.accepted:
            self.taken += 1
        else:
            self.refused += 1
        client.ack(message.mid, message.qos)
        if result.alarm_id is not None:
            self._publish_acks()

    def _publish_acks(self) -> None:
        try:
            publish_pending_acks(self.client)
        except Exception:  # the outbox is read again at the next poll
            log.exception("sensors.ack_outbox_failed")

    def start(self) -> None:
        """Connect (retrying until the broker answers) and work in background threads."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._housekeeping, name="sensors-acks", daemon=True)
        self._thread.start()

    def _housekeeping(self) -> None:
        last_purge = 0.0
        while not self._stop.wait(ACK_POLL_S):
            self._publish_acks()
            if time.monotonic() - last_purge >= PURGE_EVERY_S:
                last_purge = time.monotonic()
                try:
                    with db.transaction() as session:
                        actions.do_purge_positions(session, now=clock.now(), actor=actions.INGEST)
                except Exception:
                    log.exception("sensors.purge_failed")

    def stop(self) -> None:
        """Disconnect cleanly (the session stays with the broker) and stop the threads."""
        self._stop.set()
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def run_forever(self) -> None:
        """Work until interrupted (the command's loop)."""
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        finally:
            self.stop()
