"""Warning quality on the synthetic district's ground truth; prints one JSON object.

Screens a generated district with the shipped rules and the watchlist its reports build over time
(each reported payee and its holder's other accounts, listed when the report was registered), after
`--warmup-days` of history, and scores the flags against truth/ (see screening/quality.py for the
definitions). Targets: flagged_before_second_payment >= 0.80, precision >= 0.50. Beside `precision`
it prints `precision_new_victims_only`, the stricter reading that counts events on victims already
paying before screening began as false.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from pingan.antifraud.screening.quality import evaluate, since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import load_rules
from pingan.antifraud.screening.store import screen_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", default="small")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", type=Path, help="an existing district instead of generating one")
    ap.add_argument("--warmup-days", type=int, default=10)
    args = ap.parse_args()
    store = args.store
    if store is None:
        from pingan.sim import generate

        store = Path(tempfile.mkdtemp()) / args.scale
        generate(args.scale, args.seed, store)
    rules = load_rules()
    since = since_of(store, args.warmup_days) if args.warmup_days else None
    started = time.perf_counter()
    run = screen_store(store, rules=rules, watchlist=watchlist_from_reports(store), since=since)
    result = {
        "figure": "warning_quality",
        "scale": args.scale if args.store is None else str(store),
        "seed": args.seed,
        "rules_version": rules.version,
        "screened_from": since.isoformat() if since else None,
        "rows": run.rows,
        "seconds": round(time.perf_counter() - started, 3),
        "targets": {"flagged_before_second_payment": 0.80, "precision": 0.50},
        **evaluate(store, run.flags, since),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
