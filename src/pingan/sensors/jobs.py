"""The MQTT ingest (`pingan sensors ingest`): subscribes to the device topics at QoS 1 with a
persistent session under a fixed client id, takes the messages in batches through
`actions.do_ingest`, and publishes the alarms' acknowledgements back on each device's `…/ack` topic.

Delivery (docs/mqtt.md):
- The session is persistent (`clean_session=False`, fixed client id): while the ingest is away the
  broker keeps its QoS 1 messages, and hands them over when it reconnects.
- paho's network thread only queues each message. A worker takes them in batches (up to
  `BATCH_MAX` messages or `BATCH_WAIT_S`, whichever comes first) in ONE transaction, each message in
  a savepoint of its own, so a message that fails is a dead letter and the rest of the batch commits.
- A message is acknowledged to the broker (PUBACK, `manual_ack`) only after its batch has committed,
  so a crash mid-batch leaves the whole batch with the broker, which sends it again.
- A message sent twice (a redelivery after the PUBACK was lost) carries a number the device has
  used already: it is refused as a replay and has no effect the second time.
- paho reconnects by itself after a broker restart (1 s, doubling to 30 s).
- With several worker processes (`run_workers`, `pingan sensors ingest --workers N`), the positions
  are shared among them through a shared subscription (`$share/GROUP/...`): each process has its own
  client id and persistent session and acknowledges after its own commit. A device's positions may
  then reach different processes out of order; the database tells a late position from a replay
  (`officer_position`'s unique device and number). Every other kind is taken by worker 0 alone, in
  the order the broker sent it, as by a single ingest.
The ingest never stops on bad input: every refusal is a dead letter, every fault is logged.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session

from pingan.core import clock, db, pulse
from pingan.core.logging import get_logger
from pingan.core.settings import get_settings
from pingan.sensors import actions, rules
from pingan.sensors.choices import Refusal

log = get_logger("sensors.ingest")

# The topic filters under the configured root (`PINGAN_SENSORS_TOPIC_ROOT`, `pingan` by default).
SUBSCRIPTIONS = (
    "+/+/alarm",
    "units/+/position",
    "holster/+/event",
    "crowd/+/+/count",
    "drone/+/report",
)
# What several worker processes share (a shared subscription: the broker hands each message to one
# of them). Positions only: the other kinds' rules read what came before them across devices (the
# smoke confirmation, the dedup window, a zone's crowd level), so worker 0 takes them in order.
SHARED = ("units/+/position",)
WORKERS_MAX = 16


def subscriptions(*, share_group: str = "", primary: bool = True) -> list[str]:
    """The topic filters an ingest process subscribes to: all of them alone; with a `share_group`,
    the shared ones as `$share/{group}/...`, and the others only in the primary (worker 0)."""
    root = get_settings().sensors.topic_root
    own = [f"{root}/{t}" for t in SUBSCRIPTIONS if not share_group or (primary and t not in SHARED)]
    if not share_group:
        return own
    return own + [f"$share/{share_group}/{root}/{t}" for t in SHARED]


ACK_POLL_S = 0.5  # how often the outbox of acknowledgements (written by any process) is read
PURGE_EVERY_S = 3600.0
HANDLE_TRIES = 5  # a batch that cannot be committed at all (the database away) is tried this often
# Messages in one transaction at most. A batch costs about ten round trips to the database whatever
# its size (load and lock its devices and units, write their numbers and fixes, the history, the
# audit entry, the commit), and on a loaded machine those waits were most of the ingest's time
# (py-spy, bench/mqtt.py on PostgreSQL, 200 trackers, load average 16-18, one 25 s run each):
# batches of 100 took 605 positions/s, of 500 854/s, of 1,000 3,384/s. The broker must let twice as many be
# in flight (docs/mqtt.md) for the next batch to arrive while one commits.
BATCH_MAX = 1000
BATCH_WAIT_S = 0.05  # a batch waits this long at most for more messages after its first
# A batch also ends when no message came for this long: the broker holds back what it would send
# until the batch's messages are acknowledged (its in-flight window), so waiting longer gains nothing.
BATCH_IDLE_S = 0.005


def handle_batch(
    messages: Sequence[tuple[str, bytes]], *, now: datetime | None = None, ring: actions.KeyRing | None = None
) -> list[actions.Ingested]:
    """Take messages in one transaction, in order; one result each.

    Set-based where it is safe (docs/mqtt.md, Delivery): the batch's devices and their units are
    loaded and locked in one query each, a position only updates the batch in memory (its device's
    number, the unit's latest fix, a history row), and the units and the history are written together.
    Every other message runs in a savepoint of its own, after the positions before it are applied, so
    it sees the batch's earlier messages exactly as if each had been committed alone.

    A fault in acting on a valid message rolls back its savepoint only, and the message is kept as a
    `processing_failed` dead letter with the error: the other messages of the batch still commit. A
    fault of the transaction itself (the database away) raises, and nothing of the batch is kept.

    With the process's `ring` of device keys, the signatures of the devices it knows are checked
    before the transaction, so not while the batch holds its devices' locks."""
    config = get_settings().sensors
    reads = [
        rules.read_message(topic, raw, root=config.topic_root, max_bytes=config.max_payload_bytes)
        for topic, raw in messages
    ]
    signatures = actions.check_signatures(ring, reads) if ring is not None else None
    results: list[actions.Ingested] = []
    with db.transaction() as session:
        batch = actions.load_batch(session, reads, ring=ring, signatures=signatures)
        for (topic, raw), read in zip(messages, reads, strict=True):
            at = now or clock.now()
            if isinstance(read, rules.Refused) or read.topic.kind == "position":
                try:  # checks and memory only: nothing to roll back when it fails
                    results.append(
                        actions.do_ingest(session, topic=topic, raw=raw, now=at, read=read, batch=batch)
                    )
                    continue
                except Exception as exc:  # the ingest must outlive any message: keep it with the error
                    log.exception("sensors.ingest_failed", topic=topic)
                    results.append(_failed(session, topic, raw, exc, at))
                    continue
            actions.flush_positions(session, batch)
            try:
                with session.begin_nested():
                    results.append(
                        actions.do_ingest(session, topic=topic, raw=raw, now=at, read=read, batch=batch)
                    )
            except Exception as exc:  # the ingest must outlive any message: keep it with the error
                log.exception("sensors.ingest_failed", topic=topic)
                with session.begin_nested():
                    results.append(_failed(session, topic, raw, exc, at))
        actions.finish(session, batch)
    return results


def _failed(session: Session, topic: str, raw: bytes, exc: Exception, at: datetime) -> actions.Ingested:
    refused = rules.Refused(Refusal.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}"[:255])
    return actions.do_dead_letter(session, topic=topic, refused=refused, raw=raw, now=at)


def handle(topic: str, raw: bytes, *, now: datetime | None = None) -> actions.Ingested:
    """Take one message in its own transaction (a batch of one)."""
    return handle_batch([(topic, raw)], now=now)[0]


class Received(NamedTuple):
    """A message as paho's thread handed it over: what to read, and what to acknowledge it with."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int  # the ingest's connection it came on: its `mid` means nothing on another


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
    batches: int = 0
    batch_max: int = BATCH_MAX
    batch_wait_s: float = BATCH_WAIT_S
    # Several worker processes: the group of the shared subscription ("" for a single ingest), and
    # whether this one is worker 0, which also takes the kinds not shared and publishes the outbox.
    share_group: str = ""
    primary: bool = True
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _worker: threading.Thread | None = None
    _inbox: queue.Queue[Received] = field(default_factory=queue.Queue)
    _ring: actions.KeyRing = field(default_factory=actions.KeyRing)
    client: mqtt.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        # A worker of several reconnects within 2 s at most: Mosquitto 2.0.11 does not restore a shared
        # subscription after its own restart, and drops what comes before the workers subscribe
        # again (docs/mqtt.md, Worker processes); this keeps that window short, it does not close it.
        self.client.reconnect_delay_set(min_delay=1, max_delay=2 if self.share_group else 30)
        # A fault in a callback is logged by paho instead of ending its network thread.
        self.client.suppress_exceptions = True
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    @classmethod
    def from_settings(cls, *, worker: int = 0, workers: int = 1) -> Ingest:
        """The ingest as the settings (`PINGAN_SENSORS_*`) describe it; with `workers` > 1, worker
        `worker` of them, with the client id `{client_id}-{worker}` in the shared group `{client_id}`."""
        s = get_settings().sensors
        return cls(
            host=s.mqtt_host,
            port=s.mqtt_port,
            client_id=s.client_id if workers == 1 else f"{s.client_id}-{worker}",
            batch_max=s.batch_max,
            batch_wait_s=s.batch_wait_ms / 1000.0,
            share_group="" if workers == 1 else s.client_id,
            primary=worker == 0,
        )

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("sensors.connect_refused", reason=str(reason))
            return
        self.connects += 1
        # Subscribing again is harmless with a kept session, and needed when the broker lost it.
        topics = subscriptions(share_group=self.share_group, primary=self.primary)
        client.subscribe([(t, 1) for t in topics])
        log.info("sensors.connected", session_present=bool(flags.session_present), topics=topics)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        log.info("sensors.disconnected", reason=str(reason))

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        # paho's network thread only queues: the worker takes messages in batches.
        self._inbox.put(
            Received(message.topic, bytes(message.payload), message.mid, message.qos, self.connects)
        )

    def _next_batch(self) -> list[Received]:
        """The messages of one batch: the first waited for (briefly, to notice a stop), then as many
        as come within the batch's wait, up to its size."""
        try:
            batch = [self._inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        started = time.monotonic()
        while len(batch) < self.batch_max:
            left = self.batch_wait_s - (time.monotonic() - started)
            if left <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=min(left, BATCH_IDLE_S)))
            except queue.Empty:
                break
        return batch

    def _work(self) -> None:
        while not self._stop.is_set():
            batch = self._next_batch()
            if batch:
                self._take(batch)

    def _take(self, batch: list[Received]) -> None:
        results = None
        for attempt in range(HANDLE_TRIES):
            try:
                results = handle_batch([(m.topic, m.payload) for m in batch], ring=self._ring)
                break
            except Exception:  # the database itself is away: wait, try again, never die
                log.exception("sensors.database_unavailable", attempt=attempt + 1, messages=len(batch))
                if self._stop.wait(min(5.0, 0.5 * 2**attempt)):
                    break
        if results is None:
            # Not acknowledged: the broker keeps the messages and sends them again when we reconnect.
            log.error("sensors.batch_left_with_broker", messages=len(batch))
            return
        self.batches += 1
        for message, result in zip(batch, results, strict=True):
            if result.accepted:
                self.taken += 1
            else:
                self.refused += 1
            # Committed: now the broker may forget it. A message of an earlier connection is not
            # acknowledged (its number may name another message now); the broker sends it again and
            # its copy is refused as a replay.
            if message.connection == self.connects:
                self.client.ack(message.mid, message.qos)
        if self.primary and any(r.alarm_id is not None for r in results):
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
        self._worker = threading.Thread(target=self._work, name="sensors-ingest", daemon=True)
        self._worker.start()
        if self.primary:  # one process publishes the outbox and purges, however many take messages
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
                        pulse.prune(session, now=clock.now())  # read within seconds; kept an hour
                except Exception:
                    log.exception("sensors.purge_failed")

    def stop(self) -> None:
        """Finish the batch in hand, disconnect cleanly (the session stays with the broker, with the
        messages not yet taken) and stop the threads."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def run_forever(self, *, parent: int | None = None) -> None:
        """Work until interrupted (the command's loop); a worker process also ends when its `parent`
        (`run_workers`) is gone, so that no worker outlives it to take its client id from a new one."""
        self.start()
        try:
            while not self._stop.wait(1.0):
                if parent is not None and os.getppid() != parent:
                    log.warning("sensors.parent_gone", client_id=self.client_id)
                    break
        finally:
            self.stop()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_workers(workers: int, command: Callable[[int], list[str]]) -> None:
    """Run `workers` ingest processes (`command(k)` starts worker k) until interrupted (SIGINT or
    SIGTERM), starting again any that ends; then stop each with SIGINT (it finishes its batch and
    leaves its session with the broker) and wait for it.

    The workers run in sessions of their own, so that a terminal's Ctrl-C reaches them once, from
    here, and not in the middle of their stop."""
    signal.signal(signal.SIGTERM, _interrupt)
    procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(k: int) -> None:
        procs[k] = subprocess.Popen(command(k), start_new_session=True)  # noqa: S603 - our own command
        log.info("sensors.worker_started", worker=k, pid=procs[k].pid)

    try:
        for k in range(workers):
            start(k)
        while True:
            time.sleep(1.0)
            for k, proc in list(procs.items()):
                if proc.poll() is not None:
                    log.error("sensors.worker_ended", worker=k, returncode=proc.returncode)
                    start(k)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs.values():
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
