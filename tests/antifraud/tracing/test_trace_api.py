"""GET /api/v1/fraud-reports/{id}/trace: analysts and supervisors only, and a clear error without a report."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pingan.core.auth import User
from tests.conftest import bearer


def test_an_unknown_report_has_no_trace(client: TestClient, analyst_zhang: User) -> None:
    r = client.get("/api/v1/fraud-reports/999/trace?method=fifo", headers=bearer(analyst_zhang))
    assert r.status_code == 404
    assert "999" in r.text


def test_an_officer_may_not_trace(client: TestClient, officer_li: User) -> None:
    r = client.get("/api/v1/fraud-reports/1/trace?method=fifo", headers=bearer(officer_li))
    assert r.status_code == 403


def test_an_unknown_method_is_refused(client: TestClient, supervisor_liu: User) -> None:
    r = client.get("/api/v1/fraud-reports/1/trace?method=guess", headers=bearer(supervisor_liu))
    assert r.status_code == 422


def test_accepting_recommendations_of_an_unknown_report_names_it(
    client: TestClient, analyst_zhang: User
) -> None:
    r = client.post("/api/v1/fraud-reports/999/trace/accept", json={}, headers=bearer(analyst_zhang))
    assert r.status_code == 404
    assert "999" in r.text


def test_only_an_analyst_accepts_recommendations(client: TestClient, officer_li: User) -> None:
    r = client.post("/api/v1/fraud-reports/1/trace/accept", json={}, headers=bearer(officer_li))
    assert r.status_code == 403
