"""Benchmark of fund tracing: index build, per-report FIFO trace latency, accuracy on the generator's truth.

Prints one JSON object. The baseline is a time-respecting breadth-first walk over a networkx MultiDiGraph
of the same transfers (reachability only, no amount attribution: less work than ours), on a sample of
reports, in the same run.

    .venv/bin/python bench/tracing.py --scale small --seeds 1000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import timedelta
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl

from pingan.antifraud.tracing import Limits, Method, TraceIndex, trace

HOUR_US = 3_600_000_000


def generate(scale: str, seed: int, out: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pingan.sim.cli",
        "generate",
        "--scale",
        scale,
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True)


def networkx_walk(
    g: nx.MultiDiGraph, seed_edges: list[tuple[int, int, int]], hops: int, end_us: int
) -> set[int]:
    """Accounts reachable from the seeds by time-respecting paths of at most `hops` transfers."""
    seen: dict[int, int] = {}
    queue = deque((payee, ts, 1) for _, payee, ts in seed_edges)
    while queue:
        node, t, h = queue.popleft()
        if node in seen and seen[node] <= t:
            continue
        seen[node] = t
        if h >= hops:
            continue
        for _, nxt, data in g.out_edges(node, data=True):
            if t <= data["ts"] <= end_us:
                queue.append((nxt, data["ts"], h + 1))
    return set(seen)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, help="an existing store (default: generate one)")
    ap.add_argument("--scale", default="tiny")
    ap.add_argument("--seeds", type=int, default=1000, help="reports traced")
    ap.add_argument("--baseline-sample", type=int, default=50)
    args = ap.parse_args()
    tmp = None
    store = args.store
    if store is None:
        tmp = tempfile.TemporaryDirectory()
        store = Path(tmp.name) / "store"
        generate(args.scale, 1, store)

    t = time.perf_counter()
    index = TraceIndex.build(store)
    build_s = time.perf_counter() - t
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    flows = pl.read_parquet(store / "truth" / "fraud_flows.parquet")
    seeds = (
        flows.filter((pl.col("hop") == 0) & (pl.col("kind") == "fraud"))
        .group_by("victim_id")
        .agg(pl.col("tx_id"), pl.col("amount_fen").sum().alias("stolen"), pl.col("campaign_id").first())
        .sort("victim_id")
        .head(args.seeds)
    )
    by_victim = flows.group_by("victim_id").agg(
        pl.col("payee_account").unique().alias("accounts"), pl.col("tx_id").alias("txs")
    )
    truth = {r["victim_id"]: (set(r["accounts"]), set(r["txs"])) for r in by_victim.iter_rows(named=True)}
    # Victims of one campaign pay the same mule cards, where their money mixes: per victim, which parcel
    # is whose is a convention; per campaign (the gang's accounts) it is a fact.
    by_campaign = flows.group_by("campaign_id").agg(
        pl.col("payee_account").unique().alias("accounts"), pl.col("tx_id").alias("txs")
    )
    gang = {r["campaign_id"]: (set(r["accounts"]), set(r["txs"])) for r in by_campaign.iter_rows(named=True)}

    limits = Limits(max_hops=6, window=timedelta(hours=72), min_fen=1)
    full = Limits(max_hops=64, window=timedelta(days=30), min_fen=1)
    times, shares_full, shares_6, shares_gang = [], [], [], []
    for r in seeds.iter_rows(named=True):
        t = time.perf_counter()
        res = trace(index, r["tx_id"], method=Method.FIFO, limits=limits)
        times.append(time.perf_counter() - t)
        res_full = trace(index, r["tx_id"], method=Method.FIFO, limits=full)
        for rr, out, (accounts, txs) in (
            (res, shares_6, truth[r["victim_id"]]),
            (res_full, shares_full, truth[r["victim_id"]]),
            (res_full, shares_gang, gang[r["campaign_id"]]),
        ):
            right = sum(a.held for acct, a in rr.accounts.items() if acct in accounts)
            right += sum(c.traced for c in rr.cashouts if c.tx_id in txs)
            out.append(right / r["stolen"])

    # Baseline: networkx graph of the transfers of the sampled reports' days, then the same walks.
    sample = seeds.head(args.baseline_sample)
    t = time.perf_counter()
    g = nx.MultiDiGraph()
    keep = index.tx_payee >= 0
    g.add_edges_from(
        (int(a), int(b), {"ts": int(s)})
        for a, b, s in zip(index.tx_payer[keep], index.tx_payee[keep], index.tx_ts[keep], strict=True)
    )
    nx_build_s = time.perf_counter() - t
    nx_times, ours_sample = [], []
    for r in sample.iter_rows(named=True):
        pos = index.positions_of(r["tx_id"])
        edges = [(int(index.tx_payer[p]), int(index.tx_payee[p]), int(index.tx_ts[p])) for p in pos]
        end = min(e[2] for e in edges) + 72 * HOUR_US
        t = time.perf_counter()
        networkx_walk(g, edges, 6, end)
        nx_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        trace(index, r["tx_id"], method=Method.FIFO, limits=limits)
        ours_sample.append(time.perf_counter() - t)

    p95 = float(np.percentile(times, 95)) * 1000
    nx_mean = float(np.mean(nx_times)) * 1000
    ours_mean = float(np.mean(ours_sample)) * 1000
    print(
        json.dumps(
            {
                "figure": "trace_fifo_6hop_72h_p95_ms",
                "value": round(p95, 3),
                "p50_ms": round(float(np.percentile(times, 50)) * 1000, 3),
                "reports_traced": len(times),
                "transactions": index.size,
                "accounts": int(index.accounts.size),
                "index_build_s": round(build_s, 3),
                "peak_rss_mib": round(rss_mib, 1),
                "baseline": "networkx_time_respecting_bfs (reachability only)",
                "baseline_sample": len(nx_times),
                "baseline_graph_build_s": round(nx_build_s, 3),
                "baseline_mean_ms": round(nx_mean, 3),
                "ours_mean_ms_same_sample": round(ours_mean, 3),
                "ratio": round(nx_mean / ours_mean, 2) if ours_mean else None,
                "attributed_right_share_fifo_full_hops": round(float(np.mean(shares_full)), 4),
                "attributed_right_share_fifo_full_hops_min": round(float(np.min(shares_full)), 4),
                "attributed_right_share_fifo_6h_72h": round(float(np.mean(shares_6)), 4),
                "attributed_to_campaign_accounts_share_fifo_full_hops": round(float(np.mean(shares_gang)), 4),
                "store": str(store) if args.store else f"generated {args.scale} seed 1",
            }
        )
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
