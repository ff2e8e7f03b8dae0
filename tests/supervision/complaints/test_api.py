"""The complaints API as a specification: intake and its bad input, repeat linking, each handling
step and its refusals, the quality deduction and its appeal, breaches and satisfaction."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.supervision.complaints.model import Complaint
from pingan.supervision.model import QualityEntry
from tests.conftest import bearer
from tests.supervision.complaints.conftest import (
    ZHANG_ID,
    ZHANG_PHONE,
    complaint_body,
    register,
    step,
    take_call,
)

# ------------------------------------------------------------------------------------------ intake


def test_a_complaint_about_an_officer_is_registered_with_the_complainant_masked(
    client: TestClient, handlers: dict[str, User]
) -> None:
    c = register(client, handlers["liu"])
    assert c["status"] == "received" and c["station_code"] == "WH-YL" and c["officer"] == "officer_li"
    assert c["complainant_phone_masked"] != ZHANG_PHONE and c["complainant_phone_masked"].endswith("8000")
    assert "张秀英" not in str(c)


def test_the_complainant_is_stored_encrypted_and_searchable_by_pseudonym_only(
    client: TestClient, handlers: dict[str, User]
) -> None:
    c = register(client, handlers["liu"], complainant_id_number=ZHANG_ID)
    with db.transaction() as s:
        row = s.get(Complaint, c["id"])
        assert row is not None and row.complainant_phone is not None and row.complainant_id is not None
        assert ZHANG_PHONE not in row.complainant_phone.cipher and ZHANG_ID not in row.complainant_id.cipher
        assert row.complainant_key == row.complainant_id.pseudonym


def test_the_classifier_suggests_the_category_when_none_is_given(
    client: TestClient, handlers: dict[str, User]
) -> None:
    c = register(client, handlers["liu"])
    assert c["category"] == c["suggested_category"] == "attitude"
    assert 0 < c["suggested_confidence"] <= 1


def test_a_chosen_category_is_kept_beside_the_suggestion(
    client: TestClient, handlers: dict[str, User]
) -> None:
    c = register(client, handlers["liu"], category="enforcement")
    assert c["category"] == "enforcement" and c["suggested_category"] == "attitude"


def test_a_complaint_about_an_officer_who_does_not_exist_is_refused_naming_the_subject(
    client: TestClient, handlers: dict[str, User]
) -> None:
    r = client.post(
        "/api/v1/supervision/complaints",
        json=complaint_body(subject_ref="officer_nobody"),
        headers=bearer(handlers["liu"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "subject_ref"


def test_a_complaint_about_an_incident_that_does_not_exist_is_refused_naming_the_subject(
    client: TestClient, handlers: dict[str, User]
) -> None:
    r = client.post(
        "/api/v1/supervision/complaints",
        json=complaint_body(subject_kind="incident", subject_ref="987654"),
        headers=bearer(handlers["liu"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "subject_ref"


def test_a_complaint_about_a_case_or_unit_that_does_not_exist_is_refused(
    client: TestClient, handlers: dict[str, User]
) -> None:
    for kind, ref in (("case", "424242"), ("unit", "WH-NOWHERE"), ("case", "not-a-number")):
        r = client.post(
            "/api/v1/supervision/complaints",
            json=complaint_body(subject_kind=kind, subject_ref=ref),
            headers=bearer(handlers["liu"]),
        )
        assert r.status_code == 422 and r.json()["field"] == "subject_ref", (kind, ref)


def test_a_complaint_about_a_110_incident_belongs_to_the_incident_station(
    client: TestClient, handlers: dict[str, User]
) -> None:
    incident = take_call(
        text="电动车被盗", station_code="WH-YL", received_at=datetime(2026, 3, 1, 2, tzinfo=UTC)
    )
    c = register(
        client, handlers["liu"], channel="callback_110", subject_kind="incident", subject_ref=str(incident)
    )
    assert c["station_code"] == "WH-YL" and c["officer"] is None and c["channel"] == "callback_110"


def test_a_complaint_about_a_case_names_its_case_officer(
    client: TestClient, handlers: dict[str, User], theft_case: dict[str, Any]
) -> None:
    c = register(client, handlers["liu"], subject_kind="case", subject_ref=str(theft_case["id"]))
    assert c["officer"] == "officer_li"


def test_a_complainant_with_neither_phone_nor_id_number_is_refused(
    client: TestClient, handlers: dict[str, User]
) -> None:
    r = client.post(
        "/api/v1/supervision/complaints",
        json=complaint_body(complainant_phone=None),
        headers=bearer(handlers["liu"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "complainant_phone"


def test_a_malformed_id_number_is_refused_naming_it(client: TestClient, handlers: dict[str, User]) -> None:
    r = client.post(
        "/api/v1/supervision/complaints",
        json=complaint_body(complainant_id_number="110105194912310021"),
        headers=bearer(handlers["liu"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "complainant_id_number"


def test_a_complaint_received_in_the_future_is_refused(client: TestClient, handlers: dict[str, User]) -> None:
    r = client.post(
        "/api/v1/supervision/complaints",
        json=complaint_body(received_at="2026-04-01T00:00:00Z"),
        headers=bearer(handlers["liu"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "received_at"


def test_an_unknown_category_is_refused(client: TestClient, handlers: dict[str, User]) -> None:
    r = client.post(
        "/api/v1/supervision/complaints",
        json=complaint_body(category="weather"),
        headers=bearer(handlers["liu"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "category"


def test_an_officer_may_register_a_complaint_but_not_read_the_queue(
    client: TestClient, handlers: dict[str, User]
) -> None:
    register(client, handlers["li"], subject_kind="unit", subject_ref="WH-YL")
    assert client.get("/api/v1/supervision/complaints", headers=bearer(handlers["li"])).status_code == 403


# ------------------------------------------------------------------------------------- attachments


def test_an_attachment_is_stored_under_its_sha256_and_read_back_checked(
    client: TestClient, handlers: dict[str, User], attachment_store: Any
) -> None:
    c = register(client, handlers["liu"])
    content = b"%PDF-1.4 letter of complaint"
    r = client.post(
        f"/api/v1/supervision/complaints/{c['id']}/attachments",
        files={"file": ("letter.pdf", content, "application/pdf")},
        headers=bearer(handlers["liu"]),
    )
    assert r.status_code == 201, r.text
    digest = hashlib.sha256(content).hexdigest()
    assert r.json()["sha256"] == digest and (attachment_store / digest[:2] / f"{digest}.pdf").is_file()
    back = client.get(
        f"/api/v1/supervision/complaints/attachments/{r.json()['id']}", headers=bearer(handlers["sun"])
    )
    assert back.status_code == 200 and back.content == content


def test_an_attachment_changed_on_disk_answers_409(
    client: TestClient, handlers: dict[str, User], attachment_store: Any
) -> None:
    c = register(client, handlers["liu"])
    r = client.post(
        f"/api/v1/supervision/complaints/{c['id']}/attachments",
        files={"file": ("note.txt", b"original", "text/plain")},
        headers=bearer(handlers["liu"]),
    )
    digest = r.json()["sha256"]
    (attachment_store / digest[:2] / f"{digest}.txt").write_bytes(b"tampered")
    back = client.get(
        f"/api/v1/supervision/complaints/attachments/{r.json()['id']}", headers=bearer(handlers["sun"])
    )
    assert back.status_code == 409


def test_an_attachment_that_is_not_what_it_claims_is_refused_naming_the_file(
    client: TestClient, handlers: dict[str, User]
) -> None:
    c = register(client, handlers["liu"])
    r = client.post(
        f"/api/v1/supervision/complaints/{c['id']}/attachments",
        files={"file": ("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
        headers=bearer(handlers["liu"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "file"


# ------------------------------------------------------------------------------------------ linking


def test_a_second_complaint_by_the_same_person_on_the_same_matter_is_linked_as_a_repeat(
    client: TestClient, handlers: dict[str, User]
) -> None:
    first = register(client, handlers["liu"])
    again = register(
        client,
        handlers["liu"],
        channel="hotline_12345",
        received_at="2026-03-15T01:00:00Z",
        text="再次反映：出警民警态度恶劣，我在玉林北路报警说电动车被邻居拿走，请给个说法。",
    )
    assert again["is_repeat"]
    assert again["links"] == [
        {
            "complaint_id": first["id"],
            "reasons": ["same_complainant", "same_matter"],
            "similarity": again["links"][0]["similarity"],
            "repeat": True,
        }
    ]


def test_a_neighbour_complaining_of_the_same_matter_is_linked_as_a_duplicate(
    client: TestClient, handlers: dict[str, User]
) -> None:
    first = register(client, handlers["liu"])
    neighbour = register(
        client,
        handlers["liu"],
        complainant_name="王强",
        complainant_phone="13900139000",
        received_at="2026-03-12T01:00:00Z",
        text="邻居在玉林北路报警说电动车被拿走，出警民警态度恶劣大声呵斥她，我也看到了。",
    )
    assert [(link["complaint_id"], link["reasons"]) for link in neighbour["links"]] == [
        (first["id"], ["same_matter"])
    ]


def test_an_unrelated_complaint_by_someone_else_is_not_linked(
    client: TestClient, handlers: dict[str, User]
) -> None:
    register(client, handlers["liu"])
    other = register(
        client,
        handlers["liu"],
        complainant_phone="13900139000",
        subject_kind="unit",
        subject_ref="WH-YL",
        text="在芳草街被交警罚款200元没有开票据。",
    )
    assert other["links"] == [] and not other["is_repeat"]


# ----------------------------------------------------------------------------------------- handling


def test_acceptance_starts_the_sixty_day_handling_clock(accepted: dict[str, Any]) -> None:
    clocks = {c["rule_id"]: c for c in accepted["clocks"]}
    assert clocks["petition.acceptance"]["status"] == "met"
    assert clocks["petition.handling"]["due_at"].startswith("2026-05-10T16:00:00")


def test_a_refusal_to_accept_needs_its_reason(client: TestClient, handlers: dict[str, User]) -> None:
    c = register(client, handlers["liu"])
    r = step(client, handlers["liu"], c["id"], "accept", accept=False, at="2026-03-11T02:00:00Z")
    assert r.status_code == 422 and r.json()["field"] == "note"


def test_acceptance_dated_before_receipt_is_refused(client: TestClient, handlers: dict[str, User]) -> None:
    c = register(client, handlers["liu"])
    r = step(client, handlers["liu"], c["id"], "accept", accept=True, at="2026-03-09T02:00:00Z")
    assert r.status_code == 422 and r.json()["field"] == "at"


def test_an_answer_dated_before_acceptance_is_refused(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    step(
        client,
        handlers["liu"],
        accepted["id"],
        "finding",
        finding="not_substantiated",
        root_cause="attitude",
        at="2026-03-12T02:00:00Z",
    )
    r = step(
        client,
        handlers["liu"],
        accepted["id"],
        "answer",
        at="2026-03-11T01:59:59Z",
        text="经调查，现答复如下。",
    )
    assert r.status_code == 422 and r.json()["field"] == "at"


def test_an_answer_at_the_moment_of_acceptance_is_taken(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    step(
        client,
        handlers["liu"],
        accepted["id"],
        "finding",
        finding="not_substantiated",
        root_cause="attitude",
        at="2026-03-11T02:00:00Z",
    )
    r = step(
        client,
        handlers["liu"],
        accepted["id"],
        "answer",
        at="2026-03-11T02:00:00Z",
        text="经调查，现答复如下。",
    )
    assert r.status_code == 200 and r.json()["status"] == "answered"


def test_an_answer_before_the_finding_is_refused(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    r = step(
        client,
        handlers["liu"],
        accepted["id"],
        "answer",
        at="2026-03-12T02:00:00Z",
        text="经调查，现答复如下。",
    )
    assert r.status_code == 422 and r.json()["field"] == "finding"


def test_assignment_to_a_unit_that_does_not_exist_is_refused(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    r = step(
        client,
        handlers["liu"],
        accepted["id"],
        "assign",
        station_code="WH-NOWHERE",
        at="2026-03-12T02:00:00Z",
    )
    assert r.status_code == 422 and r.json()["field"] == "station_code"
    ok = step(
        client, handlers["liu"], accepted["id"], "assign", station_code="WH-YL", at="2026-03-12T02:00:00Z"
    )
    assert ok.status_code == 200 and ok.json()["assigned_station"] == "WH-YL"


def ask_extension(client: TestClient, user: User, complaint_id: int, **body: Any) -> Any:
    return step(client, user, complaint_id, "extension", **{"reason": "情况复杂，需调取监控", **body})


def decide(client: TestClient, user: User, request_id: int, *, approve: bool, reason: str = "") -> Any:
    return client.post(
        f"/api/v1/supervision/requests/{request_id}/decision",
        json={"approve": approve, "reason": reason},
        headers=bearer(user),
    )


def handling_clock(client: TestClient, user: User, complaint_id: int) -> dict[str, Any]:
    r = client.get(f"/api/v1/supervision/complaints/{complaint_id}", headers=bearer(user))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = next(c for c in r.json()["clocks"] if c["rule_id"] == "petition.handling")
    return out


def test_an_extension_without_an_approver_is_forbidden(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    r = ask_extension(client, handlers["liu"], accepted["id"])
    assert r.status_code == 403 and r.json()["field"] == "approver"


def test_an_extension_naming_its_requester_as_approver_is_forbidden(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    r = ask_extension(client, handlers["liu"], accepted["id"], approver="supervisor_liu")
    assert r.status_code == 403 and r.json()["field"] == "approver"


def test_an_extension_naming_an_officer_as_approver_is_forbidden(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    r = ask_extension(client, handlers["liu"], accepted["id"], approver="officer_li")
    assert r.status_code == 403 and r.json()["field"] == "approver"


def test_an_approver_typed_into_the_extension_is_refused_naming_the_field(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    r = ask_extension(client, handlers["liu"], accepted["id"], approved_by="supervisor_zhao")
    assert r.status_code == 422 and "approved_by" in r.text


def test_an_extension_request_moves_no_clock_until_it_is_approved(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    r = ask_extension(client, handlers["liu"], accepted["id"], approver="supervisor_zhao")
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "pending" and r.json()["kind"] == "complaint_extension"
    handling = handling_clock(client, handlers["liu"], accepted["id"])
    assert handling["due_at"].startswith("2026-05-10T16:00:00") and handling["extensions"] == []
    queue = client.get("/api/v1/supervision/requests", headers=bearer(handlers["zhao"])).json()
    assert [q["id"] for q in queue] == [r.json()["id"]]


def test_an_extension_approved_in_the_queue_adds_thirty_days_once(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    req = ask_extension(client, handlers["liu"], accepted["id"], approver="supervisor_zhao").json()
    d = decide(client, handlers["zhao"], req["id"], approve=True)
    assert d.status_code == 200, d.text
    assert d.json()["state"] == "approved" and d.json()["decided_by"] == "supervisor_zhao"
    handling = handling_clock(client, handlers["liu"], accepted["id"])
    assert handling["due_at"].startswith("2026-06-09T16:00:00") and handling["extensions"] == ["complex"]
    detail = client.get(f"/api/v1/supervision/complaints/{accepted['id']}", headers=bearer(handlers["liu"]))
    ext = [s for s in detail.json()["steps"] if s["kind"] == "extension"]
    assert (
        len(ext) == 1 and ext[0]["actor"] == "supervisor_liu" and ext[0]["approved_by"] == "supervisor_zhao"
    )
    again = ask_extension(client, handlers["sun"], accepted["id"], approver="supervisor_zhao")
    assert again.status_code == 409


def test_a_refused_extension_leaves_the_clock_and_keeps_the_reason(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    req = ask_extension(client, handlers["liu"], accepted["id"], approver="supervisor_zhao").json()
    d = decide(client, handlers["zhao"], req["id"], approve=False, reason="事实清楚，应按期办结")
    assert d.status_code == 200 and d.json()["state"] == "refused"
    handling = handling_clock(client, handlers["liu"], accepted["id"])
    assert handling["extensions"] == [] and handling["due_at"].startswith("2026-05-10T16:00:00")


def test_the_requester_cannot_approve_their_own_extension(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    req = ask_extension(client, handlers["liu"], accepted["id"], approver="supervisor_zhao").json()
    assert decide(client, handlers["liu"], req["id"], approve=True).status_code == 403
    assert handling_clock(client, handlers["liu"], accepted["id"])["extensions"] == []


def test_only_the_named_approver_decides_an_extension(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    req = ask_extension(client, handlers["liu"], accepted["id"], approver="supervisor_zhao").json()
    r = decide(client, handlers["sun"], req["id"], approve=True)
    assert r.status_code == 403 and "supervisor_zhao" in r.text


def test_a_second_request_while_one_waits_is_a_conflict(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    assert (
        ask_extension(client, handlers["liu"], accepted["id"], approver="supervisor_zhao").status_code == 201
    )
    again = ask_extension(client, handlers["sun"], accepted["id"], approver="supervisor_zhao")
    assert again.status_code == 409 and again.json()["field"] == "approver"


def test_an_extension_approved_after_the_answer_is_refused_and_nothing_is_written(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    req = ask_extension(client, handlers["liu"], accepted["id"], approver="supervisor_zhao").json()
    step(
        client,
        handlers["liu"],
        accepted["id"],
        "finding",
        finding="partly",
        root_cause="delay",
        at="2026-03-12T02:00:00Z",
    )
    step(
        client,
        handlers["liu"],
        accepted["id"],
        "answer",
        at="2026-03-13T02:00:00Z",
        text="经调查，现答复如下。",
    )
    r = decide(client, handlers["zhao"], req["id"], approve=True)
    assert r.status_code == 409
    queue = client.get("/api/v1/supervision/requests", headers=bearer(handlers["zhao"])).json()
    assert [q["id"] for q in queue] == [req["id"]]


def test_the_extension_request_and_its_decision_are_audited(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    req = ask_extension(client, handlers["liu"], accepted["id"], approver="supervisor_zhao").json()
    decide(client, handlers["zhao"], req["id"], approve=True)
    with db.transaction() as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.object_id).where(
                AuditEntry.action.in_(
                    [
                        "supervision.request_filed",
                        "supervision.request_approved",
                        "supervision.complaint_extension",
                    ]
                )
            )
        ).all()
    assert {(a, who) for a, who, _ in rows} == {
        ("supervision.request_filed", "supervisor_liu"),
        ("supervision.request_approved", "supervisor_zhao"),
        ("supervision.complaint_extension", "supervisor_zhao"),
    }


def test_a_not_substantiated_finding_takes_no_points(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    step(
        client,
        handlers["liu"],
        accepted["id"],
        "finding",
        finding="not_substantiated",
        root_cause="attitude",
        at="2026-03-12T02:00:00Z",
    )
    with db.transaction() as s:
        assert (
            s.scalars(select(QualityEntry).where(QualityEntry.source == f"complaint:{accepted['id']}")).all()
            == []
        )


def test_a_substantiated_finding_deducts_from_the_officer_citing_the_complaint_and_can_be_appealed(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    r = step(
        client,
        handlers["liu"],
        accepted["id"],
        "finding",
        finding="substantiated",
        root_cause="attitude",
        at="2026-03-12T02:00:00Z",
    )
    assert r.status_code == 200 and r.json()["root_cause"] == "attitude"
    with db.transaction() as s:
        entry = s.scalars(
            select(QualityEntry).where(QualityEntry.source == f"complaint:{accepted['id']}")
        ).one()
        assert (entry.officer, entry.station_code, entry.points, entry.rule_id, entry.month) == (
            "officer_li",
            "WH-YL",
            -5,
            "complaint.substantiated",
            "2026-03",
        )
        entry_id = entry.id
    # The deductions list names the station and the rule in the reader's language, and links the complaint.
    listed = client.get(
        "/supervision/approvals?month=2026-03",
        headers={**bearer(handlers["sun"]), "Accept-Language": "zh-CN"},
    )
    assert "投诉属实" in listed.text and f'href="/complaints/{accepted["id"]}"' in listed.text
    assert "complaint.substantiated" not in listed.text
    assert "<td>玉林派出所</td>" in listed.text  # the station by its name
    filed = client.post(
        f"/api/v1/supervision/quality/{entry_id}/appeals",
        json={"points": 5, "grounds": "录音证实民警用语规范"},
        headers=bearer(handlers["li"]),
    )
    assert filed.status_code == 201 and filed.json()["case_id"] is None, filed.text
    appeal = client.post(
        f"/api/v1/supervision/requests/{filed.json()['id']}/decision",
        json={"approve": True, "reason": "录音证实民警用语规范"},
        headers=bearer(handlers["sun"]),
    )
    assert appeal.status_code == 200 and appeal.json()["result_entry_id"] is not None, appeal.text
    page = client.get(f"/complaints/{accepted['id']}", headers=bearer(handlers["sun"]))
    assert "appeal decision" in page.text


def test_a_finding_recorded_twice_is_refused(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    body = {"finding": "partly", "root_cause": "procedure", "at": "2026-03-12T02:00:00Z"}
    assert step(client, handlers["liu"], accepted["id"], "finding", **body).status_code == 200
    assert step(client, handlers["liu"], accepted["id"], "finding", **body).status_code == 409


def answered(client: TestClient, handlers: dict[str, User], complaint_id: int) -> dict[str, Any]:
    step(
        client,
        handlers["liu"],
        complaint_id,
        "finding",
        finding="not_substantiated",
        root_cause="outside_remit",
        at="2026-03-12T02:00:00Z",
    )
    r = step(
        client,
        handlers["liu"],
        complaint_id,
        "answer",
        at="2026-03-13T02:00:00Z",
        text="经调查，不属于公安机关职权范围。",
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_the_satisfaction_call_back_is_recorded_once_after_the_answer(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    answered(client, handlers, accepted["id"])
    early = step(
        client, handlers["liu"], accepted["id"], "callback", at="2026-03-12T02:00:00Z", result="satisfied"
    )
    assert early.status_code == 422 and early.json()["field"] == "at"
    ok = step(
        client, handlers["liu"], accepted["id"], "callback", at="2026-03-16T02:00:00Z", result="dissatisfied"
    )
    assert ok.status_code == 200 and ok.json()["callback_result"] == "dissatisfied"
    again = step(
        client, handlers["liu"], accepted["id"], "callback", at="2026-03-17T02:00:00Z", result="satisfied"
    )
    assert again.status_code == 409


def test_a_review_requested_within_thirty_days_starts_its_clock_and_is_decided(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    answered(client, handlers, accepted["id"])
    r = step(client, handlers["liu"], accepted["id"], "review-request", at="2026-03-18T02:00:00Z")
    assert r.status_code == 200 and r.json()["status"] == "under_review"
    review = next(c for c in r.json()["clocks"] if c["rule_id"] == "petition.review")
    assert review["due_at"].startswith("2026-04-17T16:00:00")
    d = step(
        client,
        handlers["sun"],
        accepted["id"],
        "review-decision",
        at="2026-03-19T02:00:00Z",
        outcome="upheld",
        note="维持原答复",
    )
    assert d.status_code == 200 and d.json()["status"] == "closed"


def test_a_review_requested_after_thirty_days_is_refused(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    answered(client, handlers, accepted["id"])
    later = datetime(2026, 4, 20, 2, 0, tzinfo=UTC)
    with clock.frozen(later):
        r = step(client, handlers["liu"], accepted["id"], "review-request", at="2026-04-12T16:00:01Z")
        assert r.status_code == 422 and r.json()["field"] == "at"
        ok = step(client, handlers["liu"], accepted["id"], "review-request", at="2026-04-12T16:00:00Z")
        assert ok.status_code == 200


# ------------------------------------------------------------------------------ breaches, satisfaction


def test_a_complaint_left_undecided_past_fifteen_days_is_recorded_as_a_breach_by_the_sweep(
    client: TestClient, handlers: dict[str, User]
) -> None:
    from pingan.supervision.complaints import actions, queries

    c = register(client, handlers["liu"])
    with clock.frozen(datetime(2026, 3, 25, 16, 0, 1, tzinfo=UTC)), db.transaction() as s:
        actions.do_sweep(s, now=clock.now())
    with db.transaction() as s:
        breaches = queries.breaches_of(s, c["id"])
        assert [(b.rule_id, b.met_at) for b in breaches] == [("petition.acceptance", None)]


def test_the_late_acceptance_is_noted_on_the_breach_which_stays(
    client: TestClient, handlers: dict[str, User]
) -> None:
    from pingan.supervision.complaints import actions, queries

    c = register(client, handlers["liu"], received_at="2026-03-01T01:00:00Z")  # due 2026-03-16 24:00 Beijing
    with db.transaction() as s:
        actions.do_sweep(s, now=clock.now())
    r = step(client, handlers["liu"], c["id"], "accept", accept=True, at="2026-03-18T02:00:00Z")
    assert r.status_code == 200
    with db.transaction() as s:
        (b,) = queries.breaches_of(s, c["id"])
        assert b.rule_id == "petition.acceptance" and b.met_at == datetime(2026, 3, 18, 2, 0, tzinfo=UTC)


def test_satisfaction_per_station_comes_with_its_sample_size_and_interval(
    client: TestClient, handlers: dict[str, User]
) -> None:
    for i, result in enumerate(("satisfied", "basically_satisfied", "dissatisfied", "unreachable")):
        c = register(
            client,
            handlers["liu"],
            complainant_phone=f"1390013900{i}",
            subject_kind="unit",
            subject_ref="WH-YL",
            text=f"第{i}件：在芳草街办理户口迁移被退回{i + 3}次。",
        )
        step(client, handlers["liu"], c["id"], "accept", accept=True, at="2026-03-11T02:00:00Z")
        answered(client, handlers, c["id"])
        step(client, handlers["liu"], c["id"], "callback", at="2026-03-16T02:00:00Z", result=result)
    r = client.get("/api/v1/supervision/complaints/satisfaction", headers=bearer(handlers["sun"]))
    assert r.status_code == 200
    (row,) = r.json()
    assert (row["station_code"], row["satisfied"], row["n"]) == ("WH-YL", 2, 3)
    assert round(row["low"], 4) == 0.2077 and round(row["high"], 4) == 0.9385


def test_the_bulletin_counts_the_month_with_its_rates_and_intervals(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    step(
        client,
        handlers["liu"],
        accepted["id"],
        "finding",
        finding="substantiated",
        root_cause="attitude",
        at="2026-03-12T02:00:00Z",
    )
    register(
        client,
        handlers["liu"],
        complainant_phone="13900139000",
        subject_kind="unit",
        subject_ref="WH-YL",
        text="在芳草街被交警罚款200元没有开票据。",
    )
    r = client.get("/api/v1/supervision/complaints/bulletin?month=2026-03", headers=bearer(handlers["sun"]))
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["received"] == 2 and b["received_last_year"] == 0 and b["change"] is None
    assert b["by_root_cause"] == {"attitude": 1}
    assert b["substantiated"]["count"] == 1 and b["substantiated"]["n"] == 1
    assert b["repeats"]["n"] == 2
    bad = client.get("/api/v1/supervision/complaints/bulletin?month=2026-13", headers=bearer(handlers["sun"]))
    assert bad.status_code == 422 and bad.json()["field"] == "month"
