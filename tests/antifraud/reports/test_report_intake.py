"""Fraud-report intake (报案): registration, idempotency, validation, masking, reveal and listing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.antifraud.reports.model import FraudReport
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.roles import Role
from tests.conftest import bearer, make_user
from tests.factories import MULE_CARD_CCB, VICTIM_WANG, WANG_CARD, card, report_payload

pytestmark = pytest.mark.usefixtures("station_yulin")


def _count(model: type[Any]) -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _post(client: TestClient, user: User, body: Any, key: str | None = None) -> Any:
    headers = bearer(user)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/fraud-reports", json=body, headers=headers)


def test_an_officer_registers_a_report_and_gets_it_back_masked(client: TestClient, officer_li: User) -> None:
    r = _post(client, officer_li, report_payload())
    assert r.status_code == 201, r.text
    body = r.json()
    wang_id = VICTIM_WANG["national_id"]
    assert body["victim"] == {
        "name": "王**",
        "national_id": f"510107********{wang_id[-4:]}",
        "phone": "138****5678",
    }
    assert body["transfers"][0]["payee_account"] == f"{MULE_CARD_CCB[:4]} **** **** {MULE_CARD_CCB[-4:]}"
    assert body["total_amount_fen"] == 500_000
    assert WANG_CARD not in r.text and MULE_CARD_CCB not in r.text


def test_personal_identifiers_are_not_stored_in_clear(client: TestClient, officer_li: User) -> None:
    _post(client, officer_li, report_payload())
    with db.get_engine().connect() as conn:
        dump = json.dumps([list(map(str, row)) for row in conn.exec_driver_sql("select * from fraud_report")])
        dump += json.dumps(
            [list(map(str, row)) for row in conn.exec_driver_sql("select * from report_transfer")]
        )
    for clear in ("13812345678", WANG_CARD, MULE_CARD_CCB, "王芳"):
        assert clear not in dump


def test_the_same_idempotency_key_and_body_return_the_same_report(
    client: TestClient, officer_li: User
) -> None:
    first = _post(client, officer_li, report_payload(), key="k-1")
    again = _post(client, officer_li, report_payload(), key="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert _count(FraudReport) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(
    client: TestClient, officer_li: User
) -> None:
    _post(client, officer_li, report_payload(), key="k-1")
    r = _post(client, officer_li, report_payload(narrative="另一份报案"), key="k-1")
    assert r.status_code == 409
    assert r.json()["field"] == "Idempotency-Key"


def test_a_second_report_with_the_same_receipt_number_is_a_conflict(
    client: TestClient, officer_li: User
) -> None:
    _post(client, officer_li, report_payload())
    r = _post(client, officer_li, report_payload())
    assert r.status_code == 409
    assert r.json()["field"] == "external_ref"


def _transfer(**changes: Any) -> list[dict[str, Any]]:
    t = report_payload()["transfers"][0]
    t.update(changes)
    return [t]


BAD_BODIES = {
    "unknown typology": (report_payload(typology="彩票"), "typology"),
    "zero amount": (report_payload(transfers=_transfer(amount_fen=0)), "transfers.0.amount_fen"),
    "negative amount": (report_payload(transfers=_transfer(amount_fen=-100)), "transfers.0.amount_fen"),
    "transfer before the fraud began": (
        report_payload(transfers=_transfer(occurred_at="2026-11-19T09:40:00+08:00")),
        "transfers.0.occurred_at",
    ),
    "bad ID check character": (
        report_payload(victim={"name": "王芳", "national_id": "510107196503120021", "phone": "13812345678"}),
        "victim.national_id",
    ),
    "bad phone": (
        report_payload(victim={**VICTIM_WANG, "phone": "2381234567"}),
        "victim.phone",
    ),
    "bad card check digit": (
        report_payload(
            transfers=_transfer(payee_account=MULE_CARD_CCB[:-1] + str((int(MULE_CARD_CCB[-1]) + 1) % 10))
        ),
        "transfers.0.payee_account",
    ),
    "unknown bank": (report_payload(transfers=_transfer(payee_bank="NOPE")), "transfers.0.payee_bank"),
    "no transfers": (report_payload(transfers=[]), "transfers"),
    "report before the fraud": (report_payload(reported_at="2026-11-19T09:00:00+08:00"), "reported_at"),
    "unknown station": (report_payload(station_code="XX-NOPE"), "station_code"),
    "unknown field": (report_payload(colour="red"), "colour"),
    "naive timestamp": (report_payload(fraud_started_at="2026-11-20T09:15:00"), "fraud_started_at"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_input_gets_a_422_naming_the_field_and_writes_nothing(
    client: TestClient, officer_li: User, case: str
) -> None:
    body, field = BAD_BODIES[case]
    audit_before = _count(AuditEntry)
    r = _post(client, officer_li, body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert field in r.json()["message"] or r.json()["field"] == field
    assert _count(FraudReport) == 0
    assert _count(AuditEntry) == audit_before


def test_malformed_json_gets_a_422_naming_the_body(client: TestClient, officer_li: User) -> None:
    r = client.post(
        "/api/v1/fraud-reports",
        content=b'{"victim": {"name": "\xe7\x8e\x8b"',
        headers={**bearer(officer_li), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "body"
    assert "malformed JSON" in r.json()["message"]


def test_an_oversized_body_gets_a_422_naming_the_body(client: TestClient, officer_li: User) -> None:
    huge = report_payload(narrative="诈" * 400_000)
    r = _post(client, officer_li, huge)
    assert r.status_code == 422
    assert r.json()["field"] == "body"
    assert _count(FraudReport) == 0


def test_a_chunked_body_is_capped_by_the_bytes_received_before_authentication(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        # Sent chunked, with no Content-Length to go by, and no token: the cap answers, not the 401.
        for _ in range(5):
            yield b"x" * 1_000_000

    r = client.post("/api/v1/fraud-reports", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 422
    assert r.json()["field"] == "body"
    assert "over the limit" in r.json()["message"]


def test_a_report_view_is_written_to_the_audit_log_with_the_case(
    client: TestClient, officer_li: User
) -> None:
    rid = _post(client, officer_li, report_payload()).json()["id"]
    client.get(f"/api/v1/fraud-reports/{rid}", headers=bearer(officer_li))
    with db.transaction() as s:
        view = s.execute(select(AuditEntry).where(AuditEntry.action == "fraud_report.view")).scalar_one()
    assert (view.actor, view.object_id, view.purpose) == ("officer_li", str(rid), "case:510107-2026-000001")


def _reveal(client: TestClient, user: User, rid: int, **body: str) -> Any:
    payload = {"purpose": "victim_contact", "reference": "510107-2026-000001"} | body
    return client.post(f"/api/v1/fraud-reports/{rid}/reveal", json=payload, headers=bearer(user))


def test_an_analyst_reveals_clear_data_for_a_listed_purpose_and_a_case_reference(
    client: TestClient, officer_li: User, analyst_zhang: User
) -> None:
    rid = _post(client, officer_li, report_payload()).json()["id"]
    r = _reveal(client, analyst_zhang, rid)
    assert r.status_code == 200, r.text
    assert r.json()["victim"]["phone"] == "13812345678"
    assert r.json()["payee_accounts"] == [MULE_CARD_CCB]


def test_the_reveal_audit_entry_carries_the_purpose_and_the_reference(
    client: TestClient, officer_li: User, analyst_zhang: User
) -> None:
    rid = _post(client, officer_li, report_payload()).json()["id"]
    _reveal(client, analyst_zhang, rid)
    with db.transaction() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "fraud_report.reveal")).scalar_one()
    assert entry.actor == "analyst_zhang"
    assert entry.purpose == "victim_contact; case:510107-2026-000001"
    assert json.loads(entry.detail) == {
        "purpose": "victim_contact",
        "reference": "510107-2026-000001",
        "report": "510107-2026-000001",
    }


def test_an_auditor_lists_who_revealed_which_report_when_and_why(
    client: TestClient, officer_li: User, analyst_zhang: User
) -> None:
    rid = _post(client, officer_li, report_payload()).json()["id"]
    _reveal(client, analyst_zhang, rid, purpose="bank_coordination")
    auditor = make_user("auditor_wu", Role.AUDITOR)
    r = client.get("/api/v1/audit/entries", params={"action": "fraud_report.reveal"}, headers=bearer(auditor))
    assert r.status_code == 200, r.text
    (entry,) = r.json()["items"]
    assert (entry["actor"], entry["object_id"]) == ("analyst_zhang", str(rid))
    assert entry["detail"]["purpose"] == "bank_coordination" and entry["at"]


def test_a_reveal_may_name_another_reports_reference_as_its_case(
    client: TestClient, officer_li: User, analyst_zhang: User
) -> None:
    lead = _post(client, officer_li, report_payload()).json()["id"]
    other = _post(client, officer_li, report_payload(external_ref="510107-2026-000009")).json()["id"]
    assert lead != other
    assert _reveal(client, analyst_zhang, other, reference="510107-2026-000001").status_code == 200


def test_a_reveal_for_a_purpose_not_on_the_list_is_422_naming_purpose(
    client: TestClient, officer_li: User, analyst_zhang: User
) -> None:
    rid = _post(client, officer_li, report_payload()).json()["id"]
    r = _reveal(client, analyst_zhang, rid, purpose="回访受害人核实转账")
    assert r.status_code == 422 and r.json()["field"] == "purpose"


def test_a_reveal_naming_an_unknown_reference_is_422_naming_reference_and_reveals_nothing(
    client: TestClient, officer_li: User, analyst_zhang: User
) -> None:
    rid = _post(client, officer_li, report_payload()).json()["id"]
    r = _reveal(client, analyst_zhang, rid, reference="510107-2099-999999")
    assert r.status_code == 422 and r.json()["field"] == "reference"
    assert "13812345678" not in r.text
    with db.transaction() as s:
        assert s.execute(select(AuditEntry).where(AuditEntry.action == "fraud_report.reveal")).first() is None


def test_an_officer_may_not_reveal_clear_data(client: TestClient, officer_li: User) -> None:
    rid = _post(client, officer_li, report_payload()).json()["id"]
    assert _reveal(client, officer_li, rid).status_code == 403


def test_a_missing_report_is_404(client: TestClient, officer_li: User) -> None:
    assert client.get("/api/v1/fraud-reports/999", headers=bearer(officer_li)).status_code == 404


def _register_many(client: TestClient, user: User, n: int) -> list[int]:
    ids = []
    for i in range(n):
        body = report_payload(
            external_ref=f"510107-2026-{i:06d}",
            typology="刷单返利" if i % 2 else "冒充公检法",
            transfers=_transfer(payee_account=card("621700", 100 + i), payee_bank="CCB" if i % 3 else "ICBC"),
            suspects=[],
        )
        ids.append(_post(client, user, body).json()["id"])
    return ids


def test_the_list_pages_through_every_report_once_by_cursor(client: TestClient, officer_li: User) -> None:
    ids = _register_many(client, officer_li, 7)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/fraud-reports", params=params, headers=bearer(officer_li)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


def test_the_list_filters_by_typology_and_bank(client: TestClient, officer_li: User) -> None:
    _register_many(client, officer_li, 6)
    typ = client.get(
        "/api/v1/fraud-reports", params={"typology": "冒充公检法"}, headers=bearer(officer_li)
    ).json()
    assert {i["typology"] for i in typ["items"]} == {"冒充公检法"}
    assert len(typ["items"]) == 3
    icbc = client.get("/api/v1/fraud-reports", params={"bank": "ICBC"}, headers=bearer(officer_li)).json()
    assert len(icbc["items"]) == 2


def test_the_list_filters_by_report_time_range(client: TestClient, officer_li: User) -> None:
    _register_many(client, officer_li, 2)
    params = {"reported_from": "2026-11-21T00:00:00Z"}
    assert (
        client.get("/api/v1/fraud-reports", params=params, headers=bearer(officer_li)).json()["items"] == []
    )


def test_a_forged_cursor_is_refused_naming_the_field(client: TestClient, officer_li: User) -> None:
    r = client.get("/api/v1/fraud-reports", params={"cursor": "bm9wZQ=="}, headers=bearer(officer_li))
    assert r.status_code == 422
    assert r.json()["field"] == "cursor"
