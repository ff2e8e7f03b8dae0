"""The streaming engine over a real NATS JetStream: it agrees with the batch engine, dead-letters bad
transactions while screening goes on, and loses nothing when killed and restarted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from pingan.antifraud.risk.model import RiskEvent
from pingan.antifraud.screening import stream as st
from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.screening.store import history_state, read_reference, screen_store
from pingan.core import db

from .conftest import NatsNames


def _consume(
    district: Path, rules: RuleSet, names: NatsNames, state_dir: Path, since: datetime
) -> tuple[pl.DataFrame, st.ConsumerStats]:
    got: list[pl.DataFrame] = []
    wl = watchlist_from_reports(district)
    cfg = st.ConsumerConfig(
        state_dir=state_dir, prefix=names.prefix, stream=names.stream, durable=names.durable, idle_exit_s=1.0
    )
    stats = asyncio.run(
        st.consume(
            cfg, rules=rules, watchlist=lambda: wl, reference=read_reference(district),
            initial_state=lambda: history_state(district, since, rules), sink=got.append,
        )
    )  # fmt: skip
    return (pl.concat(got) if got else pl.DataFrame()), stats


@pytest.mark.parametrize("frame_size", [1, 500], ids=["a_message_each", "frames"])
def test_batch_and_streaming_engines_raise_the_same_flags_on_the_same_transactions(
    district: Path, rules: RuleSet, nats_names: NatsNames, tmp_path: Path, frame_size: int
) -> None:
    since = since_of(district, 3)
    batch = screen_store(district, rules=rules, watchlist=watchlist_from_reports(district), since=since)
    published = asyncio.run(
        st.publish_store(
            district, since=since, prefix=nats_names.prefix, stream=nats_names.stream, frame_size=frame_size
        )
    )
    streamed, stats = _consume(district, rules, nats_names, tmp_path, since)
    assert published.messages == batch.rows == stats.counters.screened
    assert batch.flags.height > 50
    assert streamed.sort("tx_id").equals(batch.flags.sort("tx_id"))


def test_bad_transactions_go_to_dead_letters_with_the_reason_and_screening_goes_on(
    district: Path, rules: RuleSet, nats_names: NatsNames, tmp_path: Path
) -> None:
    since = since_of(district, 12)
    p = nats_names.prefix
    good = '{"tx_id":1,"ts":"2026-03-14T02:00:00.000000Z","payer_account":1,"payee_account":2,"amount_fen":100,"channel":"mobile_banking","payer_bank":"%s","payee_bank":"ICBC"}'
    bad = [
        (f"{p}.ICBC", b"{not json"),
        (
            f"{p}.ICBC",
            b'{"tx_id":2,"ts":"2026-03-14T02:00:00.000000Z","payer_account":1,"amount_fen":100,"channel":"qr","payer_bank":"ICBC","payee_bank":"ICBC"}',
        ),
        (f"{p}.XXB", (good % "XXB").encode().replace(b'"tx_id":1', b'"tx_id":3')),
    ]
    published = asyncio.run(
        st.publish_store(district, since=since, prefix=p, stream=nats_names.stream, extra=bad)
    )
    _, stats = _consume(district, rules, nats_names, tmp_path, since)
    dead = [json.loads(line) for line in (tmp_path / "dead-letters.jsonl").read_text().splitlines()]
    assert sorted(d["reason"] for d in dead) == [
        "malformed JSON",
        "missing or invalid field payee_account",
        "unknown bank XXB",
    ]
    assert stats.counters.received == published.messages
    assert stats.counters.screened == published.messages - 3


def test_a_consumer_killed_mid_stream_and_restarted_screens_every_transaction_once(
    district: Path, rules: RuleSet, nats_names: NatsNames, tmp_path: Path, database: str
) -> None:
    # Mid-stream by construction, however loaded the machine: the first half of the transactions is
    # published, the consumer is killed as soon as it has checkpointed any of them (it may be inside a
    # micro-batch, or idle after the first half), and only then is the second half published.
    url = db.get_engine().url.render_as_string(hide_password=False)
    since = since_of(district, 3)
    half = since + (since_of(district, 14) - since) / 2
    names = {"prefix": nats_names.prefix, "stream": nats_names.stream}
    first = asyncio.run(st.publish_store(district, since=since, until=half, **names))
    state_dir = tmp_path / "state"
    cmd = [
        sys.executable, "-c", "from pingan.cli import app; app()", "stream", "consume", "--store", str(district),
        "--since", since.isoformat(), "--state-dir", str(state_dir), "--watchlist", "reports", "--prefix", nats_names.prefix,
        "--stream", nats_names.stream, "--durable", nats_names.durable, "--batch", "500", "--checkpoint-s", "0.1",
    ]  # fmt: skip
    env = {**os.environ, "PINGAN_DATABASE_URL": url}
    victim = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    meta = state_dir / "checkpoint" / "meta.json"
    deadline = time.monotonic() + 180  # a loaded machine may take long to load the store and start
    received = 0
    while time.monotonic() < deadline and victim.poll() is None and received == 0:
        with contextlib.suppress(OSError, ValueError, KeyError):
            received = json.loads(meta.read_text())["counters"]["received"]
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert received > 0, "the consumer checkpointed nothing before it was killed"
    second = asyncio.run(st.publish_store(district, since=half, **names))
    published = first.messages + second.messages
    assert received < published

    done = subprocess.run(
        [*cmd, "--idle-exit", "1.5"], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["received"] == published
    assert summary["screened"] + summary["dead_letters"] == published

    batch = screen_store(district, rules=rules, watchlist=watchlist_from_reports(district), since=since)
    assert batch.rows == published
    with db.transaction() as session:
        assert session.execute(select(func.count(RiskEvent.id))).scalar_one() == batch.flags.height
        assert set(session.execute(select(RiskEvent.tx_id)).scalars()) == set(batch.flags["tx_id"].to_list())


def test_a_slow_consumer_outrun_by_the_publisher_loses_and_duplicates_no_transaction(
    district: Path, rules: RuleSet, nats_names: NatsNames, tmp_path: Path
) -> None:
    # pacs.008, a message a transaction, published flat out while the consumer is slowed on purpose:
    # small pulls and micro-batches and a sleep after each. The server holds the backlog (a push
    # consumer let it queue towards the client, which was dropped as a slow consumer).
    since = since_of(district, 3)
    batch = screen_store(district, rules=rules, watchlist=watchlist_from_reports(district), since=since)
    wl = watchlist_from_reports(district)
    got: list[pl.DataFrame] = []
    cfg = st.ConsumerConfig(
        state_dir=tmp_path, prefix=nats_names.prefix, stream=nats_names.stream, durable=nats_names.durable,
        batch=100, fetch_batch=100, max_ack_pending=200, pause_s=0.01, idle_exit_s=3.0,
    )  # fmt: skip

    async def run() -> tuple[st.PublishStats, int, st.ConsumerStats]:
        consumer = asyncio.ensure_future(
            st.consume(
                cfg, rules=rules, watchlist=lambda: wl, reference=read_reference(district),
                initial_state=lambda: history_state(district, since, rules), sink=got.append,
            )
        )  # fmt: skip
        published = await asyncio.to_thread(
            asyncio.run,
            st.publish_store(
                district, since=since, prefix=nats_names.prefix, stream=nats_names.stream, frame_size=200, iso=True
            ),
        )  # fmt: skip
        backlog = await _pending(nats_names)
        return published, backlog, await consumer

    published, backlog, stats = asyncio.run(run())
    assert backlog > 1000, "the publisher did not outrun the consumer"
    assert stats.counters.received == stats.counters.messages == published.nats_messages
    assert stats.counters.duplicates == 0 and stats.counters.dead_letters == 0
    streamed = pl.concat(got)
    # An ATM withdrawal is no credit transfer and is not sent; it raises no flag either.
    assert streamed["tx_id"].is_unique().all()
    assert batch.flags.height > 50
    assert streamed.sort("tx_id").equals(batch.flags.sort("tx_id"))


async def _pending(names: NatsNames) -> int:
    """Messages the durable consumer has not yet been delivered (the server's backlog)."""
    import nats

    nc = await nats.connect(st.DEFAULT_URL)
    try:
        for _ in range(200):
            with contextlib.suppress(Exception):
                return int((await nc.jetstream().consumer_info(names.stream, names.durable)).num_pending)
            await asyncio.sleep(0.05)
        return 0
    finally:
        await nc.close()
