"""Benchmark of warning delivery through real peers: Kannel with its fake SMSC, and a SIPp UAS.

SMS: plans are accepted at a steady rate (in batches, `do_accept_plans`) while the sender streams
texts (`WarningSender.stream_sms`, at most --window in flight); the figure is texts submitted to
Kannel (and accepted by its smsbox) per second and the p99 from plan accepted to submitted. DLRs flow
back into pingan meanwhile, served by `pingan warnings gateway` in its own process, as deployed
(--gateway thread serves them from this process instead: one GIL for plans, sender and DLRs). Plans
are accepted by a process of its own on PostgreSQL, as in deployment, where the risk consumer that
drains the early-warning outbox is a process apart from the sender (--producer thread accepts them
in a thread of this process, the default on SQLite, which has one writer at a time).
Voice: simultaneous calls against SIPp, each answered with RFC 2833 key 1, recorded by pingan.
The baseline does the same work one message (one call) at a time, in the same run.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.process
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pingan.antifraud.warnings import actions, voice_prompts
from pingan.antifraud.warnings.actions import BatchSummary, DeliveryRequest
from pingan.antifraud.warnings.channels import ChannelLimits
from pingan.antifraud.warnings.choices import MessageState, Urgency
from pingan.antifraud.warnings.gateway_api import create_gateway_app
from pingan.antifraud.warnings.jobs import WarningSender
from pingan.antifraud.warnings.model import WarningMessage, WarningReceipt
from pingan.antifraud.warnings.outbox import OutboxSmsChannel, OutboxVoiceChannel
from pingan.antifraud.warnings.retry import in_transaction
from pingan.antifraud.warnings.sms_kannel import KannelSmsChannel
from pingan.antifraud.warnings.voice_sip import SipTimers, SipVoiceChannel
from pingan.core import db
from pingan.core.migrate import upgrade
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor
from pingan.core.settings import get_settings

# The Kannel and SIPp harness is test code: it lives in tests/, beside the tests that use it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.peers import KannelStack, SippUas, free_port

ACTOR = Actor.system("bench")
PHONE = protect(PiiKind.PHONE, "13800000000")


def request(plan_id: str, *, sms: bool, voice: bool) -> DeliveryRequest:
    return DeliveryRequest(
        plan_id=plan_id,
        person_pseudonym=f"p:{plan_id}",
        phone_cipher=PHONE.cipher,
        phone_masked=PHONE.masked,
        typology="冒充公检法",
        amount_fen=500_000,
        elderly=False,
        home_station_code="WH-YL",
        urgency=Urgency.URGENT,
        risk_event_at=datetime.now(UTC),
        sms=sms,
        voice=voice,
    )


def accept_many(ids: list[str], *, sms: bool = True, voice: bool = False) -> None:
    def work(s: Session) -> None:
        actions.do_accept_plans(
            s,
            [request(i, sms=sms, voice=voice) for i in ids],
            sms_channel="kannel",
            voice_channel="sip",
            actor=ACTOR,
        )

    in_transaction(work)


def p99(values: list[float]) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(0.99 * len(v)))] if v else float("nan")


def sms_latencies(prefix: str) -> list[float]:
    with db.transaction() as s:
        rows = s.execute(
            select(WarningMessage.created_at, WarningMessage.submitted_at).where(
                WarningMessage.message_key.like(f"{prefix}%")
            )
        ).all()
    return [(b - a).total_seconds() for a, b in rows if b is not None]


def kannel_channel(k: KannelStack, callback: str, concurrency: int) -> KannelSmsChannel:
    return KannelSmsChannel(
        sendsms_url=k.sendsms_url,
        username=k.username,
        password=k.password,
        callback_base_url=callback,
        dlr_key=get_settings().warnings.dlr_key(),
        limits=ChannelLimits(5000.0, 500, concurrency),
    )


def produce_plans(url: str, n: int, rate: int, ready: Any, go: Any, elapsed: Any) -> None:
    """Accept `n` plans at `rate` per second, in ticks of 50 ms, once `go` is set; put the seconds
    taken and, run as a process of its own, the CPU seconds it used (a thread's count in its process).
    """
    if db.get_engine().url.render_as_string(hide_password=False) != url:
        db.configure(url)
    ready.set()
    go.wait()
    tick, per_tick = 0.05, max(1, int(rate * 0.05))
    t0, cpu0 = time.monotonic(), time.process_time()
    for j in range(0, n, per_tick):
        accept_many([f"s{i}" for i in range(j, min(n, j + per_tick))])
        delay = t0 + (j // per_tick + 1) * tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    own_cpu = multiprocessing.parent_process() is not None
    elapsed.put((time.monotonic() - t0, time.process_time() - cpu0 if own_cpu else 0.0))


def bench_sms(
    k: KannelStack, callback: str, url: str, *, n: int, rate: int, window: int, producer: str
) -> dict[str, float]:
    """Plans arrive at `rate` per second (from another process, or a thread here) while one sender drains them."""
    sender = WarningSender(kannel_channel(k, callback, 64), OutboxVoiceChannel(), batch_size=window)
    if producer == "process":
        ctx = multiprocessing.get_context("spawn")
        ready, go, took = ctx.Event(), ctx.Event(), ctx.Queue()
        worker: multiprocessing.process.BaseProcess | threading.Thread = ctx.Process(
            target=produce_plans, args=(url, n, rate, ready, go, took)
        )
    else:
        ready, go, took = threading.Event(), threading.Event(), queue.Queue()
        worker = threading.Thread(target=produce_plans, args=(url, n, rate, ready, go, took))
    worker.start()
    if not ready.wait(60):
        raise RuntimeError("the plan producer did not start")

    async def drain() -> float:
        stop = asyncio.Event()
        submitted = 0

        def count(summary: BatchSummary) -> None:
            nonlocal submitted
            submitted += summary.by_state.get("submitted", 0)
            if submitted >= n:
                stop.set()

        go.set()
        start = time.monotonic()
        await sender.stream_sms(stop, idle_s=0.05, on_summary=count)
        await sender.sms.aclose()
        return time.monotonic() - start

    elapsed = asyncio.run(drain())
    offered_s, producer_cpu_s = took.get(timeout=60)
    worker.join()
    lat = sms_latencies("s")
    print(f"sms: {n / elapsed:.1f}/s, p99 {p99(lat):.3f} s", file=sys.stderr)
    # The arrival rate actually reached: when accepting plans is slower than `rate`, the figure is
    # bounded by it and not by the sender.
    return {
        "sms_per_s": round(n / elapsed, 1),
        "p99_plan_to_submitted_s": round(p99(lat), 4),
        "sms": n,
        "plans_offered_per_s": round(n / offered_s, 1),
        "producer_cpu_s": producer_cpu_s,
    }


def bench_sms_one_at_a_time(k: KannelStack, callback: str, *, n: int) -> float:
    sender = WarningSender(kannel_channel(k, callback, 1), OutboxVoiceChannel(), batch_size=1)

    async def go() -> float:
        start = time.monotonic()
        for i in range(n):
            accept_many([f"b{i}"])
            await sender.send_sms_batch()
        await sender.sms.aclose()
        return time.monotonic() - start

    return round(n / asyncio.run(go()), 1)


def bench_calls(uas: SippUas, *, n: int, concurrency: int, prefix: str) -> dict[str, float]:
    accept_many([f"{prefix}{i}" for i in range(n)], sms=False, voice=True)
    voice = SipVoiceChannel(
        ("127.0.0.1", uas.port),
        timers=SipTimers(digit_timeout=5.0),
        limits=ChannelLimits(1000.0, 1000, concurrency),
    )
    sender = WarningSender(OutboxSmsChannel(), voice, batch_size=n)

    async def go() -> tuple[float, list[str | None]]:
        start = time.monotonic()
        batch = await sender.place_calls_batch()
        await voice.aclose()
        return time.monotonic() - start, batch.digits

    elapsed, _ = asyncio.run(go())
    with db.transaction() as s:
        recorded = (
            s.execute(
                select(WarningMessage.digit).where(
                    WarningMessage.message_key.like(f"{prefix}%"),
                    WarningMessage.state == MessageState.ANSWERED,
                )
            )
            .scalars()
            .all()
        )
    return {
        "calls": n,
        "answered_with_key_1": sum(1 for d in recorded if d == "1"),
        "seconds": round(elapsed, 2),
        "calls_per_s": round(n / elapsed, 2),
    }


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Gateway:
    """Where Kannel calls back, and the process serving it (None: a thread of this process)."""

    url: str
    pid: int | None

    def cpu_s(self) -> float:
        """CPU seconds of the gateway's own process (0 for a thread: it counts in this process)."""
        return process_cpu_s(self.pid) if self.pid is not None else 0.0


def receipts_of(prefix: str) -> int:
    with db.transaction() as s:
        return int(
            s.execute(
                select(func.count())
                .select_from(WarningReceipt)
                .join(WarningMessage, WarningMessage.id == WarningReceipt.message_id)
                .where(WarningMessage.message_key.like(f"{prefix}%"))
            ).scalar_one()
        )


@contextlib.contextmanager
def gateway(mode: str, url: str) -> Iterator[Gateway]:
    """The DLR endpoint Kannel calls back: `pingan warnings gateway` as its own process, or a thread here."""
    port = free_port()
    if mode == "thread":
        app = create_gateway_app(prefix="/sms-gateway")  # what `pingan warnings gateway` serves
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield Gateway(f"http://127.0.0.1:{port}", None)
        finally:
            server.should_exit = True
        return
    cmd = [sys.executable, "-m", "pingan.cli", "warnings", "gateway", "--port", str(port)]
    proc = subprocess.Popen(cmd, env={**os.environ, "PINGAN_DATABASE_URL": url})
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pingan warnings gateway did not start (exit {proc.poll()})")
            time.sleep(0.05)
        yield Gateway(f"http://127.0.0.1:{port}", proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file in `folder`, or a throwaway PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/bench.db"
        return
    admin_url = os.environ.get("PINGAN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"pingan_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        db.get_engine().dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sms", nargs="?", type=int, default=3000, help="texts in the measured run")
    ap.add_argument("calls", nargs="?", type=int, default=50, help="simultaneous calls (0: skip calls)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--rate", type=int, default=700, help="plans accepted per second while sending")
    # 500, as `pingan warnings send` claims by default. A window of 128 held texts in a queue behind
    # it (3000 texts, load 1.5: p50 plan -> submitted 0.2 to 0.4 s in mid-run, against 0.08 to 0.16 s
    # with 500); 64 or 32 could not keep up with 700 plans/s at all (p99 2 to 6 s).
    ap.add_argument("--window", type=int, default=500, help="texts claimed and in flight to Kannel at most")
    # SQLite has one writer: a gateway process and the sender wait for each other in SQLite's busy
    # handler, which sleeps in steps of up to 100 ms (measured: p99 5.8 s in its own process against
    # 1.7 s in a thread here, 3000 texts). On PostgreSQL, row locks let them write side by side.
    ap.add_argument(
        "--gateway",
        choices=("process", "thread"),
        default=None,
        help="where the DLR endpoint runs (default: a thread with SQLite, its own process with PostgreSQL)",
    )
    # In deployment the risk consumer accepts plans in a process of its own; a thread here shares the
    # sender's GIL (PostgreSQL, 3000 texts at load 2-3: 504.5/s, p99 0.83 s, with 550 plans/s offered
    # of the 700 asked, against 668.2/s, p99 0.36 s, from a process). On SQLite a producer process
    # meets the one-writer lock as the gateway does (577.8/s, p99 1.16 s, against 668.5/s, 0.47 s).
    ap.add_argument(
        "--producer",
        choices=("process", "thread"),
        default=None,
        help="where plans are accepted while sending (default: a thread with SQLite, its own process with PostgreSQL)",
    )
    args = ap.parse_args()
    n_sms, n_calls = args.sms, args.calls
    args.gateway = args.gateway or ("thread" if args.db == "sqlite" else "process")
    args.producer = args.producer or ("thread" if args.db == "sqlite" else "process")
    calls: dict[str, float] = {}
    baseline_calls: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(args.db, Path(tmp)) as url,
        contextlib.ExitStack() as stack,
    ):
        folder = Path(tmp)
        upgrade(url)
        db.configure(url)
        voice_prompts.prompt_cache_dir = lambda: folder / "prompts"  # type: ignore[assignment]
        gw = stack.enter_context(gateway(args.gateway, url))
        callback = gw.url
        kannel = KannelStack(folder / "kannel").start()
        uas = SippUas(folder / "sipp", digits="1").start() if n_calls else None
        try:
            cpu0 = time.process_time() + gw.cpu_s()
            sms = bench_sms(
                kannel, callback, url, n=n_sms, rate=args.rate, window=args.window, producer=args.producer
            )
            # pingan's CPU per text, less sensitive to other load than the rate: the plans, the sender
            # and the DLRs (two a text; waited for, up to 10 s), in this process, the gateway's and
            # the producer's.
            deadline = time.monotonic() + 10
            while receipts_of("s") < 2 * n_sms and time.monotonic() < deadline:
                time.sleep(0.1)
            cpu_s = time.process_time() + gw.cpu_s() - cpu0 + sms["producer_cpu_s"]
            cpu_ms = cpu_s * 1000 / n_sms
            baseline_sms = bench_sms_one_at_a_time(kannel, callback, n=200)
            if uas is not None:
                calls = bench_calls(uas, n=n_calls, concurrency=n_calls, prefix="c")
                baseline_calls = bench_calls(uas, n=5, concurrency=1, prefix="d")
        finally:
            if uas is not None:
                uas.stop()
            kannel.stop()
    print(
        json.dumps(
            {
                "figure": "sms_submitted_per_s",
                "value": sms["sms_per_s"],
                "p99_plan_to_submitted_s": sms["p99_plan_to_submitted_s"],
                "sms": sms["sms"],
                "plans_offered_per_s": sms["plans_offered_per_s"],
                "baseline": "one_message_at_a_time",
                "baseline_value": baseline_sms,
                "ratio": round(sms["sms_per_s"] / baseline_sms, 2),
                "pingan_cpu_ms_per_text": round(cpu_ms, 2),
                "simultaneous_calls": calls,
                "calls_baseline_one_at_a_time": baseline_calls,
                "calls_ratio": round(calls["calls_per_s"] / baseline_calls["calls_per_s"], 2)
                if calls
                else None,
                "db": args.db,
                "gateway": args.gateway,
                "producer": args.producer,
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
