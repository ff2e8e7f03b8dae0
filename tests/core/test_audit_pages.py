"""The auditor's pages: the log filtered by actor, action, object and time, a page at a time; the
chain's verification with its result; and who revealed which protected value, when and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from pingan.core import audit, clock, db
from pingan.core import audit_pages as pages
from pingan.core.audit import AuditEntry
from pingan.core.auth import issue_token
from pingan.core.roles import Actor, Role
from tests.conftest import bypass_append_only, make_user

HTML = {"Accept": "text/html"}
ANALYST = Actor(username="analyst_zhang", role=Role.ANTIFRAUD_ANALYST)
SUPERVISOR = Actor(username="supervisor_liu", role=Role.SUPERVISOR)


def _entry(actor: Actor, action: str, object_id: int, at: datetime, **extra: object) -> None:
    with clock.frozen(at), db.transaction() as s:
        audit.record(s, actor=actor, action=action, object_type="fraud_report", object_id=object_id, **extra)  # type: ignore[arg-type]


@pytest.fixture
def auditor(client: TestClient, database: str) -> TestClient:
    client.cookies.set("pingan_token", issue_token(make_user("auditor_sun", Role.AUDITOR)))
    return client


@pytest.fixture
def log(database: str) -> None:
    """Three reads of reports on 5 and 6 December (UTC), by two people."""
    _entry(ANALYST, "fraud_report.read", 1, datetime(2026, 12, 5, 1, 0, tzinfo=UTC))
    _entry(SUPERVISOR, "fraud_report.read", 2, datetime(2026, 12, 6, 1, 0, tzinfo=UTC))
    _entry(ANALYST, "fraud_report.approve", 2, datetime(2026, 12, 6, 3, 0, tzinfo=UTC))


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [row for row in body.split("<tr>")[1:] if "colspan" not in row]


def test_the_log_filters_by_actor_action_and_object(auditor: TestClient, log: None) -> None:
    rows = _rows(auditor.get("/audit?who=analyst_zhang&action=fraud_report.read", headers=HTML).text)
    assert len(rows) == 1 and "analyst_zhang" in rows[0] and "fraud_report 1" in rows[0]
    rows = _rows(auditor.get("/audit?object_type=fraud_report&object_id=2", headers=HTML).text)
    assert len(rows) == 2 and all("fraud_report 2" in r for r in rows)


def test_the_log_filters_by_a_range_of_district_local_time(auditor: TestClient, log: None) -> None:
    # 6 December 09:00 to 10:00 Beijing time is 01:00 to 02:00 UTC: the supervisor's read only.
    page = auditor.get(
        "/audit?object_type=fraud_report&since=2026-12-06T09:00&until=2026-12-06T10:00", headers=HTML
    )
    rows = _rows(page.text)
    assert len(rows) == 1 and "supervisor_liu" in rows[0] and "2026-12-06 09:00:00" in rows[0]


def test_a_mistyped_time_gets_a_field_message(auditor: TestClient, log: None) -> None:
    page = auditor.get("/audit?since=yesterday", headers=HTML)
    assert page.status_code == 422 and 'id="err-since"' in page.text
    backwards = auditor.get("/audit?since=2026-12-06T10:00&until=2026-12-06T09:00", headers=HTML)
    assert backwards.status_code == 422 and 'id="err-until"' in backwards.text


def test_the_log_pages_with_a_cursor_that_keeps_the_filters(
    auditor: TestClient, log: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE", 2)
    first = auditor.get("/audit?object_type=fraud_report", headers=HTML).text
    assert len(_rows(first)) == 2
    link = first.split('href="/audit?')[-1].split('"')[0].replace("&amp;", "&")
    assert "object_type=fraud_report" in link and "after_id=" in link
    second = _rows(auditor.get(f"/audit?{link}", headers=HTML).text)
    assert len(second) == 1 and "fraud_report.approve" in second[0]


def test_verification_reports_the_entries_checked_on_an_intact_chain(auditor: TestClient, log: None) -> None:
    page = auditor.get("/audit?verify=true", headers=HTML).text
    with db.read_transaction() as s:
        count = s.query(AuditEntry).count()
    assert f"审计链完整：已校验 {count} 条记录" in page


def test_verification_names_the_entry_where_the_chain_breaks(auditor: TestClient, log: None) -> None:
    with db.get_engine().begin() as conn:
        bypass_append_only(conn)
        target = conn.execute(
            AuditEntry.__table__.select().where(
                AuditEntry.object_id == "2", AuditEntry.action == "fraud_report.read"
            )
        ).one()
        conn.execute(update(AuditEntry).where(AuditEntry.id == target.id).values(actor="someone_else"))
    page = auditor.get("/audit?verify=true", headers=HTML).text
    assert f"断点在第 {target.id} 条" in page and "edited" in page


def test_the_reveal_history_says_who_revealed_what_when_and_why(auditor: TestClient, log: None) -> None:
    _entry(
        ANALYST, "fraud_report.reveal", 7, datetime(2026, 12, 6, 2, 41, tzinfo=UTC),
        purpose="investigation; case:CD-2026-0042",
        detail={"purpose": "investigation", "reference": "CD-2026-0042", "report": "CD-2026-0042"},
    )  # fmt: skip
    page = auditor.get("/audit/reveals", headers=HTML).text
    rows = _rows(page)
    assert len(rows) == 1  # reads and approvals are not reveals
    row = rows[0]
    assert "analyst_zhang" in row and "反诈分析员" in row and "2026-12-06 10:41:00" in row
    assert "侦查" in row and "CD-2026-0042" in row and "fraud_report 7" in row
    with db.read_transaction() as s:
        assert s.query(AuditEntry).filter_by(action="audit.list_reveals", actor="auditor_sun").count() == 1


def test_the_reveal_history_filters_by_who(auditor: TestClient, log: None) -> None:
    _entry(
        ANALYST,
        "fraud_report.reveal",
        7,
        datetime(2026, 12, 6, 2, 0, tzinfo=UTC),
        detail={"purpose": "investigation"},
    )
    _entry(
        SUPERVISOR,
        "fraud_report.reveal",
        8,
        datetime(2026, 12, 6, 3, 0, tzinfo=UTC),
        detail={"purpose": "legal_supervision"},
    )
    rows = _rows(auditor.get("/audit/reveals?who=supervisor_liu", headers=HTML).text)
    assert len(rows) == 1 and "执法监督" in rows[0]


def test_only_the_auditor_opens_the_audit_pages(client: TestClient, database: str) -> None:
    client.cookies.set("pingan_token", issue_token(make_user("admin_it", Role.ADMIN)))
    assert client.get("/audit", headers=HTML).status_code == 403
    assert client.get("/audit/reveals", headers=HTML).status_code == 403
