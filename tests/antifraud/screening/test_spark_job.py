"""The Spark engine (`pingan screen --engine spark`) raises the in-process engine's flags, event for event,
from the same rule file and the same store; a store it cannot read the same way is refused, saying why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from pingan.antifraud.screening import spark_job
from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.screening.store import screen_store
from pingan.cli import app
from pingan.core.errors import Invalid

from .test_batch_matches_stream import edgy_store


def test_spark_flags_the_district_as_the_in_process_engine_does_event_for_event(
    spark: Any, district: Path, rules: RuleSet
) -> None:
    wl = watchlist_from_reports(district)
    since = since_of(district, 3)
    engine = screen_store(district, rules=rules, watchlist=wl, since=since)
    run = spark_job.screen_store(spark, district, rules=rules, watchlist=wl, since=since)
    assert engine.flags.height > 50
    assert run.rows == engine.rows
    # Every column of every flag: the transfer, the reasons in rule order, the holder, the typology
    # guess and the amount at risk (what the risk event records).
    assert run.flags.to_dicts() == engine.flags.to_dicts()


def test_spark_flags_the_edge_case_stores_as_the_in_process_engine_does(
    spark: Any, rules: RuleSet, tmp_path: Path
) -> None:
    # Timestamp ties, gaps of exactly a window, listings starting and expiring at a payment, amounts at
    # the floors (see test_batch_matches_stream); one store of each layout (grouped by channel, mixed).
    fired: set[str] = set()
    for seed in (0, 1):
        store = tmp_path / f"s{seed}"
        watchlist, reference = edgy_store(store, seed)
        engine = screen_store(store, rules=rules, watchlist=watchlist, reference=reference).flags
        run = spark_job.screen_store(spark, store, rules=rules, watchlist=watchlist, reference=reference)
        assert run.flags.to_dicts() == engine.to_dicts(), f"seed {seed}"
        fired |= {r.split(":")[0] for rs in engine["reasons"].to_list() for r in rs}
    assert fired == set(rules.ids)


def test_a_store_of_an_older_schema_version_is_refused_naming_the_versions(
    spark: Any, district: Path, rules: RuleSet, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    shutil.copytree(district, old)
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    manifest["schema_version"] = 1
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(Invalid, match="schema version 1; the Spark job reads version 2") as err:
        spark_job.screen_store(spark, old, rules=rules, watchlist=watchlist_from_reports(old))
    assert err.value.field == "schema_version"

    result = CliRunner().invoke(
        app, ["screen", str(old), "--engine", "spark", "--watchlist", "reports", "--no-persist"]
    )
    assert result.exit_code == 2
    assert "refused" in result.output and "the store has schema version 1" in result.output
    assert '"flags"' not in result.output


def test_a_store_whose_files_lack_a_screened_column_is_refused_naming_it(
    spark: Any, rules: RuleSet, tmp_path: Path
) -> None:
    store = tmp_path / "s"
    watchlist, reference = edgy_store(store, 0)
    for path in (store / "transactions").glob("day=*/part-0.parquet"):
        pl.read_parquet(path).drop("payee_bank").write_parquet(path)
    with pytest.raises(Invalid, match="lack payee_bank"):
        spark_job.screen_store(spark, store, rules=rules, watchlist=watchlist, reference=reference)


def test_the_cli_screens_with_spark_and_prints_the_engine_s_flag_count(
    spark: Any, district: Path, rules: RuleSet, tmp_path: Path
) -> None:
    out = tmp_path / "flags.parquet"
    result = CliRunner().invoke(
        app,
        ["screen", str(district), "--engine", "spark", "--watchlist", "reports", "--no-persist", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    engine = screen_store(district, rules=rules, watchlist=watchlist_from_reports(district))
    assert summary["engine"] == "spark"
    assert summary["flags"] == engine.flags.height > 50
    assert pl.read_parquet(out).equals(engine.flags)
