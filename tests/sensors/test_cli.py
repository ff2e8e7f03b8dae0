"""`pingan sensors`: a device registered from the command line with its key printed once, a refusal
as a message, and the position retention sweep."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from pingan.cli import app
from tests.sensors.conftest import GARDEN


def test_a_device_is_registered_and_its_key_printed_once(district: None) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "sensors",
            "add-device",
            "smoke-9",
            "--kind",
            "smoke_detector",
            "--community",
            GARDEN,
            "--owner",
            "物业",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert re.search(r"key \(shown once\):\n[0-9a-f]{64}\n", ok.output)
    again = runner.invoke(
        app, ["sensors", "add-device", "smoke-9", "--kind", "smoke_detector", "--community", GARDEN]
    )
    assert again.exit_code != 0 and "registered already" in again.output and "Traceback" not in again.output


def test_a_holster_for_a_unit_that_does_not_exist_is_refused(district: None) -> None:
    out = CliRunner().invoke(
        app,
        [
            "sensors",
            "add-device",
            "h-9",
            "--kind",
            "holster",
            "--community",
            "holster",
            "--officer",
            "li",
            "--unit",
            "无此警力",
        ],
    )
    assert out.exit_code != 0 and "no unit" in out.output


def test_the_purge_reports_what_it_deleted(district: None) -> None:
    out = CliRunner().invoke(app, ["sensors", "purge-positions"])
    assert out.exit_code == 0 and "0 positions deleted" in out.output
