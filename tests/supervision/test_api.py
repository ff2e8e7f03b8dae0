"""Cases and measures over the API: bad input refused naming why, approvals through the queue only,
re-evaluation, breaches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from pingan.core import audit, clock, db
from pingan.core.auth import User
from pingan.supervision.model import CaseBreach
from tests.conftest import bearer
from tests.supervision.conftest import NOW, OPENED, approved_step, case_body, detain, request_step


def step(client: TestClient, case: dict[str, Any], user: User, **body: Any) -> Any:
    return client.post(f"/api/v1/supervision/cases/{case['id']}/events", json=body, headers=bearer(user))


def steps_of(client: TestClient, case: dict[str, Any], user: User, kind: str) -> list[dict[str, Any]]:
    full = client.get(f"/api/v1/supervision/cases/{case['id']}", headers=bearer(user)).json()
    return [e for e in full["events"] if e["kind"] == kind]


def deadline(case: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(d for d in case["deadlines"] if d["rule_id"] == rule_id)


def test_a_detention_starts_the_family_notice_and_arrest_request_clocks(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    r = detain(client, theft_case, officer_li, NOW - timedelta(hours=2))
    assert r.status_code == 200, r.text
    case = r.json()
    [detention] = [e for e in case["events"] if e["kind"] == "detention"]
    assert (detention["requested_by"], detention["approved_by"]) == ("officer_li", "supervisor_liu")
    assert deadline(case, "cpl.detention_family_notice")["due_at"].startswith("2026-03-21T00:00:00")
    assert deadline(case, "cpl.arrest_request")["due_at"].startswith("2026-03-23T16:00:00")
    assert deadline(case, "cpl.arrest_request")["status"] == "running"


def test_a_measure_before_the_case_was_opened_is_refused_naming_why(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    r = detain(client, theft_case, officer_li, OPENED - timedelta(minutes=1))
    assert r.status_code == 422
    assert r.json()["field"] == "at" and "before its case was opened" in r.json()["message"]


def test_a_detention_recorded_directly_is_refused_pointing_to_the_approval_queue(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    r = step(
        client,
        theft_case,
        officer_li,
        kind="detention",
        at=NOW.isoformat(),
        party_id=theft_case["suspect_id"],
    )
    assert r.status_code == 403 and r.json()["field"] == "kind"
    assert "needs a superior's approval" in r.json()["message"]
    assert f"/cases/{theft_case['id']}/requests" in r.json()["message"]
    assert steps_of(client, theft_case, officer_li, "detention") == []


def test_an_approver_merely_named_on_a_step_is_refused_naming_the_field(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    r = step(
        client,
        theft_case,
        officer_li,
        kind="seizure",
        at=NOW.isoformat(),
        item="EB-1",
        approved_by="supervisor_liu",
    )
    assert r.status_code == 422 and "approved_by" in r.text
    assert steps_of(client, theft_case, officer_li, "seizure") == []


def test_an_extension_recorded_directly_is_refused(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(days=2))
    r = step(
        client,
        theft_case,
        officer_li,
        kind="extension",
        at=NOW.isoformat(),
        party_id=theft_case["suspect_id"],
        rule_id="cpl.arrest_request",
        extension_id="special",
    )
    assert r.status_code == 403
    assert r.json()["field"] == "kind" and "an extension is not recorded directly" in r.json()["message"]


def test_a_step_that_needs_no_approval_is_recorded_directly(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(hours=5))
    r = step(
        client,
        theft_case,
        officer_li,
        kind="family_notified",
        at=NOW.isoformat(),
        party_id=theft_case["suspect_id"],
    )
    assert r.status_code == 201 and deadline(r.json(), "cpl.detention_family_notice")["status"] == "met"


def test_a_request_naming_its_own_requester_as_approver_is_forbidden(
    client: TestClient, theft_case: dict[str, Any], supervisor_liu: User
) -> None:
    r = request_step(
        client,
        theft_case,
        supervisor_liu,
        kind="detention",
        at=(NOW - timedelta(hours=1)).isoformat(),
        party_id=theft_case["suspect_id"],
        approver="supervisor_liu",
    )
    assert r.status_code == 403
    assert r.json()["field"] == "approver" and "cannot approve it" in r.json()["message"]


def test_an_approved_extension_moves_the_deadline(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(days=2))
    r = approved_step(
        client,
        theft_case,
        officer_li,
        "legal_sun",
        kind="extension",
        at=NOW.isoformat(),
        party_id=theft_case["suspect_id"],
        rule_id="cpl.arrest_request",
        extension_id="special",
        amount=2,
    )
    assert r.status_code == 200, r.text
    d = deadline(r.json(), "cpl.arrest_request")
    assert d["due_at"].startswith("2026-03-23T16:00:00") and d["extensions"] == ["special"]
    [ext] = [e for e in r.json()["events"] if e["kind"] == "extension"]
    assert ext["approved_by"] == "legal_sun"


def test_an_extension_the_law_does_not_allow_is_refused_when_requested_naming_why(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(days=2))
    r = request_step(
        client,
        theft_case,
        officer_li,
        kind="extension",
        at=NOW.isoformat(),
        party_id=theft_case["suspect_id"],
        rule_id="cpl.arrest_request",
        extension_id="roving_serial_gang",
        approver="legal_sun",
    )
    assert r.status_code == 422 and "needs the ground 'roving_serial_gang'" in r.json()["message"]


def test_a_criminal_measure_on_an_administrative_case_is_refused(
    client: TestClient, station_yulin: Any, officer_li: User, supervisor_liu: User
) -> None:
    r = client.post(
        "/api/v1/supervision/cases",
        json=case_body(kind="administrative", number="X-1"),
        headers=bearer(officer_li),
    )
    case = r.json()
    p = client.post(
        f"/api/v1/supervision/cases/{case['id']}/parties",
        json={"role": "suspect", "name": "赵六"},
        headers=bearer(officer_li),
    )
    r = step(client, case, officer_li, kind="arrest", at=NOW.isoformat(), party_id=p.json()["id"])
    assert r.status_code == 422 and r.json()["field"] == "kind"


def test_a_case_with_an_unknown_incident_is_refused(
    client: TestClient, station_yulin: Any, officer_li: User, supervisor_liu: User
) -> None:
    r = client.post(
        "/api/v1/supervision/cases", json=case_body(incident_id=987654), headers=bearer(officer_li)
    )
    assert r.status_code == 422 and r.json()["field"] == "incident_id"


def test_an_officer_of_another_station_does_not_see_the_case(
    client: TestClient, theft_case: dict[str, Any], officer_zhou_elsewhere: User
) -> None:
    r = client.get(f"/api/v1/supervision/cases/{theft_case['id']}", headers=bearer(officer_zhou_elsewhere))
    assert r.status_code == 404


def test_parties_are_shown_masked(client: TestClient, theft_case: dict[str, Any], officer_li: User) -> None:
    r = client.get(f"/api/v1/supervision/cases/{theft_case['id']}", headers=bearer(officer_li))
    party = r.json()["parties"][0]
    assert party["name_masked"] != "王五" and "11010519491231002X" not in r.text


def test_a_passed_deadline_is_recorded_as_a_breach_that_survives_the_late_step(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(days=5))  # arrest request due 3 days on
    with clock.frozen(NOW + timedelta(minutes=1)):
        r = approved_step(
            client,
            theft_case,
            officer_li,
            "supervisor_liu",
            kind="arrest_requested",
            at=NOW.isoformat(),
            party_id=theft_case["suspect_id"],
        )
    assert r.status_code == 200, r.text
    breaches = [b for b in r.json()["breaches"] if b["rule_id"] == "cpl.arrest_request"]
    assert len(breaches) == 1 and breaches[0]["met_at"] is not None
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(CaseBreach)).scalar_one() == len(
            r.json()["breaches"]
        )


def test_an_explanation_is_audited_and_given_once(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, supervisor_liu: User
) -> None:
    r = detain(client, theft_case, officer_li, NOW - timedelta(days=5))
    breach_id = next(b["id"] for b in r.json()["breaches"] if b["rule_id"] == "cpl.detention_family_notice")
    url = f"/api/v1/supervision/breaches/{breach_id}/explanation"
    r = client.post(url, json={"text": "家属电话无人接听，已书面通知"}, headers=bearer(officer_li))
    assert r.status_code == 200 and r.json()["explained_by"] == "officer_li"
    again = client.post(url, json={"text": "改写解释内容"}, headers=bearer(supervisor_liu))
    assert again.status_code == 409
    with db.transaction() as s:
        entries = s.execute(
            select(audit.AuditEntry).where(audit.AuditEntry.action == "supervision.breach_explained")
        ).scalars()
        assert [e.object_id for e in entries] == [str(breach_id)]


def test_warnings_go_to_the_case_officer_and_the_supervisor_only(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, supervisor_liu: User, legal_sun: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(hours=20))  # family notice due in 4 h: warning
    for user in (officer_li, supervisor_liu, legal_sun):
        rules = {
            w["rule_id"] for w in client.get("/api/v1/supervision/warnings", headers=bearer(user)).json()
        }
        assert "cpl.detention_family_notice" in rules, user.username


def test_the_rule_pack_lists_every_rule_with_its_citation(client: TestClient, legal_sun: User) -> None:
    r = client.get("/api/v1/supervision/rules", headers=bearer(legal_sun))
    rules = {x["id"]: x for x in r.json()["rules"]}
    assert rules["cpl.arrest_request"]["citation"] == "刑事诉讼法 CPL art. 91 para. 1"
    assert rules["psapl2025.questioning"]["verified"] is False


def test_the_case_list_filters_by_attention(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    assert client.get("/api/v1/supervision/cases?attention=true", headers=bearer(officer_li)).json() == []
    detain(client, theft_case, officer_li, NOW - timedelta(hours=20))
    found = client.get("/api/v1/supervision/cases?attention=true", headers=bearer(officer_li)).json()
    assert [c["number"] for c in found] == [theft_case["number"]]


def test_closing_a_case_stops_new_steps(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    r = client.post(
        f"/api/v1/supervision/cases/{theft_case['id']}/close",
        json={"at": NOW.isoformat(), "note": "撤销案件"},
        headers=bearer(officer_li),
    )
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert detain(client, theft_case, officer_li, NOW).status_code == 409


def test_postgresql_refuses_to_delete_a_breach_or_rewrite_a_step(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, database: str
) -> None:
    if database != "postgres":
        pytest.skip("the triggers that keep breaches and steps for good are PostgreSQL's (migration 0021)")
    detain(client, theft_case, officer_li, NOW - timedelta(days=5))
    for statement in ("DELETE FROM supervision_breach", "UPDATE supervision_event SET note = 'rewritten'"):
        with pytest.raises(DBAPIError, match="kept for good"), db.transaction() as s:
            s.execute(text(statement))


def test_a_case_id_beyond_the_id_range_is_not_found(client: TestClient, legal_sun: User) -> None:
    r = client.get(f"/api/v1/supervision/cases/{2**40}", headers=bearer(legal_sun))
    assert r.status_code == 404 and r.json()["field"] == "id"
