"""Wastewater reference tables: the EUDA means reproduced, and the Statistics Canada rises.

    .venv/bin/python bench/wastewater.py [--data ../shared/data/wastewater]

Figure 1 (issue #22): of the EUDA/SCORE city table's stored weekday, weekend and daily means, how
many are reproduced exactly, to two decimals, from the published day values (rules.check_euda_means:
the publisher's day sets, mean of the days measured, rounded half-up). A difference of exactly one
cent is counted apart ("rounding"): the publisher averaged unrounded day values, which can move the
second decimal by one; more than that is a mismatch. The baseline is the textbook reading of the
same columns in the same run: weekday = Monday-Friday, weekend = Saturday-Sunday.
Figure 2: the Statistics Canada months flagged as significant rises, with the method.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pingan.narcotics import analysis, imports


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=imports.default_data_dir())
    p.add_argument("--q", type=float, default=0.05, help="false-discovery rate for the rises")
    args = p.parse_args()
    euda_path, statcan_path = args.data / imports.EUDA_FILE, args.data / imports.STATCAN_FILE
    if not euda_path.exists() or not statcan_path.exists():
        print(json.dumps({"error": f"reference tables not found under {args.data}"}))
        return 2

    t0 = time.perf_counter()
    euda = imports.read_euda(euda_path)
    ours = analysis.check_euda(euda.rows)
    t1 = time.perf_counter()
    naive = analysis.check_euda(euda.rows, naive=True)
    t2 = time.perf_counter()
    compared = ours.count("exact") + ours.count("rounding") + ours.count("mismatch")
    base_exact = naive.count("exact")

    statcan = imports.read_statcan(statcan_path)
    tests, n_tests = analysis.statcan_rises(statcan.rows, q=args.q)
    flagged = [t for t in tests if t.rise.significant]
    out = {
        "euda_means": {
            "figure": "stored means reproduced exactly to two decimals",
            "rows": ours.rows,
            "rows_quarantined": len(euda.bad),
            "cities": ours.cities,
            "means_compared": compared,
            "means_absent": ours.count("absent"),
            "exact_matches": ours.count("exact"),
            "one_cent_rounding": ours.count("rounding"),
            "mismatches": ours.count("mismatch"),
            "exact_share": round(ours.count("exact") / compared, 4) if compared else None,
            "per_mean": {m: dict(c) for m, c in ours.verdicts.items()},
            "first_mismatches": ours.mismatches[:10],
            "baseline": {
                "method": "weekday = Mon-Fri, weekend = Sat-Sun (textbook split)",
                "exact_matches": base_exact,
                "one_cent_rounding": naive.count("rounding"),
                "mismatches": naive.count("mismatch"),
                "per_mean": {m: dict(c) for m, c in naive.verdicts.items()},
            },
            "ratio_exact_vs_baseline": round(ours.count("exact") / base_exact, 3) if base_exact else None,
            "seconds": round(t1 - t0, 3),
            "baseline_seconds": round(t2 - t1, 3),
        },
        "statcan_rises": {
            "method": (
                "per place and measure, each month against the same month a year earlier "
                "(seasonality-aware: like months only); one-sided z = (x_t - x_t-12) / sqrt(se_t^2 + se_t-12^2) "
                "with the published standard errors (from the 95% CI where absent); "
                f"Benjamini-Hochberg at FDR q={args.q} over all tests"
            ),
            "rows": statcan.lines,
            "series": len(analysis.statcan_series(statcan.rows)),
            "tests": n_tests,
            "flagged": len(flagged),
            "baseline": {
                "method": "same z-test, unadjusted p < 0.05 (no multiple-testing control)",
                "flagged": sum(1 for t in tests if t.rise.p < args.q and t.rise.z > 0),
            },
            "months": [
                {
                    "geo": t.geo,
                    "measure": t.measure,
                    "month": t.rise.month,
                    "vs": t.rise.baseline_month,
                    "load": t.rise.load,
                    "baseline": t.rise.baseline,
                    "z": round(t.rise.z, 2),
                    "p": float(f"{t.rise.p:.3g}"),
                }
                for t in flagged
            ],
        },
    }
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
