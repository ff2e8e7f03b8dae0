"""`pingan train-scorer`: the thresholds are chosen on the precision the issue asks for."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pingan.antifraud.screening import scorer as sc
from pingan.antifraud.screening.quality import evaluate
from pingan.sim.scorer_training import train_scorer_on, tuning_district


def test_the_thresholds_are_chosen_on_the_precision_that_counts_victims_already_paying_as_false(
    tiny_district: Path,
) -> None:
    district = tuning_district(tiny_district, warmup_days=3)
    model = train_scorer_on([district])
    assert model.figures["chosen_on"] == "precision_new_victims_only"
    # With one tuning district its out-of-fold model is trained on it: score it again and read both
    # precisions at the pair kept. The choice must have read the stricter one.
    booster = sc.fit([district.frame])
    scored = district.frame.with_columns(score=pl.Series(sc.predict(booster, district.frame)))
    flags = sc.combined_flags(
        district.rule_flags, scored, threshold=model.threshold, rule_gate=model.rule_gate
    )
    got = evaluate(district.store, flags, district.since)
    chosen = model.figures["out_of_fold"]
    assert chosen["precision_new_victims_only"] == got["precision_new_victims_only"]
    assert chosen["precision"] == got["precision"]
    assert chosen["flagged_before_second_payment"] == got["flagged_before_second_payment"]
    assert got["precision_new_victims_only"] <= got["precision"]
