"""A warning plan posted through the API: idempotent by plan id, but only for the same plan, and only
for a station that exists. It rests on a stored risk event, or on an analyst's stated reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.risk.actions import FlagIn, do_record_flags
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.roles import Actor, Role
from tests.conftest import bearer, make_user

pytestmark = pytest.mark.usefixtures("station_yulin")


def _plan(**changes: Any) -> dict[str, Any]:
    body = {
        "plan_id": "plan-wang-1",
        "person_pseudonym": "person:wang",
        "typology": "冒充公检法",
        "amount_fen": 5_000_000,
        "home_station_code": "WH-YL",
        "risk_event_at": "2026-11-20T09:40:00+08:00",
        "manual_reason": "walk-in: her son says she is on a call with 'the police'",
    }
    return {k: v for k, v in (body | changes).items() if v is not None}


@pytest.fixture
def admin_it(database: str) -> User:
    return make_user("admin_it", Role.ADMIN)


def stored_risk_event(person_key: str = "person:wang") -> int:
    """A risk event screening recorded for `person_key`: Wang paying a watch-listed account."""
    flag = FlagIn(
        tx_id=9101,
        occurred_at=datetime(2026, 11, 20, 1, 40, tzinfo=UTC),
        person_key=person_key,
        payer_account="card:wang",
        payee_account="card:mule",
        payer_bank="CMB",
        payee_bank="CCB",
        amount_fen=5_000_000,
        amount_at_risk_fen=5_000_000,
        reasons=["WL-PAYEE:reported_payee"],
        typology_guess="冒充公检法",
        elderly=True,
    )
    with db.transaction() as s:
        result = do_record_flags(s, [flag], engine="test", rules_version="t", actor=Actor.system("screening"))
        return result.events[0].id


def test_the_same_plan_posted_twice_is_accepted_once(client: TestClient, analyst_zhang: User) -> None:
    first = client.post("/api/v1/warnings/plans", json=_plan(), headers=bearer(analyst_zhang))
    again = client.post("/api/v1/warnings/plans", json=_plan(), headers=bearer(analyst_zhang))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["plan_id"] == again.json()["plan_id"]


def test_a_plan_id_reused_with_another_amount_gets_409(client: TestClient, analyst_zhang: User) -> None:
    client.post("/api/v1/warnings/plans", json=_plan(), headers=bearer(analyst_zhang))
    r = client.post("/api/v1/warnings/plans", json=_plan(amount_fen=1), headers=bearer(analyst_zhang))
    assert r.status_code == 409
    assert r.json()["field"] == "plan_id"
    assert "amount_fen" in r.json()["message"]


def test_a_plan_for_an_unknown_station_gets_422_naming_it(client: TestClient, analyst_zhang: User) -> None:
    r = client.post(
        "/api/v1/warnings/plans", json=_plan(home_station_code="NOPE"), headers=bearer(analyst_zhang)
    )
    assert r.status_code == 422
    assert r.json()["field"] == "home_station_code"


def test_the_admin_role_cannot_send_a_warning(client: TestClient, admin_it: User) -> None:
    r = client.post("/api/v1/warnings/plans", json=_plan(), headers=bearer(admin_it))
    assert r.status_code == 403


def test_a_plan_with_neither_a_risk_event_nor_a_reason_gets_422_naming_the_risk_event(
    client: TestClient, analyst_zhang: User
) -> None:
    r = client.post("/api/v1/warnings/plans", json=_plan(manual_reason=None), headers=bearer(analyst_zhang))
    assert r.status_code == 422
    assert r.json()["field"] == "risk_event_id"


def test_a_plan_on_a_stored_risk_event_needs_no_stated_reason(
    client: TestClient, analyst_zhang: User
) -> None:
    event_id = stored_risk_event()
    r = client.post(
        "/api/v1/warnings/plans",
        json=_plan(manual_reason=None, risk_event_id=event_id),
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 201


def test_a_plan_on_a_risk_event_that_is_not_stored_gets_422(client: TestClient, analyst_zhang: User) -> None:
    r = client.post(
        "/api/v1/warnings/plans",
        json=_plan(manual_reason=None, risk_event_id=424242),
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "risk_event_id"


def test_a_plan_on_another_persons_risk_event_gets_422(client: TestClient, analyst_zhang: User) -> None:
    event_id = stored_risk_event(person_key="person:li")
    r = client.post(
        "/api/v1/warnings/plans",
        json=_plan(manual_reason=None, risk_event_id=event_id),
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "risk_event_id"


def test_a_risk_event_id_past_the_id_column_gets_422(client: TestClient, analyst_zhang: User) -> None:
    r = client.post("/api/v1/warnings/plans", json=_plan(risk_event_id=2**31), headers=bearer(analyst_zhang))
    assert r.status_code == 422
    assert r.json()["field"].endswith("risk_event_id")


def test_a_stated_reason_shorter_than_10_characters_gets_422(client: TestClient, analyst_zhang: User) -> None:
    r = client.post(
        "/api/v1/warnings/plans", json=_plan(manual_reason="  because "), headers=bearer(analyst_zhang)
    )
    assert r.status_code == 422
    assert r.json()["field"].endswith("manual_reason")


def test_the_stated_reason_is_recorded_in_the_plans_audit_entry(
    client: TestClient, analyst_zhang: User
) -> None:
    client.post("/api/v1/warnings/plans", json=_plan(), headers=bearer(analyst_zhang))
    with db.transaction() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "warning.plan.accept")).scalar_one()
        detail = json.loads(entry.detail)
    assert entry.actor == "analyst_zhang"
    assert detail["plans"][0]["manual_reason"] == _plan()["manual_reason"]
