"""Every feature the mule model can give as a reason has a label, an explanation and a unit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from pingan.antifraud.mules.features import account_features
from pingan.antifraud.mules.model import _with_neighbours, graph
from pingan.antifraud.mules.review.labels import FEATURES, Unit, describe, feature_label, format_value
from pingan.core.i18n import locale_scope


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
    with locale_scope("en"):
        r = describe("out_max=4.99e+06:+0.87")
    assert (r.label, r.value, r.known) == ("Largest transfer sent", "¥49,900.00", True)


def test_a_reason_reads_in_chinese_by_default() -> None:
    with locale_scope("zh_CN"):
        assert describe("out_max=4.99e+06:+0.87").label == "最大单笔转出"


def test_a_round_feature_names_its_round_counted_from_one() -> None:
    with locale_scope("en"):
        assert describe("nb_out_score1_max=0.93:+0.40").label == "Highest payee mule score (round 2)"


def test_a_reason_without_a_value_shows_a_dash() -> None:
    assert describe("triangles:+1.20").value == "—"


def test_values_read_in_their_units() -> None:
    with locale_scope("en"):
        assert format_value(0.254, Unit.SHARE) == "25%"
        assert format_value(3.0, Unit.DAYS) == "3 days"
        assert format_value(12.0, Unit.COUNT) == "12"
        assert format_value(float("nan"), Unit.FEN) == "—"


def test_the_new_features_read_as_chinese_phrases_with_their_values() -> None:
    with locale_scope("zh_CN"):
        n = describe("in_from_flagged_n=3:+1.10")
        age = describe("age_at_first_large_inflow_days=2:+0.90")
    assert (n.label, n.value) == ("收到预警对象或报案受害人转入笔数", "3")
    assert (age.label, age.value) == ("首笔大额入账时的开户时长", "2 天")


def test_a_missing_opening_date_says_why_the_age_is_not_known() -> None:
    with locale_scope("en"):
        r = describe("age_at_first_large_inflow_days=nan:+0.40")
    assert r.value == "not known: the store has no opening date for this account"


def test_a_feature_without_a_label_never_shows_its_column_name() -> None:
    with locale_scope("en"):
        r = describe("brand_new_feature=2:+0.30")
    assert "brand_new_feature" not in (r.label, r.explanation) and r.known is False
