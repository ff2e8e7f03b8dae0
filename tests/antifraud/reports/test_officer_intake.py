"""Registration (受案登记) rests on a logged-in station officer: an analyst's entry and a file import
wait for an officer's confirmation, and the officer typed into a report is recorded, not trusted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.reports.actions import NewReport, register_report
from pingan.antifraud.reports.choices import ReportIntake
from pingan.antifraud.reports.imports import import_reports
from pingan.antifraud.reports.schemas import ReportIn
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User, issue_token
from pingan.core.roles import Actor
from tests.conftest import bearer
from tests.factories import report_payload

pytestmark = pytest.mark.usefixtures("station_yulin")


def _post(client: TestClient, user: User, body: dict[str, Any] | None = None) -> Any:
    r = client.post("/api/v1/fraud-reports", json=body or report_payload(), headers=bearer(user))
    assert r.status_code == 201, r.text
    return r.json()


def _audit(action: str) -> dict[str, Any]:
    with db.read_transaction() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == action)).scalar_one()
        return dict(json.loads(entry.detail))


def test_an_officers_report_names_the_logged_in_officer_not_the_one_typed_in(
    client: TestClient, officer_li: User
) -> None:
    body = _post(client, officer_li, report_payload(officer="李强"))
    assert (body["intake"], body["officer"]) == ("registered", "officer_li")


def test_the_typed_in_officer_is_kept_in_the_audit_entry_only(client: TestClient, officer_li: User) -> None:
    _post(client, officer_li, report_payload(officer="李强"))
    assert _audit("fraud_report.register")["stated_officer"] == "李强"


def test_a_report_needs_no_typed_in_officer(client: TestClient, officer_li: User) -> None:
    body = report_payload()
    del body["officer"]
    assert _post(client, officer_li, body)["officer"] == "officer_li"


def test_an_analysts_report_waits_for_an_officer(client: TestClient, analyst_zhang: User) -> None:
    body = _post(client, analyst_zhang)
    assert body["intake"] == "awaiting_officer"
    assert body["source"] == "antifraud_analyst:analyst_zhang"
    assert body["officer"] == "" and body["confirmed_by"] is None


def test_an_imported_report_waits_for_an_officer_whatever_officer_the_file_names(
    tmp_path: Path, client: TestClient, officer_li: User
) -> None:
    src = tmp_path / "reports.jsonl"
    src.write_text(json.dumps(report_payload(officer="李强"), ensure_ascii=False) + "\n")
    summary = import_reports(src, actor=officer_li.actor())
    [report_id] = summary.report_ids
    body = client.get(f"/api/v1/fraud-reports/{report_id}", headers=bearer(officer_li)).json()
    assert (body["intake"], body["source"], body["officer"]) == (
        "awaiting_officer",
        "import:reports.jsonl",
        "",
    )
    assert _audit("fraud_report.open")["stated_officer"] == "李强"


def test_an_officer_confirms_a_waiting_report_through_the_api(
    client: TestClient, analyst_zhang: User, officer_li: User
) -> None:
    report_id = _post(client, analyst_zhang)["id"]
    r = client.post(f"/api/v1/fraud-reports/{report_id}/confirm", headers=bearer(officer_li))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["intake"], body["confirmed_by"], body["officer"]) == (
        "registered",
        "officer_li",
        "officer_li",
    )


@pytest.mark.parametrize("role_user", ["analyst_zhang", "supervisor_liu"])
def test_only_an_officer_may_confirm_a_report(
    client: TestClient, analyst_zhang: User, role_user: str, request: pytest.FixtureRequest
) -> None:
    report_id = _post(client, analyst_zhang)["id"]
    user: User = request.getfixturevalue(role_user)
    r = client.post(f"/api/v1/fraud-reports/{report_id}/confirm", headers=bearer(user))
    assert r.status_code == 403


def test_a_registered_report_is_not_confirmed_again(client: TestClient, officer_li: User) -> None:
    report_id = _post(client, officer_li)["id"]
    r = client.post(f"/api/v1/fraud-reports/{report_id}/confirm", headers=bearer(officer_li))
    assert r.status_code == 409
    assert r.json()["field"] == "intake"


def test_a_report_the_system_enters_by_itself_waits_for_an_officer() -> None:
    with db.transaction() as s:
        item = NewReport(report=ReportIn.model_validate(report_payload()), actor=Actor.system("feed"))
        report = register_report(s, item).report
        assert (report.intake, report.source) == (ReportIntake.AWAITING_OFFICER, "system:feed")


def test_the_reports_page_marks_a_waiting_report_and_offers_an_officer_the_confirmation(
    client: TestClient, analyst_zhang: User, officer_li: User
) -> None:
    report_id = _post(client, analyst_zhang)["id"]
    page = client.get("/reports", headers=bearer(officer_li)).text
    assert "awaiting officer" in page
    assert f'action="/reports/{report_id}/confirm"' in page and 'name="csrf_token"' in page
    analysts_view = client.get("/reports", headers=bearer(analyst_zhang)).text
    assert "awaiting officer" in analysts_view and "/confirm" not in analysts_view


def test_the_report_page_confirms_a_waiting_report_by_form_post(
    client: TestClient, analyst_zhang: User, officer_li: User
) -> None:
    report_id = _post(client, analyst_zhang)["id"]
    page = client.get(f"/reports/{report_id}", headers=bearer(officer_li)).text
    assert 'id="awaiting-badge"' in page and f'action="/reports/{report_id}/confirm"' in page
    r = client.post(f"/reports/{report_id}/confirm", headers=bearer(officer_li), follow_redirects=False)
    assert r.status_code == 303
    body = client.get(f"/api/v1/fraud-reports/{report_id}", headers=bearer(officer_li)).json()
    assert body["intake"] == "registered"
    assert 'id="awaiting-badge"' not in client.get(f"/reports/{report_id}", headers=bearer(officer_li)).text


def test_a_confirmation_posted_from_a_browser_without_the_form_token_is_refused(
    client: TestClient, analyst_zhang: User, officer_li: User
) -> None:
    report_id = _post(client, analyst_zhang)["id"]
    client.cookies.set("pingan_token", issue_token(officer_li))
    r = client.post(f"/reports/{report_id}/confirm", follow_redirects=False)
    assert r.status_code == 403
