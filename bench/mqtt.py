"""Sensors over MQTT (issue #20): ingest rate, event -> map and draw -> alert latencies, broker killed.

Everything runs for real: a private Mosquitto (the system one's binary, with persistence, unlimited
queues and a wide in-flight window; the system broker on 127.0.0.1:1883 is untouched), the ingest as
its own `pingan sensors ingest` PROCESS (one per phase, a fresh client id each), the whole web app
under uvicorn in this process with SSE clients reading `/live/stream` as open pages do, and the
publishers in SEPARATE processes (this file, `publish`; --publishers of them, device k in process
k % N so that each device's numbers stay in order). Each publisher builds its distinct, signed
messages before the clock starts, then publishes them at its share of --rate (paho without its
network thread, at most 20,000 not yet acknowledged) and counts the broker's PUBACKs. Every load
phase reports what was offered (published, and per second), what the broker counted
($SYS/broker/publish/messages/received, `sys_interval 1`), and the `officer_position` rows written
(a COUNT of rows, not of messages seen), with the machine's 1-minute load average while it ran.

0. Broker ceiling: the publishers, flat out, at QoS 1 into a subscriber that only counts (no database).
1. Baseline, per-message commits: the ingest process with PINGAN_SENSORS_BATCH_MAX=1 (one transaction
   and one PUBACK per message, as the ingest was before batching), under the publishers at --rate/s
   (6,000 by default, above the issue's 5,000; 0: flat out) for --baseline-seconds. The figure is
   `officer_position` rows committed per second while the publishers ran.
2. Batched ingest: the same, with batches (--batch-max, 50 ms) and --workers processes sharing the
   positions (`pingan sensors ingest --workers N`, 2 by default; 1: one process), for --seconds (the
   issue's target is 5,000/s for 60 s). ratio = batched / per-message. Also its slowest 5 s window.
   Phases 3 and 4 run the same --workers.
5. One process: the batched ingest as one process (`--workers 1`), run just before phase 2 under
   the same offered load, so that the worker processes are compared with it in the same conditions:
   ratio_workers_to_one_process = phase 2 / phase 5.
3. Latencies, at a load the ingest sustains (--steady-share of the rate measured in 2, so that no
   backlog builds): a probe unit's tracker publishes a position, and the time until a dispatcher's
   `map` stream names that unit is one sample; then a holster publishes `holster_draw`, and the time
   until the `safety` alarm is on every one of --pages open dispatcher streams (the slowest page
   counts) is one sample; the alert is closed so that the next draw raises a new one.
4. Broker killed: a publisher at --kill-rate/s for --kill-seconds; the broker is stopped (SIGTERM by
   default, so that it writes its persistence file; --kill-signal KILL for a hard kill) for 10 s
   a third of the way in and started again. lost = published - distinct messages committed.

Why the ingest process took no message before: its environment named the private broker's client id
but not its port, so `pingan sensors ingest` subscribed on the system broker (1883) while the
publisher and probes sent to the private one. Each phase now passes PINGAN_SENSORS_MQTT_PORT.

Prints one JSON object. Usage: .venv/bin/python bench/mqtt.py [--seconds 60] [--db postgres|sqlite]
[--rate 6000] [--publishers 2] [--phases 01234]
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("PINGAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
HOST = "127.0.0.1"
ROOT = os.environ.get("PINGAN_SENSORS_TOPIC_ROOT", "pingan")  # the topic root the ingest it starts reads
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
BROKERS: list[Any] = []
PASSWORD = "bench-only-password"  # noqa: S105 - the bench's throwaway users
PINGAN = str(REPO / ".venv" / "bin" / "pingan")


def key_of(device_id: str) -> str:
    """Each bench device's HMAC key, known to the publisher process without being passed to it."""
    return hashlib.sha256(f"bench-key:{device_id}".encode()).hexdigest()


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))], 4)


def note(what: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {what}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --- the publisher processes -----------------------------------------------------------------------

FLAT_OUT_PER_S = 20000  # what a flat-out publisher process builds messages for, per second of its run
WINDOW = 20000  # a publisher's messages sent and not yet acknowledged by the broker, at most


def build_messages(
    prefix: str, devices: int, part: int, parts: int, count: int, rate: float
) -> list[tuple[str, bytes]]:
    """`count` distinct signed positions of this process's trackers (device k where k % parts == part),
    round robin, each numbered after its device's previous one. Built before the clock starts: a
    message's `ts` is the time it is planned to be sent at (never later than it is sent), so its fix
    is as fresh as a tracker's would be."""
    from datetime import UTC, datetime

    from pingan.sensors import rules

    mine = [k for k in range(devices) if k % parts == part]
    keys = {k: bytes.fromhex(key_of(f"{prefix}{k}")) for k in mine}
    seqs = dict.fromkeys(mine, 0)
    base = time.time()
    out: list[tuple[str, bytes]] = []
    for i in range(count):
        k = mine[i % len(mine)]
        seqs[k] += 1
        n = i * parts + part  # the message's number among all processes' (its place on the map)
        body: dict[str, Any] = {
            "v": 1,
            "device": f"{prefix}{k}",
            "seq": seqs[k],
            "ts": datetime.fromtimestamp(base + (i / rate if rate else 0.0), UTC).isoformat(),
            "lat": 30.60 + (n % 97) * 0.0003,
            "lon": 104.03 + (n % 89) * 0.0003,
        }
        body["sig"] = rules.sign(keys[k], body)
        out.append((f"{ROOT}/units/{prefix}{k}/position", json.dumps(body).encode()))
    return out


def publish_main(argv: list[str]) -> None:
    """One publisher process: its share of the trackers' signed positions at QoS 1, at --rate/s (its
    share; 0: flat out), built before it says `ready` and published from the `go` on stdin.

    paho runs without its network thread: each `publish` writes its packet at once, and the loop is
    turned between chunks to read the broker's PUBACKs, so no thread hands packets to another."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--devices", type=int, required=True)
    ap.add_argument("--part", type=int, default=0)
    ap.add_argument("--parts", type=int, default=1)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--qos", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.0, help="this process's messages per second")
    ap.add_argument("--client-id", required=True)
    a = ap.parse_args(argv)

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    count = int(a.seconds * (a.rate or FLAT_OUT_PER_S)) + 1
    messages = build_messages(a.prefix, a.devices, a.part, a.parts, count, a.rate)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=a.client_id, clean_session=False, protocol=mqtt.MQTTv311
    )
    # No window in paho: with one, each PUBACK makes paho walk every message it holds for one to send
    # (`_update_inflight`), 41 % of this process's time at 2,000 in flight (py-spy). The loop below
    # keeps at most WINDOW unacknowledged instead, under the 65,535 numbers a client has; what cannot
    # go while the broker is away is kept by paho and sent at the reconnect.
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    acked = [0]
    connected = [False]

    def on_connect(*_: Any) -> None:
        connected[0] = True

    def on_publish(*_: Any) -> None:
        acked[0] += 1

    client.on_connect = on_connect
    client.on_publish = on_publish
    client.connect(HOST, a.port, keepalive=30)
    deadline = time.monotonic() + 10
    while not connected[0] and time.monotonic() < deadline:
        client.loop(0.05)
    last_try = [0.0]

    def turn(timeout: float = 0.0) -> None:
        """Read PUBACKs and send what waits; away from the broker, try to reconnect every 0.5 s."""
        if client.loop(timeout) == mqtt.MQTT_ERR_SUCCESS:
            return
        if time.monotonic() - last_try[0] < 0.5:
            time.sleep(min(0.01, timeout or 0.01))
            return
        last_try[0] = time.monotonic()
        with contextlib.suppress(OSError):
            client.reconnect()

    print("ready", flush=True)
    sys.stdin.readline()
    sent = 0
    start = time.monotonic()
    end = start + a.seconds
    while sent < len(messages) and (now := time.monotonic()) < end:
        due = len(messages) if not a.rate else min(len(messages), int((now - start) * a.rate) + 1)
        if sent >= due or sent - acked[0] >= WINDOW:
            turn(0.001)
            continue
        for topic, payload in messages[sent : min(due, sent + 200, acked[0] + WINDOW)]:
            client.publish(topic, payload, qos=a.qos)
            sent += 1
        turn()
    publish_s = time.monotonic() - start
    acked_in_run = acked[0]
    deadline = time.monotonic() + 90
    while a.qos and acked[0] < sent and time.monotonic() < deadline:
        turn(0.05)
    client.disconnect()
    print(json.dumps({"published": sent, "publish_s": round(publish_s, 3), "acked_in_run": acked_in_run,
                      "unacked_by_broker": sent - acked[0] if a.qos else 0}))  # fmt: skip


# --- the measuring process -------------------------------------------------------------------------


@dataclass
class Event:
    event: str
    data: str
    at: float


@dataclass
class Stream:
    """An open page's SSE stream, read in a thread."""

    response: Any
    events: list[Event] = field(default_factory=list)

    def read(self) -> None:
        name, data = "message", []
        try:
            for line in self.response.iter_lines():
                if line == "":
                    if data:
                        self.events.append(Event(name, "\n".join(data), time.time()))
                    name, data = "message", []
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
        except Exception:
            return

    def first_after(self, t0: float, pred: Any, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in list(self.events):
                if e.at >= t0 and pred(e):
                    return e.at
            time.sleep(0.005)
        return None


@dataclass
class Publishers:
    """N publisher processes sharing a prefix's trackers (device k goes to process k % N, so each
    device's numbers stay in order), started together once all have built their messages."""

    procs: list[Any]
    started: float = 0.0

    @classmethod
    def start(cls, port: int, prefix: str, devices: int, seconds: float, qos: int, rate: float,
              parts: int) -> Publishers:  # fmt: skip
        procs = []
        for part in range(parts):
            cmd = [
                sys.executable, __file__, "publish", "--port", str(port), "--prefix", prefix,
                "--devices", str(devices), "--part", str(part), "--parts", str(parts),
                "--seconds", str(seconds), "--qos", str(qos), "--rate", str(rate / parts),
                "--client-id", f"bench-pub-{uuid.uuid4().hex[:6]}",
            ]  # fmt: skip
            procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for proc in procs:  # each has built its messages and connected
            while (line := proc.stdout.readline()) and line.strip() != "ready":
                pass
            if not line:
                raise RuntimeError("a publisher process ended before it was ready")
        return cls(procs)

    def go(self) -> None:
        self.started = time.monotonic()
        for proc in self.procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()

    def running(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def finish(self) -> dict[str, Any]:
        """What they offered: messages, the seconds the slowest took, and the broker's PUBACKs."""
        runs = []
        for proc in self.procs:
            out, _ = proc.communicate(timeout=200)
            runs.append(json.loads(out.strip().splitlines()[-1]))
        published = sum(r["published"] for r in runs)
        publish_s = max(r["publish_s"] for r in runs)
        return {
            "processes": len(runs),
            "published": published,
            "publish_s": publish_s,
            "offered_per_s": round(published / max(publish_s, 1e-9), 1),
            "acked_by_broker_in_run": sum(r["acked_in_run"] for r in runs),
            "unacked_by_broker": sum(r["unacked_by_broker"] for r in runs),
        }


class BrokerCounter:
    """The broker's own count of PUBLISH packets received (`$SYS/broker/publish/messages/received`,
    sent every second: `sys_interval 1`)."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.value: int | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sys-{uuid.uuid4().hex[:6]}")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe("$SYS/broker/publish/messages/received")
        self.client.reconnect_delay_set(1, 2)
        self.client.connect(HOST, port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: Any) -> None:
        self.value = int(message.payload)

    def settled(self) -> int | None:
        """The count once the broker has had time to send it (it sends a count only when it changed,
        so after a quiet second the last one sent is the count now)."""
        time.sleep(2.5)
        return self.value

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class PrivateBroker:
    def __init__(self, folder: Path, inflight: int = 1000) -> None:
        self.port = free_port()
        self.folder = folder
        self.conf = folder / "mosquitto.conf"
        self.inflight = inflight
        # Mosquitto writes its whole store (every queued message) at each autosave and serves no
        # client meanwhile. Saving every second, a 60 s load phase (backlog up to 2.5 * 10^5) had
        # only 278,285 of 318,285 messages acknowledged by the broker within the run and a 5 s window
        # with no row written; saving every 5 minutes (Mosquitto's own default: 30), all of them
        # were. It saves at SIGTERM too; the broker-kill phase restarts it saving every second, for
        # a hard kill to lose little.
        self.autosave_s = 300
        self.proc: Any = None
        BROKERS.append(self)

    def write_conf(self) -> None:
        self.conf.write_text(
            f"listener {self.port} {HOST}\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.folder}/\nautosave_interval {self.autosave_s}\n"
            "max_queued_messages 0\n"
            # The in-flight window (QoS 1 messages sent to a client and not yet acknowledged) is 20
            # by default: a batching ingest acknowledges after its commit, so it would get batches
            # of 20 at most; with twice its batch, the next batch arrives while one commits.
            # docs/mqtt.md gives the same setting for production.
            f"max_inflight_messages {self.inflight}\n"
            "sys_interval 1\n"  # the broker's counters ($SYS) every second
            f"user {getpass.getuser()}\n"
        )

    def start(self) -> None:
        self.write_conf()
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private mosquitto did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
            self.proc = None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    ap.add_argument("--seconds", type=float, default=60.0, help="the load's length (the issue's: 60)")
    ap.add_argument("--devices", type=int, default=200, help="trackers publishing (one unit each)")
    ap.add_argument("--pages", type=int, default=3, help="open dispatcher pages")
    ap.add_argument("--batch-max", type=int, default=1000, help="the batched ingest's batch size")
    ap.add_argument("--rate", type=float, default=6000.0, help="the load's publish rate, 0: flat out")
    ap.add_argument("--publishers", type=int, default=2, help="publisher processes sharing the rate")
    ap.add_argument("--workers", type=int, default=2, help="ingest worker processes (phases 2 to 4)")
    ap.add_argument("--phases", default="012345", help="which phases run (0 to 5)")
    ap.add_argument("--baseline-seconds", type=float, default=15.0, help="the per-message baseline's load")
    ap.add_argument("--steady-seconds", type=float, default=20.0, help="the latency phase's length")
    ap.add_argument("--steady-share", type=float, default=0.6, help="of the batched rate, in phase 3")
    ap.add_argument("--kill-seconds", type=float, default=30.0)
    ap.add_argument("--kill-rate", type=float, default=20.0, help="below what the ingest takes")
    ap.add_argument("--kill-signal", choices=["TERM", "KILL"], default="TERM")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pingan-bench-mqtt-"))
    if a.db == "sqlite":
        url, drop = f"sqlite:///{tmp / 'bench.db'}", None
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"pingan_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    os.environ["PINGAN_DATABASE_URL"] = url
    procs: list[Any] = []
    try:
        print(json.dumps(run(a, url, tmp, procs), ensure_ascii=False, indent=1))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for b in BROKERS:
            b.stop()
        if drop is not None:
            drop()


def run(a: Any, url: str, tmp: Path, procs: list[Any]) -> dict[str, Any]:
    import httpx
    import paho.mqtt.client as mqtt
    import uvicorn
    from paho.mqtt.enums import CallbackAPIVersion
    from sqlalchemy import func, select

    import pingan.web.models  # noqa: F401 - every table registered
    from pingan.command import actions as command_actions
    from pingan.command.choices import UnitKind
    from pingan.command.model import Unit
    from pingan.command.schemas import UnitIn
    from pingan.core import clock, db
    from pingan.core.auth import User, do_add_user, issue_token
    from pingan.core.migrate import upgrade
    from pingan.core.org import do_upsert_station
    from pingan.core.roles import Actor, Role
    from pingan.sensors import actions, rules
    from pingan.sensors.choices import AlertState, DeviceKind
    from pingan.sensors.model import OfficerPosition, SafetyAlert
    from pingan.sensors.schemas import DeviceIn
    from pingan.sim.geography import district_stations

    upgrade(url)
    db.configure(url)
    broker = PrivateBroker(tmp, inflight=max(1000, 2 * a.batch_max))
    broker.start()
    bport = broker.port
    system = Actor.system("bench")
    station = district_stations()[0]
    prefixes = ("P", "O", "L", "S", "K")

    note("devices")
    with db.transaction() as s:
        for st in district_stations():
            area = json.dumps({"type": "Polygon", "coordinates": st.polygon()})
            do_upsert_station(
                s, code=st.code, name=st.name, lat=st.lat, lon=st.lon, area_geojson=area, actor=system
            )
        pages_users: list[User] = [
            do_add_user(s, username=f"bench_disp{i}", role=Role.DISPATCHER, password=PASSWORD, actor=system)
            for i in range(a.pages)
        ]
        do_add_user(s, username="bench_officer", role=Role.OFFICER, password=PASSWORD,
                    station_code=station.code, actor=system)  # fmt: skip
        calls = [f"{p}{k}" for p in prefixes for k in range(a.devices)] + ["PROBE", "HOLSTER"]
        for call in calls:
            command_actions.do_add_unit(
                s, UnitIn(call_sign=call, station_code=station.code, kind=UnitKind.PATROL_CAR), system
            )
        for call in ("PROBE", "HOLSTER"):
            unit = s.execute(select(Unit).where(Unit.call_sign == call)).scalar_one()
            unit.lat, unit.lon, unit.fix_at = station.lat, station.lon, clock.now()
        s.flush()
        pks: dict[str, list[int]] = {}

        def register(device_id: str, kind: DeviceKind, community: str, **kw: Any) -> int:
            item = actions.NewDevice(
                device=DeviceIn(
                    device_id=device_id, kind=kind, community=community, key=key_of(device_id), **kw
                ),
                actor=system,
            )
            actions.check_register_device(s, item)
            device, _ = actions.do_register_device(s, item, now=clock.now())
            return device.id

        for p in prefixes:
            pks[p] = [
                register(f"{p}{k}", DeviceKind.UNIT_TRACKER, "units", unit_call_sign=f"{p}{k}")
                for k in range(a.devices)
            ]
        probe_pk = register("PROBE", DeviceKind.UNIT_TRACKER, "units", unit_call_sign="PROBE")
        register(
            "holster-b", DeviceKind.HOLSTER, "holster", officer="bench_officer", unit_call_sign="HOLSTER"
        )
        probe_unit = s.execute(select(Unit.id).where(Unit.call_sign == "PROBE")).scalar_one()

    def positions(device_pks: list[int]) -> int:
        with db.read_transaction() as s:
            q = select(func.count()).where(OfficerPosition.device_pk.in_(device_pks))
            return int(s.execute(q).scalar_one())

    # --- 0. the broker's ceiling: the same publishers, flat out, into a subscriber that only counts --
    counter = BrokerCounter(bport)
    ceiling: dict[str, Any] = {}
    if "0" in a.phases:
        note("broker ceiling")
        base_count = [0]
        base_first: list[float] = []
        sub = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-count-{uuid.uuid4().hex[:6]}", clean_session=True
        )

        def counted(*_: Any) -> None:
            if not base_first:
                base_first.append(time.monotonic())
            base_count[0] += 1

        sub.on_message = counted
        sub.connect(HOST, bport)
        sub.subscribe(f"{ROOT}/units/+/position", qos=1)
        sub.loop_start()
        pubs = Publishers.start(bport, "B", a.devices, min(5.0, a.seconds), 1, 0, a.publishers)
        broker_before = counter.settled()
        pubs.go()
        base_pub = pubs.finish()
        deadline = time.monotonic() + 30
        while base_count[0] < base_pub["published"] and time.monotonic() < deadline:
            time.sleep(0.05)
        got_s = time.monotonic() - (base_first[0] if base_first else pubs.started)
        broker_after = counter.settled()
        sub.disconnect()
        sub.loop_stop()
        ceiling = {
            **base_pub,
            "broker_received": None
            if broker_after is None or broker_before is None
            else broker_after - broker_before,
            "subscriber_received": base_count[0],
            "subscriber_per_s": round(base_count[0] / max(1e-9, got_s), 1),
        }
        note(f"ceiling: {ceiling}")

    # --- the probe device and the ingest processes ------------------------------------------------
    probe = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-probe-{uuid.uuid4().hex[:6]}", clean_session=False
    )
    probe.reconnect_delay_set(1, 2)
    probe.connect(HOST, bport)
    probe.loop_start()
    probe_seq = [0]
    holster_seq = [0]
    probe_key, holster_key = bytes.fromhex(key_of("PROBE")), bytes.fromhex(key_of("holster-b"))

    def send_probe() -> float:
        probe_seq[0] += 1
        body: dict[str, Any] = {"v": 1, "device": "PROBE", "seq": probe_seq[0], "ts": clock.now().isoformat(),
                                "lat": 30.61 + probe_seq[0] * 1e-5, "lon": 104.05}  # fmt: skip
        body["sig"] = rules.sign(probe_key, body)
        t = time.time()
        probe.publish(f"{ROOT}/units/PROBE/position", json.dumps(body), qos=1)
        return t

    def start_ingest(name: str, batch_max: int, workers: int = 1) -> tuple[Any, list[str]]:
        """`pingan sensors ingest --workers N` as its own process (N > 1: it runs N worker processes
        sharing the positions) on the private broker; returns once it takes messages (a probe
        position committed), with the client ids of its sessions."""
        client_id = f"bench-{name}-{uuid.uuid4().hex[:6]}"
        env = {
            **os.environ,
            "PINGAN_DATABASE_URL": url,
            "PINGAN_SENSORS_MQTT_HOST": HOST,
            "PINGAN_SENSORS_MQTT_PORT": str(bport),  # the private broker: the missing line before
            "PINGAN_SENSORS_CLIENT_ID": client_id,
            "PINGAN_SENSORS_BATCH_MAX": str(batch_max),
        }
        log_file = (tmp / f"ingest-{name}.log").open("w")
        command = [PINGAN, "sensors", "ingest", "--workers", str(workers)]
        proc = subprocess.Popen(command, env=env, stdout=log_file, stderr=log_file)
        procs.append(proc)
        note(f"{name} ingest: pid {proc.pid}")  # for a profiler (py-spy record -p PID)
        before = positions([probe_pk])
        deadline = time.monotonic() + 60
        while positions([probe_pk]) == before:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the {name} ingest process took no message in 60 s; see {log_file.name}")
            send_probe()
            time.sleep(0.5)
        return proc, [client_id] if workers == 1 else [f"{client_id}-{k}" for k in range(workers)]

    def stop_ingest(proc: Any, client_ids: list[str]) -> None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        # Drop its sessions at the broker, with the backlog the broker kept for them.
        for client_id in client_ids:
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
            c.connect(HOST, bport)
            c.loop_start()
            time.sleep(0.3)
            c.disconnect()
            c.loop_stop()

    def load(prefix: str, seconds: float, rate: float, stop: Any) -> dict[str, Any]:
        """The publisher processes for `seconds`: what they offered, what the broker counted, and the
        `officer_position` rows committed while they ran and by the time `stop` stopped the ingest."""
        before = positions(pks[prefix])
        pubs = Publishers.start(bport, prefix, a.devices, seconds, 1, rate, a.publishers)
        broker_before = counter.settled()
        ticks: list[tuple[float, int]] = []
        loads: list[float] = []
        pubs.go()
        note(f"{prefix}: publishing, pids {' '.join(str(p.pid) for p in pubs.procs)}")
        while pubs.running():
            ticks.append((time.monotonic(), positions(pks[prefix])))
            loads.append(os.getloadavg()[0])
            time.sleep(1.0)
        t_end = time.monotonic()
        written = positions(pks[prefix]) - before
        t_start = pubs.started
        offered = pubs.finish()
        broker_after = counter.settled()
        stop()
        windows = [
            (ticks[j][1] - ticks[i][1]) / (ticks[j][0] - ticks[i][0])
            for i in range(len(ticks))
            for j in [i + 5]
            if j < len(ticks)
        ]
        return {
            "seconds": round(t_end - t_start, 1),
            **{f"offered_{k}" if k in ("published", "publish_s") else k: v for k, v in offered.items()},
            "broker_received": None
            if broker_after is None or broker_before is None
            else broker_after - broker_before,
            "rows_written_in_run": written,
            "rows_written_by_stop": positions(pks[prefix]) - before,
            "per_s": round(written / (t_end - t_start), 1),
            "slowest_5s_window_per_s": round(min(windows), 1) if windows else None,
            "load_average_1m": {"min": min(loads), "max": max(loads)} if loads else None,
        }

    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} CPUs, shared with other work; database {a.db}; "
        f"publishers, ingest, broker and web app on the same machine",
        "devices": a.devices,
        "publish_rate_asked_per_s": a.rate or "flat out",
        "publisher_processes": a.publishers,
        "batch_max": a.batch_max,
        "ingest_workers": a.workers,
        "target_ingest_per_s": 5000,
        "broker_ceiling_per_s": ceiling.get("subscriber_per_s"),
        "broker_ceiling": ceiling,
    }
    batched: dict[str, Any] = {}
    single: dict[str, Any] = {}
    if "1" in a.phases:
        # --- 1. the per-message baseline ------------------------------------------------------------------
        note("per-message ingest")
        proc, cid = start_ingest("single", 1)
        single = load("P", a.baseline_seconds, a.rate, lambda: stop_ingest(proc, cid))
        note(f"per-message: {single}")
        result |= {
            "baseline": "the same ingest process committing (and acknowledging) each message alone",
            "baseline_events_per_s": single["per_s"],
            "baseline_run": single,
        }

    one: dict[str, Any] = {}
    if "5" in a.phases:
        # --- 5. the batched ingest in one process (what --workers 1 runs), just before phase 2 -----------
        note("batched ingest, one process")
        proc, cid = start_ingest("one", a.batch_max, 1)
        one = load("O", a.seconds, a.rate, lambda: stop_ingest(proc, cid))
        note(f"one process: {one}")
        result |= {"one_process_events_per_s": one["per_s"], "one_process": one}

    if "2" in a.phases:
        # --- 2. the batched ingest ----------------------------------------------------------------------
        note("batched ingest")
        proc, cid = start_ingest("batched", a.batch_max, a.workers)
        batched = load("L", a.seconds, a.rate, lambda: stop_ingest(proc, cid))
        note(f"batched: {batched}")
        result |= {
            "ingest_events_per_s": batched["per_s"],
            "ingest_slowest_5s_window_per_s": batched["slowest_5s_window_per_s"],
            "ingest_seconds": batched["seconds"],
            "ingest": batched,
        }
    if one and batched:
        result["ratio_workers_to_one_process"] = (
            round(batched["per_s"] / one["per_s"], 2) if one["per_s"] else None
        )
    if single and batched:
        result["ratio_batched_to_per_message"] = (
            round(batched["per_s"] / single["per_s"], 2) if single["per_s"] else None
        )

    if "3" in a.phases:
        # --- 3. latencies at a sustainable load, with the web app and open pages ---------------------------
        note("web app")
        from pingan.web.app import create_app

        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(), host=HOST, port=port, log_level="warning"))
        server_thread = threading.Thread(target=server.run, daemon=True)
        server_thread.start()
        while not server.started:
            time.sleep(0.05)
        http = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
        streams: list[Stream] = []
        for user in pages_users:
            req = http.build_request(
                "GET", f"http://{HOST}:{port}/live/stream", params={"topics": "map"},
                headers={"Authorization": f"Bearer {issue_token(user)}", "Accept": "text/event-stream"},
            )  # fmt: skip
            st = Stream(http.send(req, stream=True))
            threading.Thread(target=st.read, daemon=True).start()
            streams.append(st)

        def on_map(e: Event) -> bool:
            if e.event != "map":
                return False
            try:
                return probe_unit in json.loads(e.data).get("units", [])
            except ValueError:
                return False

        map_lat: list[float] = []
        alert_lat: list[float] = []
        misses = {"map": 0, "alert": 0}
        stop = threading.Event()

        def prober() -> None:
            while not stop.is_set():
                t = send_probe()
                got = streams[0].first_after(t, on_map, 10.0)
                if got is None:
                    misses["map"] += 1
                else:
                    map_lat.append(got - t)
                if stop.is_set():
                    break
                holster_seq[0] += 1
                body: dict[str, Any] = {"v": 1, "device": "holster-b", "seq": holster_seq[0],
                                        "ts": clock.now().isoformat(), "event": "holster_draw"}  # fmt: skip
                body["sig"] = rules.sign(holster_key, body)
                t = time.time()
                probe.publish(f"{ROOT}/holster/holster-b/event", json.dumps(body), qos=1)
                arrivals = [
                    s.first_after(t, lambda e: e.event == "safety" and e.data.strip() != "", 10.0)
                    for s in streams
                ]
                if any(x is None for x in arrivals):
                    misses["alert"] += 1
                else:
                    alert_lat.append(max(x for x in arrivals if x is not None) - t)
                with db.transaction() as s:  # the dispatcher closes it, so the next draw raises a new one
                    for alert in s.execute(
                        select(SafetyAlert).where(SafetyAlert.state == AlertState.ACTIVE)
                    ).scalars():
                        actions.do_close_alert(
                            s, alert, AlertState.FALSE_ALARM, "bench", system, now=clock.now()
                        )
                time.sleep(0.3)

        note("latencies")
        steady_rate = max(10.0, round(batched.get("per_s", a.rate) * a.steady_share))
        proc, cid = start_ingest("steady", a.batch_max, a.workers)
        prober_thread = threading.Thread(target=prober, daemon=True)
        prober_thread.start()

        def stop_steady() -> None:
            stop.set()
            prober_thread.join(25)
            stop_ingest(proc, cid)

        steady = load("S", a.steady_seconds, steady_rate, stop_steady)
        note(f"steady: {steady}; map p99 {pct(map_lat, 99)} ({len(map_lat)}), alert p99 {pct(alert_lat, 99)}")

        http.close()  # the pages go, then the server (its listener lets go of the database before it goes)
        server.should_exit = True
        server_thread.join(15)
        result |= {
            "steady_load": steady,
            "event_to_map_sse_p50_s": pct(map_lat, 50),
            "event_to_map_sse_p99_s": pct(map_lat, 99),
            "event_to_map_samples": len(map_lat),
            "event_to_map_misses_10s": misses["map"],
            "draw_to_alert_all_pages_p50_s": pct(alert_lat, 50),
            "draw_to_alert_all_pages_p99_s": pct(alert_lat, 99),
            "draw_to_alert_samples": len(alert_lat),
            "draw_to_alert_misses_10s": misses["alert"],
            "pages": a.pages,
        }

    if "4" in a.phases:
        # --- 4. the broker killed mid-run -------------------------------------------------------------------
        note("broker kill")
        broker.stop()  # saved; back with a save every second
        broker.autosave_s = 1
        broker.start()
        proc, cid = start_ingest("kill", a.batch_max, a.workers)
        kpub = Publishers.start(bport, "K", a.devices, a.kill_seconds, 1, a.kill_rate, 1)
        kpub.go()
        time.sleep(a.kill_seconds / 3)
        broker.stop(signal.SIGKILL if a.kill_signal == "KILL" else signal.SIGTERM)
        down_at = time.monotonic()
        time.sleep(10.0)
        broker.start()
        down_s = time.monotonic() - down_at
        kill_pub = kpub.finish()
        # Drained: everything taken, or no progress for 20 s (what is left then is lost).
        last, still_since = -1, time.monotonic()
        while (kill_taken := positions(pks["K"])) < kill_pub["published"]:
            if kill_taken != last:
                last, still_since = kill_taken, time.monotonic()
            elif time.monotonic() - still_since > 20:
                break
            time.sleep(1.0)
        stop_ingest(proc, cid)

        result["kill"] = {
            "signal": a.kill_signal,
            "broker_down_s": round(down_s, 1),
            "published": kill_pub["published"],
            "unacked_by_broker": kill_pub["unacked_by_broker"],
            "taken": kill_taken,
            "lost": kill_pub["published"] - kill_taken,
        }
    counter.close()
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "publish":
        publish_main(sys.argv[2:])
    else:
        main()
