"""Warning quality on generated districts, under the evaluation protocol; prints one JSON object.

Screens each district with the shipped rules and the watchlist its reports build over time (each
reported payee and its holder's other accounts, listed when the report was registered), after
`--warmup-days` of history, and scores the flags against the district's truth (read through
`pingan.sim.truth`; definitions in screening/quality.py). Targets: flagged_before_second_payment
>= 0.80, precision >= 0.50, both per typology as well.

With `--scorer MODEL` (a model of `pingan train-scorer`, trained and thresholded on tuning seeds), each
district is also screened with the scorer beside the rules (M-SCORE; screening/scorer.py), and both
sets of figures are printed from the same screening: `rules` (before) and `rules_and_scorer` (after).

docs/evaluation.md: the rules are tuned on seeds 1-4 and the figures reported on seeds 101-105. The
default run reports on 101-105 at `small` scale and prints `tuned_on` and `reported_on`; `--tuning`
runs on tuning seeds instead (and refuses a reporting seed). `--store DIR` scores one existing
district (its manifest's seed must obey the same rule).

    .venv/bin/python bench/warning_quality.py [--scale small] [--seeds 101,102,103,104,105]
        [--cache /tmp/pingan-districts] [--tuning] [--store DIR] [--scorer MODEL]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from pingan.antifraud.screening.quality import evaluate, since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import load_rules
from pingan.antifraud.screening.scorer import Scorer, screen_with_scorer
from pingan.antifraud.screening.store import screen_store
from pingan.sim.truth import REPORTING_SEEDS, protocol_seeds

POOLED = ("flagged_before_second_payment", "flagged_at_all")


def district(scale: str, seed: int, cache: Path) -> Path:
    """The district of (scale, seed), generated once into `cache` (a seed gives the same bytes)."""
    store = cache / f"{scale}-{seed}"
    if not (store / "manifest.json").is_file():
        from pingan.sim import generate

        generate(scale, seed, store)
    return store


def one(store: Path, warmup_days: int, model: Scorer | None = None) -> dict[str, Any]:
    """Screen one district and score it; with `model`, `scored` holds the figures with the scorer."""
    rules = load_rules()
    since = since_of(store, warmup_days) if warmup_days else None
    started = time.perf_counter()
    watchlist = watchlist_from_reports(store)
    run = screen_store(store, rules=rules, watchlist=watchlist, since=since)
    out = {
        "store": str(store),
        "seed": json.loads((store / "manifest.json").read_text())["seed"],
        "rules_version": rules.version,
        "screened_from": since.isoformat() if since else None,
        "rows": run.rows,
        "seconds": round(time.perf_counter() - started, 3),
        **evaluate(store, run.flags, since),
    }
    if model is not None:
        started = time.perf_counter()
        flags = screen_with_scorer(store, model, run.flags, watchlist=watchlist, since=since)
        out["scored"] = {
            "scorer_seconds": round(time.perf_counter() - started, 3),
            **evaluate(store, flags, since),
        }
    return out


def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures over all seeds: victims and risk events pooled, overall and per typology."""
    out: dict[str, Any] = {"victims": sum(r["victims"] for r in runs)}
    for key in POOLED:
        out[key] = round(sum(r[key] * r["victims"] for r in runs) / max(out["victims"], 1), 4)
    events = sum(r["risk_events"] for r in runs)
    out["risk_events"] = events
    for key in ("precision", "precision_new_victims_only"):
        out[key] = round(sum(r[key] * r["risk_events"] for r in runs) / max(events, 1), 4)
    per: dict[str, dict[str, Any]] = {}
    for r in runs:
        for typ, f in r["per_typology"].items():
            p = per.setdefault(typ, {"victims": 0, "true_events": 0, **dict.fromkeys(POOLED, 0.0)})
            p["victims"] += f["victims"]
            p["true_events"] += f["true_events"]
            for key in POOLED:
                p[key] += f[key] * f["victims"]
    for p in per.values():
        for key in POOLED:
            p[key] = round(p[key] / max(p["victims"], 1), 4)
        # A false event is on a person who is no victim, so it belongs to no typology: per typology
        # we print the typology's share of the true events, and precision only overall and per rule.
        p["share_of_true_events"] = round(
            p["true_events"] / max(sum(q["true_events"] for q in per.values()), 1), 4
        )
    out["per_typology"] = per
    return out


def per_rule(runs: list[dict[str, Any]]) -> dict[str, dict[str, float | int]]:
    """Per rule id over all seeds: risk events raised and the share of them that were true."""
    out: dict[str, dict[str, float]] = {}
    for r in runs:
        for rule, f in r["per_rule"].items():
            p = out.setdefault(rule, {"events": 0, "true": 0.0})
            p["events"] += f["events"]
            p["true"] += f["precision"] * f["events"]
    return {
        rule: {"events": int(p["events"]), "precision": round(p["true"] / max(p["events"], 1), 4)}
        for rule, p in sorted(out.items())
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="small")
    ap.add_argument("--seeds", default=",".join(map(str, REPORTING_SEEDS)))
    ap.add_argument("--tuning", action="store_true", help="a tuning run on seeds 1-4 (docs/evaluation.md)")
    ap.add_argument("--store", type=Path, help="score one existing district instead of generating")
    ap.add_argument("--cache", type=Path, help="where generated districts are kept between runs")
    ap.add_argument("--warmup-days", type=int, default=10)
    ap.add_argument("--scorer", type=Path, help="a scorer model (pingan train-scorer) beside the rules")
    args = ap.parse_args()
    model = Scorer.load(args.scorer) if args.scorer else None
    cache = args.cache or Path(tempfile.mkdtemp())
    stores = (
        [args.store] if args.store else [district(args.scale, int(s), cache) for s in args.seeds.split(",")]
    )
    seeds = [int(json.loads((s / "manifest.json").read_text())["seed"]) for s in stores]
    protocol = protocol_seeds(seeds, tuning=args.tuning)
    if model is not None:
        # The scorer's own tuning seeds are printed beside the rules': both must be tuning seeds.
        protocol |= {
            "scorer_trained_on": protocol_seeds(seeds, model.tuned_on, tuning=args.tuning)["tuned_on"]
        }
    runs = [one(s, args.warmup_days, model) for s in stores]
    result: dict[str, Any] = {
        "figure": "warning_quality",
        "scale": args.scale if args.store is None else str(args.store),
        **protocol,
        "targets": {"flagged_before_second_payment": 0.80, "precision": 0.50},
        "pooled": pooled(runs),
        "per_seed": runs,
    }
    if model is not None:
        scored = [r.pop("scored") | {"seed": r["seed"]} for r in runs]
        result["pooled"] = {
            "rules": result["pooled"],
            "rules_and_scorer": pooled(scored)
            | {"threshold": model.threshold, "rule_gate": model.rule_gate, "per_rule": per_rule(scored)},
        }
        result["per_seed_with_scorer"] = scored
    else:
        result["pooled"]["per_rule"] = per_rule(runs)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
