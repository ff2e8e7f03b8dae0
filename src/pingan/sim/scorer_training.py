"""`pingan train-scorer`: train the screening scorer (M-SCORE) on the tuning seeds' districts.

It lives with the simulator because it trains on generated districts and reads their labels
(`pingan.sim.truth`), which screening may not import; `pingan/cli.py` mounts it.

The protocol (docs/evaluation.md): the model is trained on the tuning seeds only, and its two
thresholds (the scorer's own, and the gate a rule flag must pass) are chosen out of fold on them:
each tuning district is scored by a model trained on the other ones, the rules and the scorer are
combined at each candidate pair of thresholds, and the pooled figures of `screening.quality` pick
the pair: the most victims flagged before their second payment among the pairs whose precision reaches
0.5, precision read as the issue reads it (an event on a victim already paying before screening began
counts as false). The model written is then trained on all the tuning districts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from pingan.antifraud.screening import scorer as sc
from pingan.antifraud.screening.quality import evaluate, since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import load_rules
from pingan.antifraud.screening.store import screen_store
from pingan.sim.truth import TUNING_SEEDS, protocol_seeds, read_labels

WARMUP_DAYS = 10
# Candidate scorer thresholds (and rule gates, at or below the threshold) tried out of fold.
CANDIDATES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def district_store(scale: str, seed: int, cache: Path) -> Path:
    """The district of (scale, seed) in `cache`, generated there the first time (a seed gives the same bytes)."""
    store = cache / f"{scale}-{seed}"
    if not (store / "manifest.json").is_file():
        from pingan.sim import generate

        generate(scale, seed, store)
    return store


@dataclass
class Tuning:
    """One tuning district, ready for training: its screened transfers with labels, and the rules' flags."""

    store: Path
    seed: int
    since: datetime
    frame: pl.DataFrame  # transfer_features, unsuppressed, with `label`
    rule_flags: pl.DataFrame


def tuning_district(store: Path, warmup_days: int = WARMUP_DAYS) -> Tuning:
    """A district's transfers after `warmup_days`, labelled from its truth (a victim's payment is 1)."""
    since = since_of(store, warmup_days)
    watchlist = watchlist_from_reports(store)
    paid = read_labels(store).fraud_flows.filter(pl.col("hop") == 0)["tx_id"]
    frame = (
        sc.transfer_features(store, watchlist, since=since)
        .filter(~pl.col("suppressed"))
        .with_columns(label=pl.col("tx_id").is_in(paid.implode()).cast(pl.Int64))
    )
    rules = screen_store(store, rules=load_rules(), watchlist=watchlist, since=since).flags
    seed = int(json.loads((store / "manifest.json").read_text())["seed"])
    return Tuning(store, seed, since, frame, rules)


def train_scorer_on(
    districts: list[Tuning], *, seed: int = sc.SEED, features: tuple[str, ...] = sc.FEATURES
) -> sc.Scorer:
    """Thresholds chosen out of fold (leave one district out), then the model trained on all of them."""
    scored: list[pl.DataFrame] = []
    for i, d in enumerate(districts):
        others = [o.frame for j, o in enumerate(districts) if j != i] or [d.frame]
        booster = sc.fit(others, seed=seed, features=features)
        scored.append(d.frame.with_columns(score=pl.Series(sc.predict(booster, d.frame, features))))

    lenient: dict[tuple[float, float], float] = {}

    def pooled(threshold: float, gate: float) -> tuple[float, float]:
        """Victims flagged before their second payment, and the issue's precision: an event on a victim
        already paying before screening began counts as false (`precision_new_victims_only`)."""
        victims = events = 0
        before = true = true_new = 0.0
        for d, s in zip(districts, scored, strict=True):
            flags = sc.combined_flags(d.rule_flags, s, threshold=threshold, rule_gate=gate)
            f = evaluate(d.store, flags, d.since)
            victims += f["victims"]
            before += f["flagged_before_second_payment"] * f["victims"]
            events += f["risk_events"]
            true += f["precision"] * f["risk_events"]
            true_new += f["precision_new_victims_only"] * f["risk_events"]
        lenient[threshold, gate] = round(true / max(events, 1), 4)
        return round(before / max(victims, 1), 4), round(true_new / max(events, 1), 4)

    choice = sc.choose_thresholds(pooled, CANDIDATES)
    alone = pooled(2.0, 0.0)
    figures: dict[str, Any] = {
        "out_of_fold": {
            "flagged_before_second_payment": choice.flagged_before_second_payment,
            "precision_new_victims_only": choice.precision,
            "precision": lenient[choice.threshold, choice.rule_gate],
        },
        "rules_alone": {
            "flagged_before_second_payment": alone[0],
            "precision_new_victims_only": alone[1],
            "precision": lenient[2.0, 0.0],
        },
        "chosen_on": "precision_new_victims_only",
        "warmup_days": WARMUP_DAYS,
    }
    return sc.Scorer(
        booster=sc.fit([d.frame for d in districts], seed=seed, features=features),
        features=features,
        threshold=choice.threshold,
        rule_gate=choice.rule_gate,
        tuned_on=[d.seed for d in districts],
        figures=figures,
    )


def train_scorer(
    out: Annotated[Path, typer.Option(help="the model file to write (JSON)")],
    seeds: Annotated[str, typer.Option(help="tuning seeds, comma-separated")] = ",".join(
        map(str, TUNING_SEEDS)
    ),
    scale: Annotated[str, typer.Option(help="district scale")] = "small",
    cache: Annotated[
        Path, typer.Option(file_okay=False, help="where the districts are (generated there when missing)")
    ] = Path("var/districts"),
    seed: Annotated[
        int, typer.Option(help="LightGBM's seed (bagging, feature and negative sampling)")
    ] = sc.SEED,
    without: Annotated[
        list[str] | None, typer.Option(help="leave this feature out (repeatable): an ablation")
    ] = None,
) -> None:
    """Train the screening scorer (M-SCORE) on tuning districts and write it, thresholds included."""
    unknown = [f for f in without or [] if f not in sc.FEATURES]
    if unknown:
        raise typer.BadParameter(f"unknown feature {unknown[0]!r}", param_hint="--without")
    features = tuple(f for f in sc.FEATURES if f not in (without or []))
    wanted = [int(s) for s in seeds.split(",") if s.strip()]
    try:
        protocol_seeds(wanted, tuning=True)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--seeds") from None
    districts = [tuning_district(district_store(scale, s, cache)) for s in wanted]
    model = train_scorer_on(districts, seed=seed, features=features)
    model.save(out)
    typer.echo(
        json.dumps(
            {
                "model": str(out),
                "tuned_on": model.tuned_on,
                "threshold": model.threshold,
                "rule_gate": model.rule_gate,
                "features": list(model.features),
                **model.figures,
            }
        )
    )
