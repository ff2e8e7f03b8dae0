"""`pingan directives`: the simulation is written through the actions, and the year over year and the
load are printed from what was written; a malformed day or month is refused naming the option."""

from __future__ import annotations

from typer.testing import CliRunner

from pingan.cli import app
from pingan.core.org import Station
from pingan.supervision.directives import rules, sim

runner = CliRunner()


def test_simulate_writes_two_years_and_the_year_over_year_reads_them_back(station_yulin: Station) -> None:
    r = runner.invoke(app, ["directives", "simulate", "--seed", "2", "--first-year", "20"])
    assert r.exit_code == 0, r.output
    assert "30 directive(s) written (2025: 20, 2026: 10)" in r.output
    yoy = runner.invoke(app, ["directives", "year-over-year", "2026"])
    assert yoy.exit_code == 0 and "2026:" in yoy.output and "change" in yoy.output
    # The month of the last directive simulated (the same seed gives the same history).
    last = sim.generate(2, first_year=20, stations=["WH-YL"]).directives[-1]
    month = last.issued_at.astimezone(rules.BEIJING).strftime("%Y-%m")
    load = runner.invoke(app, ["directives", "load", month])
    assert load.exit_code == 0 and "WH-YL" in load.output


def test_simulate_refuses_a_malformed_end_day_naming_the_option(station_yulin: Station) -> None:
    r = runner.invoke(app, ["directives", "simulate", "--end", "next year"])
    assert r.exit_code != 0 and "--end" in r.output


def test_load_refuses_a_malformed_month(station_yulin: Station) -> None:
    r = runner.invoke(app, ["directives", "load", "March"])
    assert r.exit_code != 0 and "MONTH" in r.output
