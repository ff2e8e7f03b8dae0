"""Station scoping of the risk queue: an officer sees the likely victims whose home station is theirs."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.risk import live as risk_live
from pingan.core import db, live
from pingan.core.audit import AuditEntry
from pingan.core.auth import User, actor_from_token, issue_token
from pingan.core.roles import Role
from tests.antifraud.risk.test_plans import flag, plans, record
from tests.conftest import bearer, make_user


def test_an_officer_sees_the_risk_events_of_their_own_stations_people_only(
    client: TestClient, officer_li: User
) -> None:
    record(flag(1))  # Wang lives in the Yulin station's area (WH-YL), officer Li's
    officer_zhao = make_user("officer_zhao", Role.OFFICER, station_code="WH-JX")
    own = client.get("/api/v1/risk-events", headers=bearer(officer_li)).json()
    other = client.get("/api/v1/risk-events", headers=bearer(officer_zhao)).json()
    assert [e["person_key"] for e in own] == ["victim-wang"]
    assert other == []
    assert "victim-wang"[:12] not in client.get("/risk/events", headers=bearer(officer_zhao)).text
    recorded = [live.Change(1, "risk", "risk.record_event", (e["id"],)) for e in own]
    with db.read_transaction() as s:
        to_zhao = risk_live.render(s, actor_from_token(s, issue_token(officer_zhao)), recorded)
        to_li = risk_live.render(s, actor_from_token(s, issue_token(officer_li)), recorded)
    assert to_zhao == []  # the live stream pushes Zhao nothing of Li's station either
    assert [m.event for m in to_li] == ["risk"]


def test_a_warning_plan_of_another_station_is_404_to_an_officer(client: TestClient, officer_li: User) -> None:
    record(flag(1))
    officer_zhao = make_user("officer_zhao", Role.OFFICER, station_code="WH-JX")
    plan_id = plans()[0].id
    assert client.get(f"/api/v1/warning-plans/{plan_id}", headers=bearer(officer_zhao)).status_code == 404
    assert client.get(f"/api/v1/warning-plans/{plan_id}", headers=bearer(officer_li)).status_code == 200


def test_every_read_of_the_risk_queue_is_audited(client: TestClient, analyst_zhang: User) -> None:
    record(flag(1))
    client.get("/api/v1/risk-events", headers=bearer(analyst_zhang))
    client.get("/risk/events", headers=bearer(analyst_zhang))
    with db.transaction() as s:
        reads = list(s.execute(select(AuditEntry).where(AuditEntry.action == "risk_event.list")).scalars())
    assert [(e.actor, json.loads(e.detail)["returned"]) for e in reads] == [
        ("analyst_zhang", 1),
        ("analyst_zhang", 1),
    ]


def test_an_officer_without_a_station_sees_no_risk_events_and_the_page_says_why(client: TestClient) -> None:
    record(flag(1))
    officer_sun = make_user("officer_sun", Role.OFFICER)
    assert client.get("/api/v1/risk-events", headers=bearer(officer_sun)).json() == []
    page = client.get("/risk/events", headers=bearer(officer_sun))
    assert "no station" in page.text and "victim-wang"[:12] not in page.text
