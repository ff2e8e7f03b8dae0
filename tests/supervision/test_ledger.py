"""The seized-property ledger: registration meets the 24-hour rule, photos stored under their hash,
hand-overs signed by both sides, separation of duties, check-outs, release, and the reconciliation."""

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
from tests.supervision.conftest import NOW

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
    r = client.post(
        f"/api/v1/supervision/cases/{case['id']}/events",
        json={"kind": "seizure", "at": at.isoformat(), "item": label, "approved_by": "supervisor_liu"},
        headers=bearer(user),
    )
    assert r.status_code == 201, r.text


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


def test_property_found_unrelated_starts_the_3_day_clock_that_release_meets(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, keeper_zhao: User, supervisor_liu: User
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    r = client.post(
        f"/api/v1/supervision/property/{item_id}/unrelated",
        json={"at": (NOW - timedelta(hours=5)).isoformat(), "note": "失主已核实"},
        headers=bearer(officer_li),
    )
    assert r.status_code == 200, r.text
    assert (
        case_deadline(client, theft_case, officer_li, "cpl.unrelated_property_return")["status"] == "running"
    )
    unapproved = client.post(
        f"/api/v1/supervision/property/{item_id}/release",
        json={"at": NOW.isoformat(), "note": "发还失主"},
        headers=bearer(keeper_zhao),
    )
    assert unapproved.status_code == 422 and unapproved.json()["field"] == "approved_by"
    not_custodian = client.post(
        f"/api/v1/supervision/property/{item_id}/release",
        json={"at": NOW.isoformat(), "note": "发还失主", "approved_by": "supervisor_liu"},
        headers=bearer(officer_li),
    )
    assert not_custodian.status_code == 403
    done = client.post(
        f"/api/v1/supervision/property/{item_id}/release",
        json={"at": NOW.isoformat(), "note": "发还失主", "approved_by": "supervisor_liu"},
        headers=bearer(keeper_zhao),
    )
    assert done.status_code == 200 and done.json()["state"] == "released"
    assert case_deadline(client, theft_case, officer_li, "cpl.unrelated_property_return")["status"] == "met"


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
