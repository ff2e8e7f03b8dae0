"""The seized-property ledger: registration meets the 24-hour rule, photos stored under their hash,
hand-overs signed by both sides, separation of duties, check-outs, release and disposal only on an
approved request, and the reconciliation."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import User
from pingan.core.roles import Role
from pingan.core.settings import get_settings
from pingan.supervision import ledger
from tests.conftest import bearer, make_user
from tests.supervision.conftest import NOW, approved_step, decide

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def keeper_zhao(database: str) -> User:
    """The Yulin station's property custodian (保管员)."""
    return make_user("keeper_zhao", Role.OFFICER, station_code="WH-YL")


@pytest.fixture
def photo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = get_settings().model_copy(update={"property_photo_dir": tmp_path / "photos"})
    monkeypatch.setattr(ledger, "get_settings", lambda: settings)
    return tmp_path / "photos"


def seize(client: TestClient, case: dict[str, Any], user: User, label: str, at: Any) -> None:
    """The item seized at `at`, requested by `user` and approved by supervisor Liu."""
    r = approved_step(client, case, user, "supervisor_liu", kind="seizure", at=at.isoformat(), item=label)
    assert r.status_code == 200, r.text


def ask(client: TestClient, item_id: int, user: User, kind: str, approver: str = "supervisor_liu") -> Any:
    """Request the item's return (`release`) or disposal, to `approver`."""
    return client.post(
        f"/api/v1/supervision/property/{item_id}/requests",
        json={"kind": kind, "approver": approver, "grounds": "经查与案件无关，失主已核实"},
        headers=bearer(user),
    )


def close(client: TestClient, item_id: int, user: User, step: str) -> Any:
    return client.post(
        f"/api/v1/supervision/property/{item_id}/{step}",
        json={"at": NOW.isoformat(), "note": "发还失主"},
        headers=bearer(user),
    )


def register(client: TestClient, case: dict[str, Any], user: User, label: str, at: Any) -> Any:
    return client.post(
        f"/api/v1/supervision/cases/{case['id']}/property",
        json={"label": label, "description": "黑色电动车一辆", "at": at.isoformat()},
        headers=bearer(user),
    )


def hand(client: TestClient, item_id: int, user: User, **body: Any) -> Any:
    return client.post(f"/api/v1/supervision/property/{item_id}/movements", json=body, headers=bearer(user))


def confirm(client: TestClient, movement_id: int, user: User) -> Any:
    return client.post(f"/api/v1/supervision/property/movements/{movement_id}/confirm", headers=bearer(user))


def case_deadline(client: TestClient, case: dict[str, Any], user: User, rule_id: str) -> dict[str, Any]:
    full = client.get(f"/api/v1/supervision/cases/{case['id']}", headers=bearer(user)).json()
    return next(d for d in full["deadlines"] if d["rule_id"] == rule_id)


def in_store(client: TestClient, case: dict[str, Any], officer: User, keeper: User) -> int:
    seize(client, case, officer, "EB-1", NOW - timedelta(hours=30))
    item = register(client, case, officer, "EB-1", NOW - timedelta(hours=10)).json()
    move = hand(client, item["id"], officer, kind="custody", to_user="keeper_zhao", location="A-03")
    assert move.status_code == 201, move.text
    assert confirm(client, move.json()["id"], keeper).status_code == 200
    return int(item["id"])


def test_registration_meets_the_24_hour_rule_and_a_late_one_is_a_breach(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=30))
    seize(client, theft_case, officer_li, "PH-2", NOW - timedelta(hours=30))
    assert register(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=10)).status_code == 201
    full = client.get(f"/api/v1/supervision/cases/{theft_case['id']}", headers=bearer(officer_li)).json()
    reg = {d["subject"]: d for d in full["deadlines"] if d["rule_id"] == "property.registration"}
    assert reg["item:EB-1"]["status"] == "met"
    assert reg["item:PH-2"]["status"] == "breached"
    late = register(client, theft_case, officer_li, "PH-2", NOW - timedelta(hours=1))
    assert late.status_code == 201
    full = client.get(f"/api/v1/supervision/cases/{theft_case['id']}", headers=bearer(officer_li)).json()
    breach = next(b for b in full["breaches"] if b["subject"] == "item:PH-2")
    assert breach["met_at"] is not None  # the late registration is noted; the breach stays


def test_an_item_never_seized_or_registered_twice_is_refused_naming_the_field(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    r = register(client, theft_case, officer_li, "NOPE", NOW - timedelta(hours=1))
    assert r.status_code == 422 and r.json()["field"] == "label"
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=3))
    assert register(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=2)).status_code == 201
    again = register(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=1))
    assert again.status_code == 409 and again.json()["field"] == "label"


def test_a_photo_is_stored_as_a_file_under_its_sha256_and_read_back_checked(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, photo_store: Path
) -> None:
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=3))
    item = register(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=2)).json()
    r = client.post(
        f"/api/v1/supervision/property/{item['id']}/photos",
        files={"file": ("eb.png", PNG, "image/png")},
        headers=bearer(officer_li),
    )
    assert r.status_code == 201, r.text
    digest = hashlib.sha256(PNG).hexdigest()
    assert r.json()["sha256"] == digest
    stored = photo_store / digest[:2] / f"{digest}.png"
    assert stored.read_bytes() == PNG
    back = client.get(f"/api/v1/supervision/property/photos/{r.json()['id']}", headers=bearer(officer_li))
    assert back.status_code == 200 and back.content == PNG
    stored.write_bytes(PNG + b"tampered")
    tampered = client.get(f"/api/v1/supervision/property/photos/{r.json()['id']}", headers=bearer(officer_li))
    assert tampered.status_code == 409 and "SHA-256" in tampered.json()["message"]
    bad = client.post(
        f"/api/v1/supervision/property/{item['id']}/photos",
        files={"file": ("x.png", b"not an image", "image/png")},
        headers=bearer(officer_li),
    )
    assert bad.status_code == 422 and bad.json()["field"] == "file"


def test_custody_moves_only_when_the_receiver_confirms(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User, supervisor_liu: User
) -> None:
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=3))
    item = register(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=2)).json()
    move = hand(client, item["id"], officer_li, kind="custody", to_user="keeper_zhao", location="A-03").json()
    items = client.get(
        f"/api/v1/supervision/cases/{theft_case['id']}/property", headers=bearer(officer_li)
    ).json()
    assert items[0]["state"] == "registered" and items[0]["holder"] == "officer_li"
    by_other = confirm(client, move["id"], supervisor_liu)
    assert by_other.status_code == 403 and "keeper_zhao" in by_other.json()["message"]
    done = confirm(client, move["id"], keeper_zhao)
    assert done.status_code == 200
    body = done.json()
    assert (body["state"], body["holder"], body["custodian"], body["location"]) == (
        "in_store",
        "keeper_zhao",
        "keeper_zhao",
        "A-03",
    )
    assert confirm(client, move["id"], keeper_zhao).status_code == 409


def test_the_case_officer_cannot_be_the_custodian_of_its_property(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User
) -> None:
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=3))
    item = register(client, theft_case, keeper_zhao, "EB-1", NOW - timedelta(hours=2)).json()
    r = hand(client, item["id"], keeper_zhao, kind="custody", to_user="officer_li")
    assert r.status_code == 403
    assert "case officer" in r.json()["message"] and "separation of duties" in r.json()["message"]


def test_a_check_out_past_due_shows_on_the_reconciliation_until_returned(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    no_due = hand(client, item_id, keeper_zhao, kind="check_out", to_user="officer_li")
    assert no_due.status_code == 422 and no_due.json()["field"] == "due_at"
    due = NOW + timedelta(hours=2)
    out = hand(client, item_id, keeper_zhao, kind="check_out", to_user="officer_li", due_at=due.isoformat())
    assert confirm(client, out.json()["id"], officer_li).json()["state"] == "checked_out"
    from pingan.core import clock

    with clock.frozen(NOW + timedelta(hours=3)):
        lines = client.get("/api/v1/supervision/property/reconciliation", headers=bearer(keeper_zhao)).json()
        assert [(ln["label"], ln["problem"]) for ln in lines if ln["problem"] == "overdue"] == [
            ("EB-1", "overdue")
        ]
        back = hand(client, item_id, officer_li, kind="return", to_user="keeper_zhao")
        assert confirm(client, back.json()["id"], keeper_zhao).json()["state"] == "in_store"
        lines = client.get("/api/v1/supervision/property/reconciliation", headers=bearer(keeper_zhao)).json()
        assert not [ln for ln in lines if ln["problem"] == "overdue"]


def test_reconciliation_names_items_never_registered_never_received_and_unconfirmed(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User
) -> None:
    seize(client, theft_case, officer_li, "GONE", NOW - timedelta(days=3))
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(days=3))
    item = register(client, theft_case, officer_li, "EB-1", NOW - timedelta(days=2, hours=23)).json()
    from pingan.core import clock

    with clock.frozen(NOW - timedelta(days=2)):
        hand(client, item["id"], officer_li, kind="custody", to_user="keeper_zhao")
    lines = client.get("/api/v1/supervision/property/reconciliation", headers=bearer(officer_li)).json()
    found = {(ln["label"], ln["problem"]) for ln in lines}
    assert {("GONE", "never_registered"), ("EB-1", "never_received"), ("EB-1", "unconfirmed")} <= found


def test_property_found_unrelated_starts_the_3_day_clock_that_an_approved_release_meets(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User, supervisor_liu: User
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    r = client.post(
        f"/api/v1/supervision/property/{item_id}/unrelated",
        json={"at": (NOW - timedelta(hours=5)).isoformat(), "note": "失主已核实"},
        headers=bearer(officer_li),
    )
    assert r.status_code == 200, r.text
    rule = "cpl.unrelated_property_return"
    assert case_deadline(client, theft_case, officer_li, rule)["status"] == "running"
    filed = ask(client, item_id, officer_li, "release")
    assert filed.status_code == 201 and filed.json()["item_id"] == item_id
    assert decide(client, filed.json()["id"], supervisor_liu).status_code == 200
    not_custodian = close(client, item_id, officer_li, "release")
    assert not_custodian.status_code == 403
    done = close(client, item_id, keeper_zhao, "release")
    assert done.status_code == 200 and done.json()["state"] == "released"
    assert case_deadline(client, theft_case, officer_li, rule)["status"] == "met"
    full = client.get(f"/api/v1/supervision/cases/{theft_case['id']}", headers=bearer(officer_li)).json()
    [lifted] = [e for e in full["events"] if e["kind"] == "seizure_lifted"]
    assert (lifted["requested_by"], lifted["approved_by"]) == ("keeper_zhao", "supervisor_liu")


def test_a_release_without_a_request_is_refused_409_naming_why(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    r = close(client, item_id, keeper_zhao, "release")
    assert r.status_code == 409 and r.json()["field"] == "id"
    assert "no approved request to release this item" in r.json()["message"]
    assert f"/property/{item_id}/requests" in r.json()["message"]
    assert (
        client.get(
            f"/api/v1/supervision/cases/{theft_case['id']}/property", headers=bearer(officer_li)
        ).json()[0]["state"]
        == "in_store"
    )


def test_a_release_awaiting_its_decision_is_refused_409_naming_the_approver(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User, supervisor_liu: User
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    assert ask(client, item_id, officer_li, "release").status_code == 201
    r = close(client, item_id, keeper_zhao, "release")
    assert r.status_code == 409 and "awaits the decision of supervisor_liu" in r.json()["message"]
    again = ask(client, item_id, officer_li, "disposal")
    assert again.status_code == 409 and "pending already" in again.json()["message"]


def test_an_approved_release_does_not_allow_a_disposal(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User, supervisor_liu: User
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    decide(client, ask(client, item_id, officer_li, "release").json()["id"], supervisor_liu)
    r = close(client, item_id, keeper_zhao, "disposal")
    assert r.status_code == 409 and "no approved request to dispose" in r.json()["message"]


def test_a_refused_disposal_leaves_the_item_in_the_store(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User, supervisor_liu: User
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    req = ask(client, item_id, keeper_zhao, "disposal").json()
    refused = decide(client, req["id"], supervisor_liu, approve=False, reason="尚需作为证据随案移送")
    assert refused.status_code == 200 and refused.json()["state"] == "refused"
    assert close(client, item_id, keeper_zhao, "disposal").status_code == 409


def test_deciding_ones_own_property_request_is_forbidden(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User, supervisor_liu: User
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    own = ask(client, item_id, supervisor_liu, "release", approver="supervisor_liu")
    assert own.status_code == 403 and own.json()["field"] == "approver"
    req = ask(client, item_id, officer_li, "release").json()
    by_requester = decide(client, req["id"], officer_li)
    assert by_requester.status_code == 403 and "self-approval" in by_requester.json()["message"]


def test_the_custodian_cannot_approve_the_release_of_what_they_keep(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    keeper_wu = make_user("keeper_wu", Role.SUPERVISOR, station_code="WH-YL")
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=30))
    item = register(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=10)).json()
    move = hand(client, item["id"], officer_li, kind="custody", to_user="keeper_wu").json()
    assert confirm(client, move["id"], keeper_wu).status_code == 200
    r = ask(client, item["id"], officer_li, "release", approver="keeper_wu")
    assert r.status_code == 403 and r.json()["field"] == "approver" and "custodian" in r.json()["message"]


def test_an_approver_merely_named_on_a_release_is_refused_naming_the_field(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    r = client.post(
        f"/api/v1/supervision/property/{item_id}/release",
        json={"at": NOW.isoformat(), "note": "发还失主", "approved_by": "supervisor_liu"},
        headers=bearer(keeper_zhao),
    )
    assert r.status_code == 422 and "approved_by" in r.text


def test_the_receiver_signs_on_the_property_page_and_the_csv_lists_the_problems(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User
) -> None:
    from tests.supervision.test_pages import HTML, browser, csrf

    seize(client, theft_case, officer_li, "GONE", NOW - timedelta(days=3))
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=3))
    item = register(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=2)).json()
    hand(client, item["id"], officer_li, kind="custody", to_user="keeper_zhao")
    b = browser(client, keeper_zhao)
    page = b.get("/supervision/property", headers=HTML).text
    assert 'href="/supervision/property"' in page  # in the menu
    assert "EB-1" in page and "Confirm receipt" in page
    move_id = client.get(
        f"/api/v1/supervision/cases/{theft_case['id']}/property", headers=bearer(officer_li)
    ).json()[0]["movements"][0]["id"]
    r = b.post(
        f"/supervision/property/movements/{move_id}/confirm",
        data={"csrf_token": csrf(page)},
        headers=HTML,
        follow_redirects=True,
    )
    assert r.status_code == 200 and 'id="in-store">1<' in r.text
    assert "seized, never registered" in r.text
    csv_text = b.get("/supervision/property?format=csv").text
    assert "GONE" in csv_text and "seized, never registered" in csv_text
