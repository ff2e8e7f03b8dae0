"""`pingan supervision`: the sweep records what time alone has breached, the digest reaches the case
officer and the supervisor, and check-rules names a bad rule's id and field. `pingan sweep`, the one a
schedule runs, runs it with the other time-driven sweeps."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from pingan.cli import app
from pingan.core import audit, clock, db
from pingan.core.auth import User, issue_token
from pingan.supervision.model import CaseBreach, DigestLineRow
from pingan.supervision.pack import RULES_DIR
from pingan.web import sweeps
from tests.supervision.conftest import NOW
from tests.supervision.conftest import detain as approved_detention
from tests.supervision.test_pages import HTML


def detain(client: TestClient, case: dict[str, Any], user: User, at: Any) -> None:
    """The suspect detained at `at`: requested by `user`, approved by supervisor Liu in the queue."""
    r = approved_detention(client, case, user, at)
    assert r.status_code == 200, r.text


def breached_rules() -> set[str]:
    with db.transaction() as s:
        return set(s.execute(select(CaseBreach.rule_id)).scalars())


def test_the_sweep_records_a_deadline_that_passed_without_a_step(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(hours=2))
    assert breached_rules() == set()
    with clock.frozen(NOW + timedelta(days=1)):  # the family notice's 24 h have passed
        out = CliRunner().invoke(app, ["supervision", "sweep"])
    assert out.exit_code == 0 and "1 case(s) re-evaluated" in out.output
    assert breached_rules() == {"cpl.detention_family_notice"}


def test_the_scheduled_sweep_runs_every_time_driven_sweep_and_a_failing_one_stops_none_of_the_others(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(hours=2))

    def broken() -> str:
        raise RuntimeError("the complaints table is locked")

    monkeypatch.setattr(sweeps, "SWEEPS", (("complaints", broken), *sweeps.SWEEPS))
    with clock.frozen(NOW + timedelta(days=1)):
        out = CliRunner().invoke(app, ["sweep"])
    assert out.exit_code == 1, "a failed sweep fails the run, for the scheduler to see"
    assert "complaints: failed" in out.output and "supervision: 1 case(s) re-evaluated" in out.output
    assert "community: 0 breaches recorded" in out.output
    assert breached_rules() == {"cpl.detention_family_notice"}


def test_the_digest_reaches_the_case_officer_and_the_supervisor(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, tmp_path: Path
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(hours=20))
    out = CliRunner().invoke(app, ["supervision", "digest", "--out", str(tmp_path)])
    assert out.exit_code == 0 and "2 recipient(s)" in out.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["officer_li.txt", "supervisor_liu.txt"]
    line = (tmp_path / "officer_li.txt").read_text(encoding="utf-8")
    assert "cpl.detention_family_notice" in line and "2026-03-20 14:00\twarning" in line
    with db.transaction() as s:
        sent = s.execute(select(audit.AuditEntry).where(audit.AuditEntry.action == "supervision.digest_sent"))
        assert len(list(sent.scalars())) == 1


def test_the_digest_is_read_in_pingan_by_each_recipient_and_sent_once_a_day(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, supervisor_liu: User, legal_sun: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(hours=20))
    assert CliRunner().invoke(app, ["supervision", "digest"]).exit_code == 0
    again = CliRunner().invoke(app, ["supervision", "digest"])
    assert again.exit_code == 0 and "already sent today" in again.output
    with db.transaction() as s:
        lines = s.execute(select(DigestLineRow.recipient, DigestLineRow.rule_id)).tuples().all()
        sent = s.execute(select(audit.AuditEntry).where(audit.AuditEntry.action == "supervision.digest_sent"))
        assert len(list(sent.scalars())) == 1, "once a day"
    assert sorted(lines) == [
        ("officer_li", "cpl.detention_family_notice"),
        ("supervisor_liu", "cpl.detention_family_notice"),
    ]
    # The officer reads it on the warnings page, linking the case, and among the earlier digests.
    client.cookies.set("pingan_token", issue_token(officer_li))
    page = client.get("/supervision/warnings", headers=HTML).text
    assert "Today's digest" in page and f'href="/supervision/cases/{theft_case["id"]}"' in page
    archive = client.get("/supervision/digests", headers=HTML).text
    assert theft_case["number"] in archive and "1 deadline(s)" in archive
    # The legal-supervision office gets no digest: it sees every case on the page itself.
    client.cookies.set("pingan_token", issue_token(legal_sun))
    assert "Today's digest" not in client.get("/supervision/warnings", headers=HTML).text


def test_check_rules_names_the_bad_rule_and_field(tmp_path: Path) -> None:
    text = (
        (RULES_DIR / "cpl.yaml")
        .read_text(encoding="utf-8")
        .replace("met_by: [family_notified]", "met_by: [phoned]", 1)
    )
    (tmp_path / "cpl.yaml").write_text(text, encoding="utf-8")
    out = CliRunner().invoke(app, ["supervision", "check-rules", str(tmp_path)])
    assert out.exit_code == 1
    assert "rule 'cpl.detention_family_notice' field 'met_by.0'" in out.output.replace("\n", "")


def test_check_rules_accepts_the_shipped_pack() -> None:
    out = CliRunner().invoke(app, ["supervision", "check-rules"])
    assert out.exit_code == 0 and "18 rules" in out.output
