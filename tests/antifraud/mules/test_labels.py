"""Every feature the mule model can give as a reason has a label, an explanation and a unit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from pingan.antifraud.mules.features import account_features
from pingan.antifraud.mules.model import _with_neighbours, graph
from pingan.antifraud.mules.review.labels import FEATURES, Unit, describe, feature_label, format_value


def _transfers() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        (int(rng.integers(0, 30)), int(rng.integers(0, 30)), int(rng.integers(100, 100_000)),
         t0 + timedelta(minutes=int(rng.integers(0, 50_000))))
        for _ in range(400)
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=["payer", "payee", "amount_fen", "ts"], orient="row").with_columns(
        pl.col("ts").dt.cast_time_unit("us")
    )


def test_every_feature_of_every_round_has_a_label() -> None:
    tx = _transfers()
    g = graph(tx)
    opened = pl.DataFrame({"account": list(range(30)), "opened": [date(2026, 1, 1)] * 30})
    names = set(g.features.columns) | set(account_features(tx, opened).columns)
    for r in range(3):
        names |= set(_with_neighbours(g, np.zeros(g.features.height), r).columns)
    names.discard("account")
    unlabelled = sorted(n for n in names if feature_label(n) is None)
    assert unlabelled == []


def test_every_label_has_an_explanation() -> None:
    assert all(f.label and f.explanation.endswith(".") for f in FEATURES.values())


def test_a_reason_reads_as_its_label_and_its_value_in_yuan() -> None:
    r = describe("out_max=4.99e+06:+0.87")
    assert (r.label, r.value, r.known) == ("Largest transfer sent", "¥49,900.00", True)


def test_a_round_feature_names_its_round_counted_from_one() -> None:
    assert describe("nb_out_score1_max=0.93:+0.40").label == "Highest payee mule score (round 2)"


def test_a_reason_without_a_value_shows_a_dash() -> None:
    assert describe("triangles:+1.20").value == "—"


def test_values_read_in_their_units() -> None:
    assert format_value(0.254, Unit.SHARE) == "25%"
    assert format_value(3.0, Unit.DAYS) == "3 days"
    assert format_value(12.0, Unit.COUNT) == "12"
    assert format_value(float("nan"), Unit.FEN) == "—"
