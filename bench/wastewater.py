"""Wastewater reference tables: the EUDA means reproduced, and the Statistics Canada rises.

    .venv/bin/python bench/wastewater.py [--data ../shared/data/wastewater]

Figure 1 (issue #22): of the EUDA/SCORE city table's stored weekday, weekend and daily means (cells
compared: a stored mean with at least one printed day in its set), how many are reproduced exactly,
to two decimals, from the published day values (rules.check_euda_means: the publisher's day sets,
mean of the days printed, rounded half-up). Every other cell gets a verdict, proven on its row:
consistent with the printed days (a half-cent tie printed rounded down; within the one cent that
rounding the day values allows, the row's means fitting one set of unrounded days) or inconsistent
with them (day values printed one column off; a blank day in the mean's set; not derivable). The
baseline is the textbook reading of the same columns in the same run: weekday = Monday-Friday,
weekend = Saturday-Sunday. --report FILE writes every cell not reproduced exactly as CSV.
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
from pingan.narcotics.choices import EudaVerdict


def _example(check: analysis.EudaCheck, verdict: EudaVerdict) -> dict[str, object] | None:
    """The first cell of a verdict, with its row's printed day values and the reason."""
    cells = check.by_verdict(verdict)
    if not cells:
        return None
    c = cells[0]
    return {
        "site": c.site,
        "year": c.year,
        "metabolite": c.metabolite,
        "mean": c.mean,
        "days_wed_to_tue": [None if d is None else str(d) for d in c.days],
        "published": str(c.stored),
        "recomputed": str(c.recomputed),
        "reason": c.reason,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=imports.default_data_dir())
    p.add_argument("--q", type=float, default=0.05, help="false-discovery rate for the rises")
    p.add_argument("--report", type=Path, help="write every EUDA cell not reproduced exactly to this CSV")
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
    exact, base_exact = ours.count(EudaVerdict.EXACT), naive.count(EudaVerdict.EXACT)
    if args.report is not None:
        args.report.write_text(analysis.euda_report_csv(ours), encoding="utf-8")

    statcan = imports.read_statcan(statcan_path)
    tests, n_tests = analysis.statcan_rises(statcan.rows, q=args.q)
    flagged = [t for t in tests if t.rise.significant]
    out = {
        "euda_means": {
            "figure": "cells reproduced exactly / cells compared (stored means, to two decimals)",
            "rows": ours.rows,
            "rows_quarantined": len(euda.bad),
            "sites": ours.sites,
            "cells_compared": ours.compared,
            "cells_not_compared": ours.count(EudaVerdict.ABSENT),
            "cells_exact": exact,
            "exact_share": round(exact / ours.compared, 4) if ours.compared else None,
            "not_exact": {
                v.value: {
                    "cells": ours.count(v),
                    "publisher_inconsistent": v in analysis.PUBLISHER_INCONSISTENT,
                    "example": _example(ours, v),
                }
                for v in EudaVerdict
                if v not in (EudaVerdict.EXACT, EudaVerdict.ABSENT)
            },
            "per_mean": {m: {v.value: n for v, n in c.items()} for m, c in ours.verdicts.items()},
            "baseline": {
                "method": "weekday = Mon-Fri, weekend = Sat-Sun (textbook split)",
                "cells_exact": base_exact,
                "per_mean": {m: {v.value: n for v, n in c.items()} for m, c in naive.verdicts.items()},
            },
            "ratio_exact_vs_baseline": round(exact / base_exact, 3) if base_exact else None,
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
