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
from pingan.narcotics.choices import EudaVerdict

DATA = imports.default_data_dir()
pytestmark = pytest.mark.skipif(
    not (DATA / imports.EUDA_FILE).exists(), reason=f"reference tables not at {DATA} (PINGAN_WASTEWATER_DATA)"
)
ROOT = Path(__file__).resolve().parents[2]


def test_the_euda_table_reads_whole_and_every_stored_mean_gets_one_verdict() -> None:
    parsed = imports.read_euda(DATA / imports.EUDA_FILE)
    assert parsed.lines == 4376 and not parsed.bad
    ours, naive = analysis.check_euda(parsed.rows), analysis.check_euda(parsed.rows, naive=True)
    assert sum(ours.count(v) for v in EudaVerdict) == 3 * len(parsed.rows)
    assert ours.compared == 3 * len(parsed.rows) - ours.count(EudaVerdict.ABSENT)
    assert len(ours.cells) == ours.compared - ours.count(EudaVerdict.EXACT)
    assert ours.count(EudaVerdict.EXACT) > 2 * naive.count(EudaVerdict.EXACT)


def test_every_cell_the_published_days_cannot_give_is_listed_with_its_values_and_reason() -> None:
    check = analysis.check_euda(imports.read_euda(DATA / imports.EUDA_FILE).rows)
    assert check.inconsistent
    for c in check.inconsistent:
        assert f"published {c.stored}" in c.reason
        if c.verdict is EudaVerdict.BLANK_DAY:
            assert None in c.days
    bristol = {(c.site, c.year, c.metabolite, c.mean): c for c in check.inconsistent}
    assert bristol[("GB001", 2015, "MDMA", "weekday")].verdict is EudaVerdict.DAYS_ONE_COLUMN_OFF
    assert bristol[("BR005", 2024, "MDMA", "weekday")].verdict is EudaVerdict.NOT_DERIVABLE
    report = analysis.euda_report_csv(check).splitlines()
    assert report[0].startswith("site,year,metabolite,mean,Wednesday,") and len(report) == 1 + len(
        check.cells
    )


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
    assert check.exit_code == 0, check.output
    direct = analysis.check_euda(imports.read_euda(DATA / imports.EUDA_FILE).rows)
    exact, compared = direct.count(EudaVerdict.EXACT), direct.compared
    assert f"{exact} of {compared} stored means reproduced exactly" in check.output
    assert (
        "  GB001 2015 MDMA weekday: published 21.51, recomputed 32.98 [days_one_column_off]" in check.output
    )
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
    assert e["cells_exact"] + sum(v["cells"] for v in e["not_exact"].values()) == e["cells_compared"]
    assert e["exact_share"] == round(e["cells_exact"] / e["cells_compared"], 4)
    assert e["not_exact"]["days_one_column_off"]["example"]["reason"]
    assert e["baseline"]["cells_exact"] < e["cells_exact"] and e["ratio_exact_vs_baseline"] > 1
    s = got["statcan_rises"]
    assert "same month a year earlier" in s["method"] and "Benjamini-Hochberg" in s["method"]
    assert s["flagged"] == len(s["months"]) and s["flagged"] <= s["baseline"]["flagged"]
    assert all(m["month"] >= "2023-01" and m["z"] > 0 for m in s["months"])
