"""Benchmark of the synthetic district generator: transactions per second, end to end to Parquet.

Prints one JSON object. The figure is the whole run (world, fraud plan, tables, every day, truth,
reports) with `--workers` processes; the baseline is the same generator restricted to one process
(days generated one after another, one day per chunk), timed in the same run on `--baseline-days`
days of the same district. Peak RSS is the largest of this process and of any worker, plus all workers'.

    python bench/sim.py --scale district            # the full 90 days
    python bench/sim.py --scale district --days 10  # a quick run
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pingan.sim import check_district, generate
from pingan.sim import params as cfg


def _rss_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="district", choices=list(cfg.SCALES))
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--baseline-days", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="where to write (default: a temporary directory)")
    ap.add_argument("--check", action="store_true", help="also run `sim check` on the result and time it")
    args = ap.parse_args()
    days = args.days if args.days is not None else cfg.SCALES[args.scale].days
    root = args.out or Path(tempfile.mkdtemp(prefix="pingan-sim-bench-"))
    try:
        # Baseline: one process, one chunk size (a day), on the first baseline days; only the days are timed,
        # and they are compared with the days of the main run (world and tables are the same work in both).
        base_days = min(args.baseline_days, days)
        base = generate(
            args.scale, args.seed, root / "baseline", days=days, workers=1, day_subset=range(base_days)
        )
        base_rate = base.rows / base.seconds["days"]
        shutil.rmtree(root / "baseline")

        t = time.perf_counter()
        stats = generate(args.scale, args.seed, root / "main", days=days, workers=args.workers)
        wall = time.perf_counter() - t
        day_rate = stats.rows / stats.seconds["days"]
        own, children = _rss_mib()
        result: dict[str, object] = {
            "figure": "sim_tx_per_s",
            "value": round(stats.rows / wall),
            "baseline": "single_process_single_chunk_size",
            "baseline_value": round(base_rate),
            "ratio": round(day_rate / base_rate, 3),
            "ratio_note": "ratio compares day generation (the part that differs); value is end to end",
            "rows": stats.rows,
            "peak_rss_mib": round(own + children),
            "peak_rss_parent_mib": round(own),
            "peak_rss_worker_mib": round(children),
            "scale": args.scale,
            "days": days,
            "baseline_days": base_days,
            "workers": args.workers,
            "wall_s": round(wall, 2),
            "day_tx_per_s": round(day_rate),
            "seconds": {k: round(v, 2) for k, v in stats.seconds.items()},
        }
        if args.check:
            t = time.perf_counter()
            report = check_district(root / "main")
            result["check_s"] = round(time.perf_counter() - t, 2)
            result["check_fraud_tx"] = report.fraud_transactions
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
    finally:
        if args.out is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
