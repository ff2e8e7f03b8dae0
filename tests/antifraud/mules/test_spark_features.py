"""The per-account mule features on Spark (`pingan mules train --engine spark`) are Polars' own, column for column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from pingan.antifraud.mules import spark_features
from pingan.antifraud.mules.district import account_openings, read_transfers, reported_victims
from pingan.antifraud.mules.features import account_features
from pingan.cli import app


def test_spark_computes_every_account_s_features_as_the_in_process_engine_does(
    spark: Any, district: Path
) -> None:
    transfers = read_transfers(district)
    opened, flagged = account_openings(district), reported_victims(district)
    assert flagged is not None and flagged.height > 0
    want = account_features(transfers, opened, flagged)
    got = spark_features.account_features(spark, spark.createDataFrame(transfers.to_arrow()), opened, flagged)
    assert got.columns == want.columns
    assert_frame_equal(got, want, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-9)


def test_without_openings_or_flagged_payers_those_features_are_missing_not_zero(
    spark: Any, district: Path
) -> None:
    transfers = read_transfers(district).head(5_000)
    got = spark_features.account_features(spark, spark.createDataFrame(transfers.to_arrow()))
    assert_frame_equal(got, account_features(transfers), check_dtypes=False, rel_tol=1e-9, abs_tol=1e-9)
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


def test_a_model_trained_with_spark_s_features_is_the_one_trained_in_process(
    spark: Any, district: Path, tmp_path: Path
) -> None:
    runs = {}
    for engine in ("polars", "spark"):
        args = [
            "mules",
            "train",
            "--store",
            str(district),
            "--out",
            str(tmp_path / engine),
            "--engine",
            engine,
        ]
        done = CliRunner().invoke(app, [*args, "--spark-master", "local[2]"] if engine == "spark" else args)
        assert done.exit_code == 0, done.output
        runs[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    assert runs["spark"].pop("engine") == "spark" and runs["polars"].pop("engine") == "polars"
    assert {k: v for k, v in runs["spark"].items() if k != "model"} == {
        k: v for k, v in runs["polars"].items() if k != "model"
    }


def test_an_unknown_engine_is_refused_naming_it(district: Path, tmp_path: Path) -> None:
    done = CliRunner().invoke(
        app, ["mules", "train", "--store", str(district), "--out", str(tmp_path / "m"), "--engine", "duckdb"]
    )
    assert done.exit_code == 2
    assert "refused: engine: 'duckdb' is neither polars nor spark" in done.output
