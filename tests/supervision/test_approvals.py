"""Requests for approval (审批): a step that needs a superior is requested by one user and decided by
another with the approver's role. It queues on the approver's page; approving records the step,
refusing keeps the reason; self-approval is 403; every filing and decision is audited. Appeals on a
quality deduction take the same path to the legal-supervision office."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import audit, db
from pingan.core.auth import User
from pingan.supervision.model import QualityEntry
from tests.conftest import bearer
from tests.supervision.conftest import NOW, detain
from tests.supervision.test_pages import HTML, browser, csrf
from tests.supervision.test_scores import sync


def _alert(page: str) -> str:
    found = re.search(r'role="alert">(.*?)</p>', page, re.S)
    assert found is not None, "no refusal shown"
    return html.unescape(found.group(1))


def _detention(case: dict[str, Any], approver: str = "supervisor_liu") -> dict[str, Any]:
    return {
        "kind": "detention",
        "at": (NOW - timedelta(hours=2)).isoformat(),
        "party_id": case["suspect_id"],
        "approver": approver,
        "note": "涉嫌盗窃，现行",
    }


def _log(client: TestClient, case: dict[str, Any], user: User) -> list[dict[str, Any]]:
    full = client.get(f"/api/v1/supervision/cases/{case['id']}", headers=bearer(user)).json()
    return [e for e in full["events"] if e["kind"] == "detention"]


def _audited(action: str) -> list[audit.AuditEntry]:
    with db.transaction() as s:
        rows = list(s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == action)).all())
        s.expunge_all()
        return rows


def test_a_requested_detention_queues_for_the_approver_and_is_recorded_when_approved_on_the_page(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, supervisor_liu: User
) -> None:
    r = client.post(
        f"/api/v1/supervision/cases/{theft_case['id']}/requests",
        json=_detention(theft_case),
        headers=bearer(officer_li),
    )
    assert r.status_code == 201, r.text
    req = r.json()
    assert (req["state"], req["approver"], req["requested_by"]) == ("pending", "supervisor_liu", "officer_li")
    assert _log(client, theft_case, officer_li) == []  # not in the log until approved
    b = browser(client, supervisor_liu)
    page = b.get("/supervision/approvals", headers=HTML).text
    assert f'action="/supervision/requests/{req["id"]}/decision"' in page
    done = b.post(
        f"/supervision/requests/{req['id']}/decision",
        data={"csrf_token": csrf(page), "decision": "approve", "reason": ""},
        headers=HTML,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    [step] = _log(client, theft_case, officer_li)
    assert (step["requested_by"], step["approved_by"]) == ("officer_li", "supervisor_liu")
    assert len(_audited("supervision.request_filed")) == 1
    assert len(_audited("supervision.request_approved")) == 1


def test_the_step_form_sends_a_measure_to_the_approver_instead_of_recording_it(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    b = browser(client, officer_li)
    page = b.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert f'formaction="/supervision/cases/{theft_case["id"]}/requests"' in page
    form = {
        "csrf_token": csrf(page),
        "kind": "detention",
        "at": "2026-03-20T08:00",
        "party_id": str(theft_case["suspect_id"]),
        "approver": "supervisor_liu",
    }
    r = b.post(
        f"/supervision/cases/{theft_case['id']}/requests", data=form, headers=HTML, follow_redirects=True
    )
    assert r.status_code == 200 and 'id="case-requests"' in r.text and "supervisor_liu" in r.text
    assert _log(client, theft_case, officer_li) == []
    missing = b.post(
        f"/supervision/cases/{theft_case['id']}/requests", data={**form, "approver": ""}, headers=HTML
    )
    assert missing.status_code == 422 and "'approver'" in _alert(missing.text)


def test_naming_oneself_as_approver_is_403_and_another_approver_cannot_decide(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, supervisor_liu: User, legal_sun: User
) -> None:
    own = client.post(
        f"/api/v1/supervision/cases/{theft_case['id']}/requests",
        json=_detention(theft_case, approver="supervisor_liu"),
        headers=bearer(supervisor_liu),
    )
    assert own.status_code == 403 and own.json()["field"] == "approver"
    req = client.post(
        f"/api/v1/supervision/cases/{theft_case['id']}/requests",
        json=_detention(theft_case),
        headers=bearer(officer_li),
    ).json()
    other = client.post(
        f"/api/v1/supervision/requests/{req['id']}/decision",
        json={"approve": True},
        headers=bearer(legal_sun),
    )
    assert other.status_code == 403 and "supervisor_liu" in other.text
    by_requester = client.post(
        f"/api/v1/supervision/requests/{req['id']}/decision",
        json={"approve": True},
        headers=bearer(officer_li),
    )
    assert by_requester.status_code == 403 and "self-approval" in by_requester.text
    assert _log(client, theft_case, officer_li) == []


def test_a_refusal_needs_its_reason_keeps_it_and_leaves_the_log_alone(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, supervisor_liu: User
) -> None:
    req = client.post(
        f"/api/v1/supervision/cases/{theft_case['id']}/requests",
        json=_detention(theft_case),
        headers=bearer(officer_li),
    ).json()
    b = browser(client, supervisor_liu)
    token = csrf(b.get("/supervision/approvals", headers=HTML).text)
    bare = b.post(
        f"/supervision/requests/{req['id']}/decision",
        data={"csrf_token": token, "decision": "refuse", "reason": ""},
        headers=HTML,
    )
    assert bare.status_code == 422 and "'reason'" in _alert(bare.text)
    refused = b.post(
        f"/supervision/requests/{req['id']}/decision",
        data={"csrf_token": token, "decision": "refuse", "reason": "证据不足，先传唤"},
        headers=HTML,
        follow_redirects=False,
    )
    assert refused.status_code == 303
    mine = browser(client, officer_li).get("/supervision/approvals", headers=HTML).text
    assert "证据不足，先传唤" in mine
    assert _log(client, theft_case, officer_li) == []
    [entry] = _audited("supervision.request_refused")
    assert json.loads(entry.detail)["reason"] == "证据不足，先传唤"
    again = client.post(
        f"/api/v1/supervision/requests/{req['id']}/decision",
        json={"approve": True},
        headers=bearer(supervisor_liu),
    )
    assert again.status_code == 409  # decided once


def _deduction(client: TestClient, case: dict[str, Any], officer: User) -> QualityEntry:
    """A family notice never sent after a detention: a breach, hence a deduction once synced."""
    r = detain(client, case, officer, NOW - timedelta(hours=30))
    assert r.status_code == 200, r.text
    sync()
    with db.transaction() as s:
        entry = s.scalars(
            select(QualityEntry).where(QualityEntry.rule_id == "cpl.detention_family_notice")
        ).one()
        s.expunge(entry)
        return entry


def test_an_appeal_filed_on_the_page_is_decided_by_the_office_as_a_new_entry(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, legal_sun: User
) -> None:
    entry = _deduction(client, theft_case, officer_li)
    b = browser(client, officer_li)
    page = b.get("/supervision/approvals?month=2026-03", headers=HTML).text
    assert f'action="/supervision/quality/{entry.id}/appeals"' in page
    filed = b.post(
        f"/supervision/quality/{entry.id}/appeals",
        data={
            "csrf_token": csrf(page),
            "points": "5",
            "grounds": "家属电话停机，已书面通知",
            "month": "2026-03",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert filed.status_code == 303, filed.text
    [req] = client.get("/api/v1/supervision/requests", headers=bearer(legal_sun)).json()
    assert (req["kind"], req["entry_id"]) == ("appeal", entry.id)
    r = client.post(
        f"/api/v1/supervision/requests/{req['id']}/decision",
        json={"approve": True, "reason": "通知不能属实"},
        headers=bearer(legal_sun),
    )
    assert r.status_code == 200 and r.json()["state"] == "approved"
    with db.transaction() as s:
        decision = s.scalars(select(QualityEntry).where(QualityEntry.appeal_of == entry.id)).one()
        assert (decision.points, decision.recorded_by) == (5, "legal_sun")
        assert s.get_one(QualityEntry, entry.id).points == entry.points  # the deduction stays


def test_an_appeal_asking_more_than_was_taken_comes_back_naming_points(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    entry = _deduction(client, theft_case, officer_li)
    b = browser(client, officer_li)
    page = b.get("/supervision/approvals?month=2026-03", headers=HTML).text
    r = b.post(
        f"/supervision/quality/{entry.id}/appeals",
        data={
            "csrf_token": csrf(page),
            "points": str(-entry.points + 1),
            "grounds": "家属电话停机",
            "month": "2026-03",
        },
        headers=HTML,
    )
    assert r.status_code == 422 and "'points'" in _alert(r.text)


def test_the_office_cannot_decide_its_own_appeal(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, legal_sun: User
) -> None:
    entry = _deduction(client, theft_case, officer_li)
    req = client.post(
        f"/api/v1/supervision/quality/{entry.id}/appeals",
        json={"points": 2, "grounds": "家属电话停机"},
        headers=bearer(legal_sun),
    ).json()
    r = client.post(
        f"/api/v1/supervision/requests/{req['id']}/decision",
        json={"approve": True},
        headers=bearer(legal_sun),
    )
    assert r.status_code == 403
