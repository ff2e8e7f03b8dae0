"""Stream consumers at scale: measured messages per second per consumer, and the capacity model; one JSON object.

A district's transactions are published once into a fresh stream, partitioned by the payer account's
hash (`stream publish --partitions P`), as pacs.008 messages (one transaction a message; `--frames`
sends frames of 500 instead). Only then do consumers start, so each drains a backlog and the figure is
what a consumer can take, not what this process can publish. First one `pingan stream consume`
process owning every partition, then two processes each owning half (the partition map `0-a;b-c`),
each with its own durable consumers on the same stream. Each process persists risk events to a SQLite
file of its own run. For each process: messages, the wall time from its first to its last persisted
micro-batch, the CPU seconds it used over its whole life (loading the store and history included),
and its share of a core over that life; `baseline` is the one-process rate, `ratio` the two-process
total over it.

Partitioned, each transfer also goes to its payee's partition as a copy (when that is another), and
the payees' partitions send notes back for the collecting-card rule (docs/scale.md): the messages
counted are transactions' messages, copies included; the notes are reported apart.

The capacity model: a city's quarterly volume (default 1 billion transactions) as an average rate,
times a peak factor (the busiest hour's rate over the average; default 5, an assumption: set it from a
bank's own hourly profile), times the messages a transaction makes (1 plus the measured share copied),
divided by the measured messages per second per consumer core, with headroom (consumers run at most
at `--utilisation` of what they can take).

With `--spark`, the same store is also screened by Spark local[2] and by the in-process batch run
(`bench/spark.py --screening-only`, its JSON under `spark`: whether the flags are identical, and the
ratio), and the model adds the Spark executors a city's daily batch needs: a quarter's transactions
over 91 days, screened within `--batch-window-h` (default 1 h, an assumption), at the transactions
per second per core that local[2] measured (its time over its 2 cores), in executors of
`--executor-cores` (default 4).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from pingan.antifraud.screening import stream as st
from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.store import iter_batches

QUARTER_S = 91 * 86_400


def _run_consumers(
    store: Path, work: Path, names: dict[str, str], since: datetime, parts: int, groups: list[str], tag: str
) -> list[dict[str, Any]]:
    """Run one consumer process per partition group at once until idle; their figures."""
    from pingan.core.migrate import upgrade

    url = f"sqlite:///{work / f'{tag}.db'}"
    upgrade(url)
    wl_file = work / "watchlist.parquet"
    procs = []
    for m in range(len(groups)):
        out = (work / f"{tag}-{m}.json").open("w")
        cmd = [
            sys.executable, "-c", "from pingan.cli import app; app()", "stream", "consume", "--store", str(store),
            "--since", since.isoformat(), "--state-dir", str(work / tag), "--watchlist", str(wl_file),
            "--prefix", names["prefix"], "--stream", names["stream"], "--durable", f"{tag}{names['tag']}",
            "--idle-exit", "3", "--checkpoint-s", "2", "--of", str(parts), "--map", ";".join(groups),
            "--member", str(m),
        ]  # fmt: skip
        env = {**os.environ, "PINGAN_DATABASE_URL": url}
        procs.append(
            (subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.DEVNULL), out, time.monotonic())
        )
    # Each process's CPU time, sampled from /proc while it runs, to take its CPU while busy apart from
    # its start-up (loading the store's holders and history).
    samples: list[list[tuple[int, float]]] = [[] for _ in procs]
    tick = os.sysconf("SC_CLK_TCK")
    while any(proc.poll() is None for proc, _, _ in procs):
        for m, (proc, _, _) in enumerate(procs):
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                samples[m].append((time.time_ns() // 1000, (int(fields[11]) + int(fields[12])) / tick))
            except (OSError, IndexError):
                pass
        time.sleep(0.1)
    results = []
    for m, (_proc, out, began) in enumerate(procs):
        life = time.monotonic() - began
        out.close()
        parts_summary = json.loads((work / f"{tag}-{m}.json").read_text().strip().splitlines()[-1])
        first = min(p["started_us"] for p in parts_summary.values())
        last = max(p["last_screened_us"] for p in parts_summary.values())
        messages = sum(p["messages"] for p in parts_summary.values())
        busy = (last - first) / 1e6
        cpu = samples[m][-1][1] if samples[m] else 0.0

        def cpu_at(us: int, m: int = m) -> float:
            before = [c for t, c in samples[m] if t <= us]
            return before[-1] if before else 0.0

        busy_cpu = cpu_at(last) - cpu_at(first)
        results.append(
            {
                "partitions": groups[m],
                "messages": messages,
                "received": sum(p["received"] for p in parts_summary.values()),
                "copies": sum(p["copies"] for p in parts_summary.values()),
                "notes_sent": sum(p["notes_sent"] for p in parts_summary.values()),
                "notes_received": sum(p["notes_received"] for p in parts_summary.values()),
                "flags": sum(p["flags"] for p in parts_summary.values()),
                "gaps": sum(p["gaps"] for p in parts_summary.values()),
                "busy_s": round(busy, 3),
                "messages_per_s": round(messages / busy) if busy > 0 else None,
                "cpu_s": round(cpu, 2),
                "life_s": round(life, 2),
                "cpu_share_of_a_core": round(cpu / life, 3),
                "busy_cpu_s": round(busy_cpu, 2),
                "busy_cpu_share_of_a_core": round(busy_cpu / busy, 3) if busy > 0 else None,
                "messages_per_cpu_s": round(messages / busy_cpu) if busy_cpu > 0 else None,
            }
        )
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", default="small", help="a district generated for the run: tiny or small")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", type=Path, help="an existing district instead of generating one")
    ap.add_argument("--days", type=int, default=2, help="days of transactions replayed (the rest is history)")
    ap.add_argument("--limit", type=int, default=40_000, help="at most this many transactions replayed")
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--frames", action="store_true", help="frames of 500 transactions, not a message each")
    ap.add_argument("--quarter-tx", type=float, default=1e9, help="a city's transactions a quarter")
    ap.add_argument("--peak-factor", type=float, default=5.0, help="busiest hour's rate over the average")
    ap.add_argument("--utilisation", type=float, default=0.5, help="share of a consumer's capacity used")
    ap.add_argument("--spark", action="store_true", help="also Spark local[2] against the batch run")
    ap.add_argument("--batch-window-h", type=float, default=1.0, help="hours a day's batch may take")
    ap.add_argument("--executor-cores", type=int, default=4)
    args = ap.parse_args()
    store = args.store
    if store is None:
        from pingan.sim import generate

        store = Path(tempfile.mkdtemp()) / args.scale
        generate(args.scale, args.seed, store, workers=1)
    days = len(list(iter_batches(store, None, None)))
    since = since_of(store, max(days - args.days + 1, 1))
    tag = uuid.uuid4().hex[:8]
    names = {"prefix": f"scale{tag}.tx", "stream": f"SCALE_{tag}", "tag": tag}
    work = Path(tempfile.mkdtemp())
    try:
        watchlist_from_reports(store).write_parquet(work / "watchlist.parquet")
        left = args.limit
        frames = []
        for b in iter_batches(store, since, None):
            frames.append(b.sort(["ts", "tx_id"]).head(left))
            left -= frames[-1].height
            if left <= 0:
                break
        pub = asyncio.run(
            st.publish_frames(
                frames, prefix=names["prefix"], stream=names["stream"], partitions=args.partitions,
                frame_size=500 if args.frames else 200, iso=not args.frames,
            )
        )  # fmt: skip
        p = args.partitions
        one = _run_consumers(store, work, names, since, p, [f"0-{p - 1}"], "one")
        two = _run_consumers(store, work, names, since, p, [f"0-{p // 2 - 1}", f"{p // 2}-{p - 1}"], "two")
    finally:
        asyncio.run(_delete_stream(names["stream"]))
        shutil.rmtree(work, ignore_errors=True)
    rate_one = one[0]["messages_per_s"] or 0
    rate_two = sum(r["messages_per_s"] or 0 for r in two)
    # Per core: the one process's messages over the CPU seconds it used while busy (a consumer is one
    # event loop: about one core at most, less on a shared machine).
    per_consumer = one[0]["messages_per_cpu_s"] or rate_one
    average = args.quarter_tx / QUARTER_S
    peak = average * args.peak_factor
    per_tx = 1 + pub.copies / pub.messages if pub.messages else 1.0
    needed = math.ceil(peak * per_tx / (per_consumer * args.utilisation)) if per_consumer else None
    spark = _spark(store, args) if args.spark else None
    print(
        json.dumps(
            {
                "figure": "stream_messages_per_s_two_consumers",
                "value": rate_two,
                "baseline": "one consumer process owning every partition, same stream, same run",
                "baseline_value": rate_one,
                "ratio": round(rate_two / rate_one, 3) if rate_one else None,
                "message_format": "wire frames of 500"
                if args.frames
                else "pacs.008 JSON, one transaction a message",
                "published_transactions": pub.messages,
                "copies_to_payee_partitions": pub.copies,
                "nats_messages": pub.nats_messages,
                "partitions": p,
                "one_process": one,
                "two_processes": two,
                "lost": {
                    "one": pub.nats_messages - one[0]["messages"],
                    "two": pub.nats_messages - sum(r["messages"] for r in two),
                },
                "capacity_model": {
                    "quarter_transactions": args.quarter_tx,
                    "average_tx_per_s": round(average, 1),
                    "peak_factor_assumed": args.peak_factor,
                    "peak_tx_per_s": round(peak, 1),
                    "messages_per_transaction": round(per_tx, 3),
                    "measured_messages_per_cpu_s": per_consumer,
                    "utilisation": args.utilisation,
                    "consumers_needed": needed,
                    "partitions_suggested": max(8, 2 ** math.ceil(math.log2(max(needed or 1, 1) * 4))),
                },
                "spark": spark,
                "cpus": os.cpu_count(),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


def _spark(store: Path, args: argparse.Namespace) -> dict[str, Any]:
    """`bench/spark.py --screening-only` on the store, and the executors a city's daily batch needs."""
    run = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("spark.py")), "--store", str(store), "--screening-only"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = json.loads(run.stdout.strip().splitlines()[-1])
    cores = 2  # local[2]
    per_core = got["transactions"] / (got["seconds_spark"] * cores)
    day = args.quarter_tx / 91
    needed_cores = math.ceil(day / (per_core * args.batch_window_h * 3600))
    return {
        "flags_identical": got["flags_identical"],
        "flags": got["flags"],
        "transactions": got["transactions"],
        "seconds_spark_local2": got["seconds_spark"],
        "seconds_batch_run": got["seconds_engine"],
        "ratio": got["ratio"],
        "executor_model": {
            "day_transactions": round(day),
            "batch_window_h_assumed": args.batch_window_h,
            "measured_transactions_per_s_per_core": round(per_core),
            "cores_needed": needed_cores,
            "executor_cores": args.executor_cores,
            "executors_needed": math.ceil(needed_cores / args.executor_cores),
        },
    }


async def _delete_stream(stream: str) -> None:
    import nats

    nc = await nats.connect(st.DEFAULT_URL)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


if __name__ == "__main__":
    main()
