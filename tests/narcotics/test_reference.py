"""The published tables, read in place from ../shared/data/wastewater (skipped where absent): imported
whole, the EUDA means reproduced, the Statistics Canada rises listed, and the benchmark's JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pingan.cli import app
from pingan.narcotics import analysis, imports

DATA = imports.default_data_dir()
pytestmark = pytest.mark.skipif(
    not (DATA / imports.EUDA_FILE).exists(), reason=f"reference tables not at {DATA} (PINGAN_WASTEWATER_DATA)"
)
ROOT = Path(__file__).resolve().parents[2]


def test_the_euda_table_reads_whole_and_most_stored_means_are_reproduced_to_the_cent() -> None:
    parsed = imports.read_euda(DATA / imports.EUDA_FILE)
    assert parsed.lines == 4376 and not parsed.bad
    ours, naive = analysis.check_euda(parsed.rows), analysis.check_euda(parsed.rows, naive=True)
    compared = sum(ours.count(v) for v in ("exact", "rounding", "mismatch"))
    # Measured 2026-12-06: 11 473 of 13 120 exact, 1 348 one cent off, 299 mismatches.
    assert ours.count("exact") / compared > 0.85
    assert ours.count("mismatch") / compared < 0.03
    assert ours.count("exact") > 1.5 * naive.count("exact")


def test_statcan_rows_pivot_into_one_row_per_month_place_and_measure_with_their_ci() -> None:
    parsed = imports.read_statcan(DATA / imports.STATCAN_FILE)
    assert parsed.lines == 6600 and len(parsed.rows) == 1320 and not parsed.bad
    first = next(
        r
        for r in parsed.rows
        if r.month == "2022-01" and r.measure == "Amphetamine" and r.geo.startswith("Weighted")
    )
    assert (first.load, first.ci_low, first.ci_high) == (122.18, 88.78, 155.56)


def test_the_cli_imports_the_reference_tables_and_checks_them(database: str) -> None:
    if database != "sqlite":
        pytest.skip("one database is enough for 11 000 published rows")
    runner = CliRunner()
    out = runner.invoke(app, ["narcotics", "import", "reference", "--data", str(DATA)])
    assert out.exit_code == 0, out.output
    assert "ww2025-all-data.csv: 4376 lines, 4376 written, 0 quarantined" in out.output
    check = runner.invoke(app, ["narcotics", "check-euda"])
    assert check.exit_code == 0 and "11473 means exact" in check.output
    rises = runner.invoke(app, ["narcotics", "rises"])
    assert rises.exit_code == 0 and "year-over-year tests" in rises.output


def test_the_benchmark_prints_the_figures_with_a_baseline_and_the_method() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "wastewater.py"), "--data", str(DATA)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    got = json.loads(out.stdout)
    e = got["euda_means"]
    assert e["exact_matches"] + e["one_cent_rounding"] + e["mismatches"] == e["means_compared"]
    assert e["baseline"]["exact_matches"] < e["exact_matches"] and e["ratio_exact_vs_baseline"] > 1
    s = got["statcan_rises"]
    assert "same month a year earlier" in s["method"] and "Benjamini-Hochberg" in s["method"]
    assert s["flagged"] == len(s["months"]) and s["flagged"] <= s["baseline"]["flagged"]
    assert all(m["month"] >= "2023-01" and m["z"] > 0 for m in s["months"])
