"""Importing sites and lab results: good rows written, bad ones quarantined with line, field and
reason; a file without its columns writes nothing; a re-import does not duplicate."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from pingan.cli import app
from pingan.core import db
from pingan.core.errors import Forbidden
from pingan.core.roles import Actor, Role
from pingan.narcotics import actions, imports
from pingan.narcotics.choices import QuarantineReason
from pingan.narcotics.model import WwQuarantine, WwResult, WwSite

DATA = Path(__file__).parent / "data"
TODAY = date(2026, 12, 6)
SYSTEM = Actor.system("test")


def _load(session: Session) -> actions.ImportResult:
    actions.do_import_sites(session, SYSTEM, DATA / "sites.csv")
    return actions.do_import_lab(session, SYSTEM, DATA / "lab.csv", today=TODAY)


def test_sites_are_read_with_a_population_written_as_3e05_and_a_zero_population_is_quarantined(
    session: Session,
) -> None:
    result = actions.do_import_sites(session, SYSTEM, DATA / "sites.csv")
    assert (result.lines, result.written) == (3, 2)
    assert [(b.line, b.field) for b in result.quarantined] == [(4, "Population")]
    north = session.get(WwSite, "WH001")
    assert north is not None and north.population == 300_000 and north.lat == pytest.approx(30.64)


def test_each_bad_lab_row_is_quarantined_with_its_line_field_and_reason(session: Session) -> None:
    result = _load(session)
    got = {(b.line, b.field, b.reason) for b in result.quarantined}
    assert got == {
        (6, "site", QuarantineReason.UNKNOWN_SITE),
        (7, "concentration_ng_l", QuarantineReason.NEGATIVE_CONCENTRATION),
        (8, "flow_m3_day", QuarantineReason.ZERO_FLOW),
        (9, "sample_date", QuarantineReason.FUTURE_DATE),
        (10, "metabolite", QuarantineReason.MALFORMED),
        (11, "sample_date", QuarantineReason.DUPLICATE),
    }
    assert result.written == 4
    stored = session.execute(select(WwQuarantine.line, WwQuarantine.reason).where(WwQuarantine.kind == "lab"))
    assert {(line, r) for line, r in stored} == {(b.line, b.reason) for b in result.quarantined}
    assert session.scalar(select(func.count()).select_from(WwResult)) == 4


def test_a_re_import_replaces_the_same_site_day_and_residue_rather_than_duplicating(session: Session) -> None:
    _load(session)
    actions.do_import_lab(session, SYSTEM, DATA / "lab.csv", today=TODAY)
    assert session.scalar(select(func.count()).select_from(WwResult)) == 4


def test_a_lab_file_without_its_columns_is_refused_naming_them_and_writes_nothing(
    session: Session, tmp_path: Path
) -> None:
    bad = tmp_path / "lab.csv"
    bad.write_text("date,site,metabolite,concentration_ng_l\n2026-11-02,WH001,mdma,1\n")
    actions.do_import_sites(session, SYSTEM, DATA / "sites.csv")
    with pytest.raises(imports.FileError, match=r"line 1: missing column\(s\) sample_date, flow_m3_day"):
        actions.do_import_lab(session, SYSTEM, bad, today=TODAY)
    assert session.scalar(select(func.count()).select_from(WwResult)) == 0


def test_an_officer_may_not_import_wastewater_data(session: Session) -> None:
    officer = Actor(username="li", role=Role.OFFICER, station_code="WH-YL")
    with pytest.raises(Forbidden):
        actions.do_import_sites(session, officer, DATA / "sites.csv")


def test_the_cli_imports_sites_and_lab_results_and_prints_the_quarantine(database: str) -> None:
    runner = CliRunner()
    sites = runner.invoke(app, ["narcotics", "import", "sites", str(DATA / "sites.csv")])
    assert sites.exit_code == 0 and "3 lines, 2 written, 1 quarantined" in sites.output
    lab = runner.invoke(app, ["narcotics", "import", "lab", str(DATA / "lab.csv"), "--today", "2026-12-06"])
    assert lab.exit_code == 0, lab.output
    assert "10 lines, 4 written, 6 quarantined" in lab.output
    assert "line 6, field site: unknown_site" in lab.output
    with db.read_transaction() as s:
        assert s.scalar(select(func.count()).select_from(WwResult)) == 4


def test_the_cli_refuses_a_bad_today_with_a_message(database: str) -> None:
    out = CliRunner().invoke(
        app, ["narcotics", "import", "lab", str(DATA / "lab.csv"), "--today", "06/12/2026"]
    )
    assert out.exit_code != 0 and "--today" in out.output and "Traceback" not in out.output
