"""`pingan sim incidents` writes the year of calls and prints the year-over-year falls."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pingan.cli import app
from pingan.sim import incidents


def test_the_incidents_command_writes_calls_and_reports_the_falls(tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    args = [
        "sim",
        "incidents",
        "--out",
        str(out),
        "--per-day",
        "10",
        "--start",
        "2025-01-01",
        "--until",
        "2026-01-31",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    items = incidents.read_jsonl(out)
    assert items and f"{len(items)} calls written" in result.output
    assert "pickpocketing:" in result.output and "illegal incidents" in result.output
    bad = CliRunner().invoke(app, ["sim", "incidents", "--out", str(out), "--until", "2024-01-01"])
    assert bad.exit_code != 0 and "--until" in bad.output
