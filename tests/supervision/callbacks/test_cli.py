"""`pingan callbacks draw`: the weekly job draws the last week ended by default, says what it drew,
and a week drawn already is refused naming the field."""

from __future__ import annotations

from typer.testing import CliRunner

from pingan.cli import app

runner = CliRunner()


def test_the_weekly_job_draws_the_last_week_ended(week_incidents: list[int]) -> None:
    # The clock stands on Friday 2026-03-20: the last week ended is the one of Monday 2026-03-09.
    r = runner.invoke(app, ["callbacks", "draw", "--rate", "1"])
    assert r.exit_code == 0, r.output
    assert "week 2026-03-09: 3 call-back(s) drawn from 3 closed incident(s)" in r.output


def test_a_week_drawn_already_is_refused_naming_the_field(week_incidents: list[int]) -> None:
    assert runner.invoke(app, ["callbacks", "draw", "--week", "2026-03-09"]).exit_code == 0
    again = runner.invoke(app, ["callbacks", "draw", "--week", "2026-03-09"])
    assert again.exit_code == 1 and "week_start" in again.output
