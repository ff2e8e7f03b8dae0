"""The Spark engine against the in-process batch run on one machine; prints one JSON object.

Both screen the same generated district (whole store, from its first transaction, the watchlist its
reports build) in this process, one after the other. `seconds_spark` is `spark_job.screen_store` on a
local Spark of --master (default local[2]) whose session is already started (the JVM's start,
`seconds_spark_start`, is printed apart); `seconds_engine` is `store.screen_store` (the DuckDB script
of `screening/batch.py`) after a warm-up run. `ratio` is Spark's time over the batch run's: Spark is expected to be slower on one machine,
where it pays for its JVM, shuffles and task scheduling and has nothing to spread over. `flags_identical`
says whether the two gave the same flags, every column of every flag. Spark is timed --repeat times
and the best run printed (its first run also plans and compiles the queries). The load average is
printed: the machine is shared.

The mule features too (`mules`): every account's features of the store's transfers, by
`spark_features.store_features`'s computation on the same session (best of --repeat) against
`features.account_features` in this process (Polars), with `mule_features_equal`: every column equal to
a relative 1e-9 (floating sums in another order differ in the last digits). Then the whole round-zero
feature table of the mule model (`mule_graph`: the per-account features with the counterparties' means,
triangles and reciprocal counterparties), by `spark_graph.SparkEngine` on the same session (best of
--repeat, the transfers and their counterparty pairs cached from the first run) against
`model.PolarsEngine`, with `graph_features_equal` (every column equal to 1e-9, and of the same type).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from polars.testing import assert_frame_equal

from pingan.antifraud.mules import spark_features
from pingan.antifraud.mules.district import account_openings, read_transfers, reported_victims
from pingan.antifraud.mules.features import account_features
from pingan.antifraud.mules.model import PolarsEngine
from pingan.antifraud.mules.spark_graph import store_engine
from pingan.antifraud.screening import spark_job
from pingan.antifraud.screening.quality import watchlist_from_reports
from pingan.antifraud.screening.ruleset import load_rules
from pingan.antifraud.screening.store import screen_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", default="small", help="tiny or small (district is 100M+ rows)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", type=Path, help="an existing district instead of generating one")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--shuffle-partitions", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--screening-only", action="store_true", help="leave out the mule features")
    args = ap.parse_args()
    store = args.store
    if store is None:
        from pingan.sim import generate

        store = Path(tempfile.mkdtemp()) / args.scale
        generate(args.scale, args.seed, store)
    rules = load_rules()
    wl = watchlist_from_reports(store)
    screen_store(store, rules=rules, watchlist=wl)  # warm: page cache and first-use costs
    t0 = time.perf_counter()
    engine = screen_store(store, rules=rules, watchlist=wl)
    seconds_engine = time.perf_counter() - t0

    t0 = time.perf_counter()
    spark = spark_job.session(args.master, shuffle_partitions=args.shuffle_partitions)
    spark.range(1).count()
    seconds_start = time.perf_counter() - t0
    times = []
    run = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        run = spark_job.screen_store(spark, store, rules=rules, watchlist=wl)
        times.append(time.perf_counter() - t0)
    mules = None if args.screening_only else _mule_features(spark, store, args.repeat)
    mule_graph = None if args.screening_only else _mule_graph(store, args.repeat)
    spark.stop()
    assert run is not None
    result: dict[str, Any] = {
        "figure": "spark_local_seconds",
        "store": str(args.store) if args.store else f"{args.scale} seed {args.seed}",
        "master": args.master,
        "shuffle_partitions": args.shuffle_partitions,
        "transactions": engine.rows,
        "flags": engine.flags.height,
        "value": round(min(times), 3),
        "seconds_spark": round(min(times), 3),
        "seconds_spark_runs": [round(t, 3) for t in times],
        "seconds_spark_start": round(seconds_start, 3),
        "baseline": "in-process batch run (store.screen_store: the DuckDB script)",
        "baseline_value": round(seconds_engine, 3),
        "seconds_engine": round(seconds_engine, 3),
        "ratio": round(min(times) / seconds_engine, 2),
        "flags_identical": run.flags.to_dicts() == engine.flags.to_dicts(),
        "mules": mules,
        "mule_graph": mule_graph,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


def _mule_features(spark: Any, store: Path, repeat: int) -> dict[str, Any]:
    """The per-account mule features on Spark against Polars in this process, same store."""
    opened, flagged = account_openings(store), reported_victims(store)
    t0 = time.perf_counter()
    transfers = read_transfers(store)
    want = account_features(transfers, opened, flagged)
    seconds_polars = time.perf_counter() - t0
    times, got = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        # The running session: store_features' getOrCreate returns it.
        got = spark_features.store_features(str(store), opened=opened, flagged=flagged)
        times.append(time.perf_counter() - t0)
    try:
        assert_frame_equal(got, want, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-9)
        equal = True
    except AssertionError:
        equal = False
    return {
        "accounts": want.height,
        "seconds_spark": round(min(times), 3),
        "seconds_spark_runs": [round(t, 3) for t in times],
        "seconds_polars": round(seconds_polars, 3),
        "ratio": round(min(times) / seconds_polars, 2),
        "mule_features_equal": equal,
    }


def _mule_graph(store: Path, repeat: int) -> dict[str, Any]:
    """The mule model's round-zero feature table on Spark against Polars in this process, same store."""
    opened, flagged = account_openings(store), reported_victims(store)
    t0 = time.perf_counter()
    want = PolarsEngine(read_transfers(store)).base_features(opened, flagged)
    seconds_polars = time.perf_counter() - t0
    engine = store_engine(str(store))  # the running session: getOrCreate returns it
    times, got = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        got = engine.base_features(opened, flagged)
        times.append(time.perf_counter() - t0)
    try:
        assert_frame_equal(got, want, rel_tol=1e-9, abs_tol=1e-9)
        equal = True
    except AssertionError:
        equal = False
    return {
        "accounts": want.height,
        "columns": want.width - 1,
        "seconds_spark": round(min(times), 3),
        "seconds_spark_runs": [round(t, 3) for t in times],
        "seconds_polars": round(seconds_polars, 3),
        "ratio": round(min(times) / seconds_polars, 2),
        "graph_features_equal": equal,
    }


if __name__ == "__main__":
    main()
