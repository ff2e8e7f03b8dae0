"""`pingan community`: grading by hand with every contribution, refusals as messages, the sweep."""

from __future__ import annotations

from typer.testing import CliRunner

from pingan.cli import app
from tests.command.conftest import district  # noqa: F401 - the shared fixture


def test_a_case_is_graded_from_the_command_line_with_every_contribution() -> None:
    out = CliRunner().invoke(app, ["community", "grade", "threats", "weapons"])
    assert out.exit_code == 0, out.output
    assert "red (score 9, table 2026.12-1)" in out.output
    assert "weapons: 1 -> 6" in out.output and "separation: 0 -> 0" in out.output


def test_an_unknown_factor_is_refused_with_a_message() -> None:
    out = CliRunner().invoke(app, ["community", "grade", "knife"])
    assert out.exit_code != 0 and "knife" in out.output and "Traceback" not in out.output


def test_the_breach_sweep_runs_on_an_empty_district(district: None) -> None:  # noqa: F811
    out = CliRunner().invoke(app, ["community", "breaches"])
    assert out.exit_code == 0 and "0 breaches recorded" in out.output
