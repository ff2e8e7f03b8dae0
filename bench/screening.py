"""Screening throughput; prints one JSON object.

Batch: the vectorised engine end to end from Parquet (every rule, all state) against a plain DuckDB
SQL baseline doing the same rules (window functions over the same files) in the same run, with the
ratio. The figure is rows decoded per second: `rows_decoded` counts the rows of the row groups the
engine read (where it reads them); `rows_skipped_by_layout` counts the transactions of row groups it
never decoded because no rule lists their channel, and is printed apart, not in the rate;
`transactions` is the store's total. `baseline_value` is the same decoded rows over the baseline's
time (the baseline's SQL filters the same channels). The watchlist is the one the district's
reports build, padded to --watchlist-size accounts with ids no transaction uses (so the lookup is
as large as the issue asks, and the flags stay those of the real watchlist). Peak RSS and the load
average are printed: the machine is shared. The engine's compiled loops (numba) are loaded from
their disk cache when an earlier run left them there; `jit` says whether this run loaded them
(`cache_hits`) or compiled them (`compiled`, whose time then counts in `seconds`): set
NUMBA_CACHE_DIR to an empty directory to measure a first run. The store should be one this version's
generator wrote (schema version 2: a day's rows grouped by channel, docs/sim.md); an older store
screens with the same flags but every row is decoded (and none is skipped by layout).

Streaming (with --stream-seconds): transactions published into NATS at --rate by this process (in
frames of --frame transactions per payer bank; --frame 1 sends a message each), each stamped with
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pingan.antifraud.screening import kernels
from pingan.antifraud.screening import stream as st
from pingan.antifraud.screening.quality import watchlist_from_reports
from pingan.antifraud.screening.ruleset import RuleSet, load_rules
from pingan.antifraud.screening.store import day_files, read_reference, screen_store
from pingan.antifraud.watchlist.frames import WATCHLIST_SCHEMA

BASELINE_SQL = """
WITH t AS (
  SELECT tx_id, ts, payer_account, payee_account, amount_fen FROM read_parquet({files})
  WHERE channel IN ({channels}) AND payee_account >= 0),
p AS (
  SELECT *, row_number() OVER w - 1 AS n_before, lag(amount_fen) OVER w AS prev_amount,
         min(ts) OVER (PARTITION BY payer_account, payee_account) AS first_ts
  FROM t WINDOW w AS (PARTITION BY payer_account, payee_account ORDER BY ts, tx_id)),
burst AS (
  SELECT tx_id, count(*) OVER (PARTITION BY payer_account ORDER BY ts
         RANGE BETWEEN INTERVAL {burst_min} MINUTE PRECEDING AND CURRENT ROW) AS n
  FROM p WHERE n_before = 0 AND amount_fen >= {burst_amt}),
{mule_ctes}io AS (
  SELECT payee_account AS acct, ts, amount_fen AS inflow, NULL::BIGINT AS q FROM t
  UNION ALL SELECT payer_account, ts, 0, tx_id FROM t),
pass AS (
  SELECT q AS tx_id, sum(inflow) OVER (PARTITION BY acct ORDER BY ts
         RANGE BETWEEN INTERVAL {pass_h} HOUR PRECEDING AND CURRENT ROW) AS received FROM io),
f AS (
  SELECT p.*, r.birth_date, r.business, w.listed_from, w.expires_at, w.confidence, pw.listed_from AS payer_listed_from,
         burst.n AS burst_n, {mule_cols}pass.received
  FROM p LEFT JOIN ref r ON r.account_id = p.payer_account
  LEFT JOIN wl w ON w.account_id = p.payee_account
  LEFT JOIN wl pw ON pw.account_id = p.payer_account
  LEFT JOIN burst USING (tx_id) {mule_joins}LEFT JOIN pass USING (tx_id))
SELECT count(*) FROM f WHERE
  NOT coalesce(business, false)
  AND NOT coalesce(payer_listed_from <= ts, false)
  AND NOT coalesce(received >= amount_fen * {pass_share}, false)
  AND ( {wl_conds}
     OR (n_before = 0 AND amount_fen >= {first_amt})
     OR (n_before >= {esc_count} - 1 AND ts - first_ts <= INTERVAL {esc_days} DAY AND amount_fen >= {esc_amt}
         AND amount_fen >= prev_amount * {esc_growth})
     OR coalesce(burst_n >= {burst_count}, false)
     OR (date_diff('day', birth_date, (ts AT TIME ZONE 'UTC')::DATE) / 365.2425 >= {old_age}
         AND (hour(ts AT TIME ZONE 'UTC' + INTERVAL 8 HOUR) >= {night_start} OR hour(ts AT TIME ZONE 'UTC' + INTERVAL 8 HOUR) < {night_end})
         AND amount_fen >= {night_amt})
     {mule_conds})
"""


_MULE_CTE = """mule{i} AS (
  SELECT tx_id, count(*) OVER (PARTITION BY payee_account ORDER BY ts
         RANGE BETWEEN INTERVAL {days} DAY PRECEDING AND CURRENT ROW) AS n
  FROM p WHERE n_before = 0 AND amount_fen >= {amt}),
"""


def _several_of_a_kind_sql(rules: RuleSet) -> dict[str, str]:
    """The SQL of every collecting-card and watchlist rule (there may be several of each kind)."""
    mules = [r.params for r in rules.rule if r.kind == "payee_many_new_payers"]
    return {
        "mule_ctes": "".join(
            _MULE_CTE.format(i=i, days=m.window_days, amt=m.min_amount_fen) for i, m in enumerate(mules)
        ),
        "mule_cols": "".join(f"mule{i}.n AS mule{i}_n, " for i in range(len(mules))),
        "mule_joins": "".join(f"LEFT JOIN mule{i} USING (tx_id) " for i in range(len(mules))),
        "wl_conds": " OR ".join(
            f"(listed_from <= ts AND (expires_at IS NULL OR ts < expires_at) AND amount_fen >= {w.min_amount_fen}"
            f" AND confidence >= {w.min_confidence})"
            for w in (r.params for r in rules.rule if r.kind == "watchlist_payee")
        ),
        "mule_conds": "".join(
            f"OR coalesce(mule{i}_n BETWEEN {m.min_payers} AND {m.max_payers}, false) "
            for i, m in enumerate(mules)
        ),
    }


def baseline(store: Path, rules: RuleSet, wl: Any, ref: Any) -> tuple[float, int]:
    """The same rules as plain DuckDB SQL over the same Parquet files: (seconds, flags)."""
    by = {r.kind: r.params for r in rules.rule}
    several = ("payee_many_new_payers", "watchlist_payee")
    if len({r.kind for r in rules.rule if r.kind not in several}) != sum(
        r.kind not in several for r in rules.rule
    ):
        raise SystemExit(
            "the SQL baseline writes one rule per kind, except collecting-card and watchlist rules"
        )
    files = [str(f) for _, fs in day_files(store) for f in fs]
    sql = BASELINE_SQL.format(
        files=files, channels=", ".join(f"'{c}'" for c in rules.channels),
        burst_min=by["new_payee_burst"].window_minutes, burst_amt=by["new_payee_burst"].min_amount_fen,
        burst_count=by["new_payee_burst"].min_count, pass_h=rules.suppress.pass_through_hours,
        **_several_of_a_kind_sql(rules),
        pass_share=rules.suppress.pass_through_share,
        first_amt=by["first_large_transfer"].min_amount_fen, esc_count=by["escalating_new_payee"].min_count,
        esc_days=by["escalating_new_payee"].new_payee_days, esc_amt=by["escalating_new_payee"].min_amount_fen,
        esc_growth=by["escalating_new_payee"].growth, old_age=by["elderly_night"].min_age,
        night_start=by["elderly_night"].start_hour, night_end=by["elderly_night"].end_hour,
        night_amt=by["elderly_night"].min_amount_fen,
    )  # fmt: skip
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = '12GB'")
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/duckdb-bench-spill'")
    con.register("wl", wl.to_arrow())
    con.register("ref", ref.to_arrow())
    started = time.perf_counter()
    flags = con.execute(sql).fetchone()
    return time.perf_counter() - started, int(flags[0]) if flags else 0


def _replay_batches(store: Path, rate: float, seconds: float, since: datetime | None) -> list[pl.DataFrame]:
    """The store's transactions to replay, day by day in time order, enough for `seconds` at `rate`.

    Read before the consumer starts and the clock runs: the replay's Parquet reads (a district day is
    1.6 M rows) are no part of the system measured, and on 2 shared cores they took CPU from the
    consumer mid-run.
    """
    from pingan.antifraud.screening.store import iter_batches

    out: list[pl.DataFrame] = []
    sent = 0
    while True:
        for b in iter_batches(store, since, None):
            out.append(b.sort(["ts", "tx_id"]))
            sent += b.height
            if sent >= rate * seconds:
                return out


async def _publish(
    batches: list[pl.DataFrame], names: dict[str, str], rate: float, frame_size: int
) -> st.PublishStats:
    return await st.publish_frames(
        batches, prefix=names["prefix"], stream=names["stream"], rate=rate, frame_size=frame_size
    )


def streaming(
    store: Path, rate: float, seconds: float, frame_size: int, since: datetime | None = None
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
        pub = asyncio.run(_publish(batches, names, rate, frame_size))
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
        "frame_size": frame_size,
        "published": pub.messages,
        "nats_messages": pub.nats_messages,
        "duration_s": round(pub.seconds, 3),
        "publish_rate": round(pub.messages / pub.seconds) if pub.seconds else None,
        # Sustained: everything screened over the time from the first publish to the last message screened.
        "sustained_tx_per_s": round(stats.get("screened", 0) / busy) if busy > 0 else None,
        "drain_after_publish_s": round(max(drained_s, 0.0), 3),
        "count_in_equals_count_out": stats.get("received") == pub.messages,
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
        "--stream-since",
        help="ISO time: the consumer starts from the store's history before it, the replay from it",
    )
    args = ap.parse_args()
    store = args.store
    if store is None:
        from pingan.sim import generate

        store = Path(tempfile.mkdtemp()) / args.scale
        generate(args.scale, args.seed, store)
    rules = load_rules()
    result: dict[str, Any] = {
        "figure": "screen_rows_decoded_per_s",
        "store": str(store) if args.store else args.scale,
    }
    if not args.no_batch:
        real = watchlist_from_reports(store)
        ref = read_reference(store)
        wl = pad_watchlist(real, ref, args.watchlist_size)
        run = screen_store(store, rules=rules, watchlist=wl, reference=ref)
        engine_rss = _peak_rss_mib()
        base_s, base_flags = baseline(store, rules, wl, ref)
        result |= {
            "value": round(run.rows_decoded / run.seconds),
            "baseline": "duckdb_sql_window_functions_same_rules",
            "baseline_value": round(run.rows_decoded / base_s),
            "ratio": round(base_s / run.seconds, 3),
            "rows_decoded": run.rows_decoded,
            "rows_skipped_by_layout": run.rows_skipped_by_layout,
            "transactions": run.rows,
            "transfers_screened": run.transfers,
            "flags": run.flags.height,
            "baseline_flags": base_flags,
            "watchlist_accounts": wl.height,
            "watchlist_accounts_real": real.height,
            "seconds": round(run.seconds, 3),
            "baseline_seconds": round(base_s, 3),
            "peak_rss_mib_engine": engine_rss,
            "jit": kernels.jit_stats() | {"compile_time_in_seconds": kernels.jit_stats()["compiled"] > 0},
            "peak_rss_mib_with_baseline": _peak_rss_mib(),
            "target_rows_decoded_per_s": 20_000_000,
        }
    result |= {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    if args.stream_seconds:
        since = st.utc(args.stream_since) if args.stream_since else None  # a time without zone is UTC
        result["streaming"] = streaming(
            args.stream_store or store, args.rate, args.stream_seconds, args.frame, since
        )
        result["load_avg_1m_after_stream"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
