"""The mule features on Spark (`pingan mules train --engine spark`) are Polars' own, column for column:
the per-account features, the structure features of round zero and every propagation round's."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from pingan.antifraud.mules import features, spark_features, spark_graph
from pingan.antifraud.mules.district import account_openings, read_transfers, reported_victims
from pingan.antifraud.mules.features import _HUB_DEGREE, ACCOUNT, account_features, counterparty_pairs
from pingan.antifraud.mules.model import PolarsEngine
from pingan.antifraud.mules.spark_graph import SparkEngine
from pingan.cli import app


@pytest.fixture(scope="module")
def engines(spark: Any, district: Path) -> tuple[PolarsEngine, SparkEngine]:
    """The district's transfers in this process and on Spark (cached there for every test of the file)."""
    transfers = read_transfers(district)
    return PolarsEngine(transfers), SparkEngine(spark, spark.createDataFrame(transfers.to_arrow()))


def test_the_district_holds_a_hub_so_the_hub_cap_is_exercised(
    engines: tuple[PolarsEngine, SparkEngine],
) -> None:
    pairs = counterparty_pairs(engines[0].transfers)
    degree = pl.concat([pairs["a"], pairs["b"]]).value_counts()["count"]
    assert (degree > _HUB_DEGREE).any()


def test_spark_computes_every_account_s_round_zero_features_as_the_in_process_engine_does(
    engines: tuple[PolarsEngine, SparkEngine], district: Path
) -> None:
    opened, flagged = account_openings(district), reported_victims(district)
    assert flagged is not None and flagged.height > 0
    in_process, on_spark = engines
    want = in_process.base_features(opened, flagged)
    structure = ["nb_in_small_wmean", "nb_out_small_over_half", "triangles", "triangles_small"]
    assert want.columns[: len(spark_features.COLUMNS)] == list(spark_features.COLUMNS)
    assert set(structure) < set(want.columns) and want.columns[-1] == "reciprocal_counterparties"
    assert_frame_equal(on_spark.base_features(opened, flagged), want, rel_tol=1e-9, abs_tol=1e-9)


def test_spark_finds_the_accounts_the_in_process_engine_labels(
    engines: tuple[PolarsEngine, SparkEngine],
) -> None:
    in_process, on_spark = engines
    assert on_spark.accounts().sort().to_list() == in_process.accounts().sort().to_list()


def test_a_propagation_round_on_spark_gives_every_column_the_in_process_engine_gives(
    engines: tuple[PolarsEngine, SparkEngine],
) -> None:
    in_process, on_spark = engines
    accounts = in_process.accounts().sort()
    # Scores in tenths: many ties (the same-day co-traders' max), some exactly one half (counted above
    # it only when over it); every seventh account without a score (counted as 0).
    tenths = np.random.default_rng(3).integers(0, 11, accounts.len()) / 10
    scores = pl.DataFrame({ACCOUNT: accounts, "score0": tenths}).filter(pl.int_range(pl.len()) % 7 != 0)
    assert (scores["score0"] == 0.5).any()
    want = in_process.neighbour_features(scores).sort(ACCOUNT)
    assert want.columns == [
        ACCOUNT, *(f"nb_{s}_score0_{c}" for s in ("in", "out") for c in ("wmean", "max", "sum", "over_half")),
        "triangles_score0", "hop2_score0_sum", "hop2_score0_mean", "hop2_score0_over_half",
        "co_score0_sum", "co_score0_max",
    ]  # fmt: skip
    assert_frame_equal(on_spark.neighbour_features(scores).sort(ACCOUNT), want, rel_tol=1e-9, abs_tol=1e-9)


def test_without_openings_or_flagged_payers_those_features_are_missing_not_zero(
    spark: Any, district: Path
) -> None:
    transfers = read_transfers(district).head(5_000)
    got = spark_features.account_features(spark, spark.createDataFrame(transfers.to_arrow()))
    assert_frame_equal(got, account_features(transfers), rel_tol=1e-9, abs_tol=1e-9)
    missing = [spark_features.AGE_AT_FIRST_LARGE, *spark_features._FLAGGED]
    assert got.select(pl.col(missing).is_null().all()).row(0) == (True,) * len(missing)


@pytest.mark.parametrize(
    ("values", "q", "want"),
    [
        ([0, 1, 2], 0.25, 1.0),
        (list(range(10)), 0.05, 0.0),
        (list(range(11)), 0.05, 1.0),
        (list(range(10)), 0.95, 9.0),
    ],
)
def test_the_small_and_large_amounts_are_polars_nearest_rank_quantiles(
    values: list[int], q: float, want: float
) -> None:
    histogram = sorted((v, values.count(v)) for v in set(values))
    assert spark_features.nearest_rank(histogram, q) == want == pl.Series(values).quantile(q)


def test_a_counterparty_mean_over_no_money_is_nan_or_infinite_on_spark_as_in_process(spark: Any) -> None:
    at = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
    # Zhao and Qian send each other 0 fen (an account check); Sun is paid 300 fen and refunded 300.
    zhao, qian, sun, wang, liu = 10, 20, 21, 1, 2
    rows = [(zhao, qian, 0), (qian, zhao, 0), (wang, sun, 300), (liu, sun, -300)]
    tx = pl.DataFrame(
        [(*r, at) for r in rows], schema=["payer", "payee", "amount_fen", "ts"], orient="row"
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    suspicion = pl.DataFrame({ACCOUNT: [zhao, qian, wang, liu], "s": [0.9, 0.4, 0.8, 0.1]})
    want = features.neighbour_means(tx, suspicion, "s").sort(ACCOUNT)
    wmean = dict(zip(want[ACCOUNT], want["nb_in_s_wmean"], strict=True))
    assert math.isnan(wmean[zhao]) and wmean[sun] == math.inf
    got = spark_graph.neighbour_means(
        spark, spark.createDataFrame(tx.to_arrow()), spark.createDataFrame(suspicion.to_arrow()), "s"
    )
    assert_frame_equal(spark_features.to_polars(got).sort(ACCOUNT), want)


def test_a_model_trained_and_scored_on_spark_puts_forward_the_in_process_candidates(
    spark: Any, district: Path, tmp_path: Path
) -> None:
    trained, found = {}, {}
    for engine in ("polars", "spark"):
        on = ["--engine", engine, *(["--spark-master", "local[2]"] if engine == "spark" else [])]
        model = str(tmp_path / engine)
        done = CliRunner().invoke(app, ["mules", "train", "--store", str(district), "--out", model, *on])
        assert done.exit_code == 0, done.output
        trained[engine] = json.loads(done.stdout.strip().splitlines()[-1])
        done = CliRunner().invoke(
            app, ["mules", "score", "--store", str(district), "--model", model, "--no-queue", *on]
        )
        assert done.exit_code == 0, done.output
        found[engine] = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert trained["spark"].pop("engine") == "spark" and trained["polars"].pop("engine") == "polars"
    assert {k: v for k, v in trained["spark"].items() if k != "model"} == {
        k: v for k, v in trained["polars"].items() if k != "model"
    }
    assert found["polars"], "the tiny district gives candidates to compare"
    assert found["spark"] == found["polars"]  # the same accounts, scores and reasons, in the same order


def test_an_unknown_engine_is_refused_naming_it(district: Path, tmp_path: Path) -> None:
    done = CliRunner().invoke(
        app, ["mules", "train", "--store", str(district), "--out", str(tmp_path / "m"), "--engine", "duckdb"]
    )
    assert done.exit_code == 2
    assert "refused: engine: 'duckdb' is neither polars nor spark" in done.output
