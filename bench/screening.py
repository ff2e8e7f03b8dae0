"""Screening throughput; prints one JSON object.

Batch: `pingan screen`'s batch run end to end from Parquet (`store.screen_store`: the DuckDB script of
`screening/batch.py`; every channel against the watchlist, the pattern rules on account transfers)
against a baseline in the same run, with the ratio. The batch run *is* the DuckDB script written as an
expert would (the issue's baseline), so against that its ratio is 1 by construction; the baseline
timed here is the other implementation of the same rules: the streaming engine (`engine.screen_batch`,
numba, with its incremental state) replaying the same store a day partition a batch in one process
(`store.replay`), as the stream consumer screens. Each side runs in a process of its own, one after
the other, so that `peak_rss_mib_batch` and `peak_rss_mib_baseline` are each its own peak (the
interpreter and libraries included on both sides). `flags_identical` says whether the two gave the
same flags, every column of every flag. The figure is rows decoded per second: `rows_decoded` counts
the rows of the row groups the batch run read; `rows_skipped_by_layout` counts the transactions of row
groups it never decoded because no rule lists their channel (with every channel screened, none but a
store's unlisted channels); `transactions` is the store's total. `baseline_value` is the same decoded
rows over the baseline's time. The watchlist is the one the district's reports build, padded to
--watchlist-size accounts with ids no transaction uses (so the lookup is as large as the issue asks,
and the flags stay those of the real watchlist). The load average is printed: the machine is shared.
The streaming engine's compiled loops (numba) are loaded from their disk cache when an earlier run
left them there; `jit` says whether this run loaded them (`cache_hits`) or compiled them (`compiled`,
whose time then counts in `baseline_seconds`).

Streaming (with --stream-seconds): transactions published into NATS at --rate by this process (in
frames of --frame transactions per payer bank; --frame 1 sends a wire record a message; --iso sends
each transaction as a pacs.008 JSON message of its own), each stamped with
the time it was due at that rate, while `pingan stream consume` persists risk events to a SQLite
file; throughput and the p99 from due time to persisted risk event come from the consumer's own stats.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pingan.antifraud.screening import kernels
from pingan.antifraud.screening import stream as st
from pingan.antifraud.screening.engine import FLAG_SCHEMA, Lookups, ScreenState, empty
from pingan.antifraud.screening.quality import watchlist_from_reports
from pingan.antifraud.screening.ruleset import load_rules
from pingan.antifraud.screening.store import read_reference, replay, screen_store
from pingan.antifraud.watchlist.frames import WATCHLIST_SCHEMA


def _run_child(kind: str, store: Path, wl_file: Path, out: Path) -> dict[str, Any]:
    """Run one side of the batch comparison in a process of its own, so that each side's peak memory
    is its own (and the first's memory is not the second's)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--store", str(store), "--child-watchlist", str(wl_file),
         "--child-out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{kind} run failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _child(kind: str, store: Path, wl_file: Path, out: Path) -> None:
    """One side of the batch comparison: screen the whole store, write the flags, print the figures."""
    rules = load_rules()
    wl = pl.read_parquet(wl_file)
    ref = read_reference(store)
    if kind == "batch":
        run = screen_store(store, rules=rules, watchlist=wl, reference=ref)
        run.flags.write_parquet(out)
        figures: dict[str, Any] = {
            "seconds": run.seconds,
            "rows_decoded": run.rows_decoded,
            "rows_skipped_by_layout": run.rows_skipped_by_layout,
            "transactions": run.rows,
            "flags": run.flags.height,
        }
    else:
        started = time.perf_counter()
        _, parts = replay(store, rules, None, None, ScreenState(), Lookups.of(wl, ref))
        flags = pl.concat(parts).sort(["ts", "tx_id"]) if parts else empty(FLAG_SCHEMA)
        figures = {
            "seconds": time.perf_counter() - started,
            "flags": flags.height,
            "jit": kernels.jit_stats(),
        }
        flags.write_parquet(out)
    print(json.dumps(figures | {"peak_rss_mib": _peak_rss_mib()}))


def _replay_batches(store: Path, rate: float, seconds: float, since: datetime | None) -> list[pl.DataFrame]:
    """The store's transactions to replay, day by day in time order, enough for `seconds` at `rate`.

    Read before the consumer starts and the clock runs: the replay's Parquet reads (a district day is
    1.6 M rows) are no part of the system measured, and on 2 shared cores they took CPU from the
    consumer mid-run.
    """
    from pingan.antifraud.screening.store import iter_batches

    out: list[pl.DataFrame] = []
    sent = 0
    first: list[pl.DataFrame] = []
    while True:
        # A store shorter than the run is replayed again as new transactions: later in time by the
        # store's span, with ids above every id of the pass before (the consumer drops an id it has
        # screened, so a repeated one would count as screened without being screened).
        lap = len(out) // len(first) if first else 0
        if lap:
            ids = int(pl.concat([b.select(pl.col("tx_id").max()) for b in first]).max().item()) + 1
            t0, t1 = first[0]["ts"].min(), first[-1]["ts"].max()
            span = t1 - t0 + timedelta(days=1)  # type: ignore[operator]
        for b in first if first else iter_batches(store, since, None):
            if not lap:
                first.append(b := b.sort(["ts", "tx_id"]))
            else:
                b = b.with_columns(pl.col("tx_id") + lap * ids, pl.col("ts") + lap * span)
            out.append(b)
            sent += b.height
            if sent >= rate * seconds:
                return out


async def _publish(
    batches: list[pl.DataFrame], names: dict[str, str], rate: float, frame_size: int, iso: bool
) -> st.PublishStats:
    return await st.publish_frames(
        batches, prefix=names["prefix"], stream=names["stream"], rate=rate, frame_size=frame_size, iso=iso
    )


def streaming(
    store: Path,
    rate: float,
    seconds: float,
    frame_size: int,
    since: datetime | None = None,
    *,
    iso: bool = False,
) -> dict[str, Any]:
    """Publish at `rate` for `seconds` into a fresh stream while a consumer process persists risk events."""
    tag = uuid.uuid4().hex[:8]
    names = {"prefix": f"bench{tag}.tx", "stream": f"BENCH_{tag}"}
    work = Path(tempfile.mkdtemp())
    url = f"sqlite:///{work / 'bench.db'}"
    from pingan.core.migrate import upgrade

    try:
        upgrade(url)
        wl_file = work / "watchlist.parquet"
        watchlist_from_reports(store).write_parquet(wl_file)
        asyncio.run(st.publish_frames([], **names))  # create the stream before the consumer starts
        batches = _replay_batches(store, rate, seconds, since)
        # With --stream-since the consumer starts from the store's history before that time (as a bank's
        # would), and the replay starts there.
        history = ["--since", since.isoformat()] if since else []
        consumer = subprocess.Popen(
            [sys.executable, "-c", "from pingan.cli import app; app()", "stream", "consume", "--store", str(store),
             "--state-dir", str(work / "state"), "--watchlist", str(wl_file), "--prefix", names["prefix"],
             "--stream", names["stream"], "--durable", f"bench{tag}", "--idle-exit", "3", "--checkpoint-s", "2",
             *history],
            env={**os.environ, "PINGAN_DATABASE_URL": url}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # The consumer loads the store's account holders, then creates its durable consumer: publish after.
        asyncio.run(_wait_for_consumer(names["stream"], f"bench{tag}", consumer))
        pub = asyncio.run(_publish(batches, names, rate, frame_size, iso))
        out, err = consumer.communicate(timeout=600)
        stats = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": err[-2000:]}
        # From the first transaction due to the last batch screened and persisted (both wall clocks of
        # this machine); the consumer's exit (its last checkpoint, 3 s of idle) is not part of it.
        busy = (stats.get("last_screened_us", 0) - pub.started_us) / 1e6
        drained_s = busy - pub.seconds
    finally:
        # The replayed stream (hundreds of MB in the NATS server's store) and the consumer's state.
        asyncio.run(_delete_stream(names["stream"]))
        shutil.rmtree(work, ignore_errors=True)
    return {
        "rate_asked": rate,
        "frame_size": None if iso else frame_size,
        "messages_per_flush": frame_size if iso else None,
        "message_format": "pacs.008 JSON, one transaction a message" if iso else "wire frames",
        "published": pub.messages,
        "nats_messages": pub.nats_messages,
        "duration_s": round(pub.seconds, 3),
        "publish_rate": round(pub.messages / pub.seconds) if pub.seconds else None,
        # Sustained: everything screened over the time from the first publish to the last message screened.
        "sustained_tx_per_s": round(stats.get("screened", 0) / busy) if busy > 0 else None,
        "drain_after_publish_s": round(max(drained_s, 0.0), 3),
        "count_in_equals_count_out": stats.get("received") == pub.messages,
        # Transactions published and never received by the consumer.
        "lost": pub.messages - stats.get("received", 0),
        "p99_ms_publish_to_risk_event": stats.get("latency_ms_p99"),
        "p99_ms_publish_to_screened_all": stats.get("all_latency_ms_p99"),
        "consumer": stats,
    }


async def _delete_stream(stream: str) -> None:
    import nats

    nc = await nats.connect(st.DEFAULT_URL)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


async def _wait_for_consumer(stream: str, durable: str, proc: subprocess.Popen[str]) -> None:
    import nats

    nc = await nats.connect(st.DEFAULT_URL)
    js = nc.jetstream()
    try:
        for _ in range(1200):
            if proc.poll() is not None:
                return
            try:
                await js.consumer_info(stream, durable)
                return
            except Exception:
                await asyncio.sleep(0.1)
    finally:
        await nc.close()


def pad_watchlist(real: pl.DataFrame, ref: pl.DataFrame, size: int) -> pl.DataFrame:
    """The real watchlist padded to `size` accounts with ids above every account of the store."""
    missing = size - real.height
    if missing <= 0:
        return real
    first = int(ref["account_id"].max()) + 1
    pad = pl.DataFrame(
        {
            "account_id": range(first, first + missing),
            "listed_from": [datetime(2026, 1, 1, tzinfo=UTC)] * missing,
            "expires_at": [None] * missing,
            "source": ["bench_padding"] * missing,
            "confidence": [1.0] * missing,
            "typology": [None] * missing,
        },
        schema=WATCHLIST_SCHEMA,
    )
    return pl.concat([real, pad])


def _peak_rss_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", default="small", help="tiny, small or district (district is 100M+ rows)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", type=Path, help="an existing district instead of generating one")
    ap.add_argument("--stream-seconds", type=float, default=0.0)
    ap.add_argument("--rate", type=float, default=50_000)
    ap.add_argument(
        "--frame",
        type=int,
        default=500,
        help="transactions per chunk, one frame per payer bank (1: a message each)",
    )
    ap.add_argument("--watchlist-size", type=int, default=100_000)
    ap.add_argument("--stream-store", type=Path, help="store to replay into NATS (default: --store)")
    ap.add_argument("--no-batch", action="store_true", help="streaming figures only")
    ap.add_argument(
        "--iso",
        action="store_true",
        help="one pacs.008 JSON message per transaction (--frame: how many are sent between flushes)",
    )
    ap.add_argument("--child", choices=["batch", "stream"], help=argparse.SUPPRESS)
    ap.add_argument("--child-watchlist", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument(
        "--stream-since",
        help="ISO time: the consumer starts from the store's history before it, the replay from it",
    )
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.store, args.child_watchlist, args.child_out)
        return
    store = args.store
    if store is None:
        from pingan.sim import generate

        store = Path(tempfile.mkdtemp()) / args.scale
        generate(args.scale, args.seed, store)
    load_rules()  # a malformed rules file stops the run before the store is read
    result: dict[str, Any] = {
        "figure": "screen_rows_decoded_per_s",
        "store": str(store) if args.store else args.scale,
    }
    if not args.no_batch:
        real = watchlist_from_reports(store)
        ref = read_reference(store)
        wl = pad_watchlist(real, ref, args.watchlist_size)
        work = Path(tempfile.mkdtemp())
        try:
            wl.write_parquet(work / "watchlist.parquet")
            bat = _run_child("batch", store, work / "watchlist.parquet", work / "batch.parquet")
            base = _run_child("stream", store, work / "watchlist.parquet", work / "stream.parquet")
            same = pl.read_parquet(work / "batch.parquet").equals(pl.read_parquet(work / "stream.parquet"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result |= {
            "value": round(bat["rows_decoded"] / bat["seconds"]),
            "baseline": "streaming engine (engine.screen_batch, numba) replaying the same store a day a batch"
            " (store.replay), same rules and watchlist",
            "baseline_value": round(bat["rows_decoded"] / base["seconds"]),
            "ratio": round(base["seconds"] / bat["seconds"], 3),
            "ratio_against_duckdb_script": "1 by construction: the batch run is that script (screening/batch.py)",
            "flags_identical": same,
            "rows_decoded": bat["rows_decoded"],
            "rows_skipped_by_layout": bat["rows_skipped_by_layout"],
            "transactions": bat["transactions"],
            "flags": bat["flags"],
            "baseline_flags": base["flags"],
            "watchlist_accounts": wl.height,
            "watchlist_accounts_real": real.height,
            "seconds": round(bat["seconds"], 3),
            "baseline_seconds": round(base["seconds"], 3),
            "peak_rss_mib_batch": bat["peak_rss_mib"],
            "peak_rss_mib_baseline": base["peak_rss_mib"],
            "jit": base["jit"] | {"compile_time_in_seconds": base["jit"]["compiled"] > 0},
            "target_rows_decoded_per_s": 20_000_000,
        }
    result |= {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    if args.stream_seconds:
        since = st.utc(args.stream_since) if args.stream_since else None  # a time without zone is UTC
        result["streaming"] = streaming(
            args.stream_store or store,
            args.rate,
            args.stream_seconds,
            args.frame,
            since,
            iso=args.iso,
        )
        result["load_avg_1m_after_stream"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
