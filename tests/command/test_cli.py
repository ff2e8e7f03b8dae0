"""`pingan command`: units added from the command line, refusals as messages, the bulletin printed."""

from __future__ import annotations

from typer.testing import CliRunner

from pingan.cli import app
from tests.command.conftest import T0, YULIN, take_call


def test_a_unit_is_added_and_a_taken_call_sign_is_refused_with_a_message(district: None) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["command", "add-unit", "玉林9", "--station", "WH-YL"])
    assert ok.exit_code == 0 and "玉林9 (WH-YL) available" in ok.output
    again = runner.invoke(app, ["command", "add-unit", "玉林9", "--station", "WH-YL"])
    assert again.exit_code != 0 and "is taken" in again.output and "Traceback" not in again.output


def test_the_bulletin_is_printed_for_a_station_s_week(district: None) -> None:
    take_call(text="有人打架", lat=YULIN[0], lon=YULIN[1], received_at=T0)
    out = CliRunner().invoke(app, ["command", "bulletin", "--station", "WH-YL", "--week", "2026-11-30"])
    assert out.exit_code == 0
    assert "1 incidents" in out.output and "signed off within target: 0/1 0.0%" in out.output


def test_the_breach_sweep_lists_an_open_incident_past_its_sign_off(district: None) -> None:
    late = take_call(text="有人打架", lat=YULIN[0], lon=YULIN[1], received_at=T0)
    out = CliRunner().invoke(app, ["command", "breaches"])
    assert out.exit_code == 0
    assert f"#{late} WH-YL: sign_off:running" in out.output and "1 open incidents past a target" in out.output
