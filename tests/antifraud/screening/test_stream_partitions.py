"""Partitioned stream consumers over a real NATS JetStream: subjects by a stable hash of the payer
account, a partition map checked at start, and two consumer processes of which one is killed and
restarted, with every risk event of the single screening once: none lost, none duplicated, none
added (the payee's partition answers for the collecting-card rule with notes over NATS)."""

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
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pingan.antifraud.risk.model import RiskEvent
from pingan.antifraud.screening import stream as st
from pingan.antifraud.screening.engine import NOTE_SCHEMA, Partition, screen_batch
from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.screening.store import history_state, iter_batches, read_reference
from pingan.cli import app
from pingan.core import db

from .conftest import NatsNames


def test_the_partition_of_an_account_is_the_same_in_every_process_and_spreads_evenly() -> None:
    accounts = np.arange(200_000, dtype=np.int64)
    here = st.partition_of(accounts, 8)
    code = (
        "import numpy as np, sys; from pingan.antifraud.screening.stream import partition_of;"
        "sys.stdout.write(partition_of(np.arange(200_000, dtype=np.int64), 8).tobytes().hex())"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert np.array_equal(np.frombuffer(bytes.fromhex(there.stdout), np.int64), here)
    counts = np.bincount(here, minlength=8)
    assert counts.min() > 0.95 * accounts.size / 8 and counts.max() < 1.05 * accounts.size / 8


@pytest.mark.parametrize(
    ("partition_map", "named"),
    [("0-2;4-7", "partition 3 is owned by no consumer"), ("0-4;4-7", "partition 4 is given to consumers 0 and 1"),
     ("0-3;4-8", "partition 8 of consumer 1 is outside 0..7")],
    ids=["unowned", "owned_twice", "outside"],
)  # fmt: skip
def test_a_partition_map_that_leaves_a_partition_unowned_or_shares_one_is_refused_at_start_naming_it(
    district: Path, partition_map: str, named: str
) -> None:
    args = ["stream", "consume", "--store", str(district), "--of", "8", "--map", partition_map]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert named in " ".join(result.output.split())


def test_two_partitioned_consumers_one_killed_mid_stream_and_restarted_raise_the_single_screenings_risk_events(
    district: Path, rules: RuleSet, nats_names: NatsNames, tmp_path: Path, database: str
) -> None:
    url = db.get_engine().url.render_as_string(hide_password=False)
    since = since_of(district, 3)
    half = since + (since_of(district, 14) - since) / 2
    names = {"prefix": nats_names.prefix, "stream": nats_names.stream, "partitions": 4, "frame_size": 50}
    first = asyncio.run(st.publish_store(district, since=since, until=half, **names))
    state_dir = tmp_path / "state"

    def consumer(member: int, *extra: str) -> list[str]:
        return [
            sys.executable, "-c", "from pingan.cli import app; app()", "stream", "consume", "--store", str(district),
            "--since", since.isoformat(), "--state-dir", str(state_dir), "--watchlist", "reports",
            "--prefix", nats_names.prefix, "--stream", nats_names.stream, "--durable", nats_names.durable,
            "--batch", "200", "--fetch-batch", "20", "--checkpoint-s", "0.1", "--pause-s", "0.02",
            "--of", "4", "--map", "0-1;2-3", "--member", str(member), *extra,
        ]  # fmt: skip

    env = {**os.environ, "PINGAN_DATABASE_URL": url}
    survivor = subprocess.Popen(consumer(1, "--idle-exit", "2"), env=env, stdout=subprocess.PIPE, text=True)
    victim = subprocess.Popen(consumer(0), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metas = [state_dir / f"p{k}" / "checkpoint" / "meta.json" for k in (0, 1)]
    deadline = time.monotonic() + 180  # a loaded machine may take long to load the store and start
    received = 0
    while time.monotonic() < deadline and victim.poll() is None and received == 0:
        for meta in metas:
            with contextlib.suppress(OSError, ValueError, KeyError):
                received += json.loads(meta.read_text())["counters"]["received"]
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert received > 0, "the consumer checkpointed nothing before it was killed"
    second = asyncio.run(st.publish_store(district, since=half, **names))
    published = first.messages + second.messages + first.copies + second.copies
    survivor.communicate(timeout=300)

    # The killed consumer's partitions are handed over on restart; the survivor runs again to take
    # whatever came after it went idle.
    runs = [subprocess.run(consumer(m, "--idle-exit", "1.5"), env=env, capture_output=True, text=True,
                           timeout=300, check=True) for m in (0, 1)]  # fmt: skip
    summaries = {k: v for r in runs for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items()}
    assert sorted(summaries) == ["0", "1", "2", "3"]
    assert sum(s["received"] for s in summaries.values()) == published
    assert all(s["gaps"] == 0 and s["duplicates"] == 0 for s in summaries.values())
    assert sum(s["notes_received"] for s in summaries.values()) > 0, "no transfer waited for a note"

    expected = _screen_single(district, rules, since)
    assert expected.height > 50
    assert sum(s["flags"] for s in summaries.values()) == expected.height  # counted once each, restarts too
    with db.transaction() as session:
        assert session.execute(select(func.count(RiskEvent.id))).scalar_one() == expected.height
        stored = session.execute(
            select(RiskEvent.tx_id, RiskEvent.reasons, RiskEvent.typology_guess, RiskEvent.amount_at_risk_fen)
        ).all()
    assert {(t, tuple(json.loads(r)), g, a) for t, r, g, a in stored} == {
        (t, tuple(r), g, a)
        for t, r, g, a in expected.select(
            "tx_id", "reasons", "typology_guess", "amount_at_risk_fen"
        ).iter_rows()
    }


def _screen_single(district: Path, rules: RuleSet, since: datetime) -> pl.DataFrame:
    """Every transaction screened in this process, day by day, from the history before `since`."""
    state = history_state(district, since, rules)
    wl, ref = watchlist_from_reports(district), read_reference(district)
    out = []
    for day in iter_batches(district, since, None):
        flags, state = screen_batch(day.sort(["ts", "tx_id"]), state, rules, wl, ref)
        out.append(flags)
    return pl.concat(out)


def test_a_transfer_sent_to_a_partition_of_neither_its_payer_nor_its_payee_is_a_dead_letter_naming_both() -> (
    None
):
    accounts = np.arange(64, dtype=np.int64)
    where = st.partition_of(accounts, 4)
    payer = int(accounts[where == 0][0])
    payee_here, payee_elsewhere = int(accounts[where == 1][0]), int(accounts[where == 2][0])
    tx = pl.DataFrame(
        {"tx_id": [1, 2], "payer_account": [payer, payer], "payee_account": [payee_here, payee_elsewhere]}
    )
    dead: list[dict[str, object]] = []

    kept, pub = st._of_partition(tx, np.array([10, 20]), Partition(1, 4), dead)

    assert kept["tx_id"].to_list() == [1] and pub.tolist() == [10]
    assert dead == [{"reason": "sent to partition 1; payer_account is of partition 0", "tx_id": 2}]


def test_a_malformed_note_is_a_dead_letter_and_the_good_ones_are_read() -> None:
    good = st.encode_notes(
        pl.DataFrame({"tx_id": [7], "payer_account": [3], "fits": [["P-MULE-PAYEE"]]}, schema=NOTE_SCHEMA)
    )
    msgs = [SimpleNamespace(data=good, subject="p.1.payee-notes.g"),
            SimpleNamespace(data=b'{"v": 1, "tx_id": [1]}', subject="p.2.payee-notes.g")]  # fmt: skip
    dead: list[dict[str, object]] = []

    notes = st._decode_notes(msgs, dead)

    assert notes["tx_id"].to_list() == [7] and notes["fits"].to_list() == [["P-MULE-PAYEE"]]
    assert len(dead) == 1 and str(dead[0]["reason"]).startswith("malformed payee notes")
    assert dead[0]["subject"] == "p.2.payee-notes.g"
