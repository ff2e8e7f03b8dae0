"""Bad input gets a 4xx in the platform's error format, naming the field; never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import User
from tests.conftest import bearer
from tests.factories import report_payload

TOO_BIG = 2**63


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/v1/fraud-reports/{TOO_BIG}", "report_id"),
        (f"/api/v1/orders/{TOO_BIG}", "order_id"),
        (f"/reports/{TOO_BIG}", "report_id"),
        (f"/api/v1/risk-events?after_id={TOO_BIG}", "after_id"),
        ("/api/v1/risk-events?after_id=2147483648.0", "after_id"),
    ],
)
def test_an_id_past_64_bits_gets_422_naming_it(
    client: TestClient, analyst_zhang: User, path: str, field: str
) -> None:
    r = client.get(path, headers=bearer(analyst_zhang))
    assert r.status_code == 422
    assert r.json()["field"] == field


def test_a_body_that_is_not_utf8_gets_400_naming_the_body(client: TestClient, officer_li: User) -> None:
    r = client.post(
        "/api/v1/fraud-reports",
        content=b'{"narrative": "\xff\xfe"}',
        headers={**bearer(officer_li), "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422)
    assert r.json()["field"] == "body"


def test_deeply_nested_json_gets_a_4xx(client: TestClient, officer_li: User) -> None:
    nested = b'{"narrative": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = client.post(
        "/api/v1/fraud-reports",
        content=nested,
        headers={**bearer(officer_li), "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500
    assert "field" in r.json()


@pytest.mark.usefixtures("station_yulin")
def test_a_transfer_in_the_year_9999_gets_422_naming_it(client: TestClient, officer_li: User) -> None:
    body = report_payload()
    body["transfers"][0]["occurred_at"] = "9999-01-01T00:00:00+08:00"
    r = client.post("/api/v1/fraud-reports", json=body, headers=bearer(officer_li))
    assert r.status_code == 422
    assert r.json()["field"] == "transfers.0.occurred_at"


@pytest.mark.usefixtures("station_yulin")
def test_a_fraud_begun_in_year_1_gets_422_naming_it(client: TestClient, officer_li: User) -> None:
    body = report_payload()
    body["fraud_started_at"] = "0001-01-01T00:00:00+08:00"
    r = client.post("/api/v1/fraud-reports", json=body, headers=bearer(officer_li))
    assert r.status_code == 422
    assert r.json()["field"] == "fraud_started_at"


@pytest.mark.usefixtures("station_yulin")
def test_a_transfer_after_the_report_time_gets_422_naming_it(client: TestClient, officer_li: User) -> None:
    body = report_payload()
    body["transfers"][0]["occurred_at"] = "2026-11-20T18:00:00+08:00"  # four hours after the report
    r = client.post("/api/v1/fraud-reports", json=body, headers=bearer(officer_li))
    assert r.status_code == 422
    assert r.json()["field"] == "transfers.0.occurred_at"
