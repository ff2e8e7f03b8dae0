"""The case page's seized-property forms: register an item, hand it over, confirm receipt, find it
unrelated, ask a superior to approve its return or disposal, and carry out the approved one. Each posts
to the same actions as the API; a refusal shows the case page again with the reason, and nothing is
written."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from pingan.core.auth import User
from tests.conftest import bearer
from tests.supervision.conftest import NOW
from tests.supervision.test_ledger import case_deadline, keeper_zhao, seize  # noqa: F401 - fixture
from tests.supervision.test_pages import HTML, browser, csrf


def _alert(page: str) -> str:
    """The refusal the page shows, as the user reads it."""
    found = re.search(r'role="alert">(.*?)</p>', page, re.S)
    assert found is not None, "no refusal shown"
    return html.unescape(found.group(1))


def _items(client: TestClient, case: dict[str, Any], user: User) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/supervision/cases/{case['id']}/property", headers=bearer(user))
    assert r.status_code == 200
    return list(r.json())


def _post(b: TestClient, case: dict[str, Any], path: str, data: dict[str, str]) -> Any:
    token = csrf(b.get(f"/supervision/cases/{case['id']}", headers=HTML).text)
    return b.post(path, data={"csrf_token": token, **data}, headers=HTML, follow_redirects=False)


def test_an_item_registered_on_the_case_page_meets_the_24_hour_rule(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=5))
    b = browser(client, officer_li)
    page = b.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert f'action="/supervision/cases/{theft_case["id"]}/property"' in page
    assert '<option value="EB-1">' in page  # the seizure not yet registered is offered
    r = _post(
        b,
        theft_case,
        f"/supervision/cases/{theft_case['id']}/property",
        {"label": "EB-1", "description": "黑色电动车一辆", "quantity": "1", "at": "2026-03-20T08:00"},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#property")
    [item] = _items(client, theft_case, officer_li)
    assert (item["label"], item["state"], item["holder"]) == ("EB-1", "registered", "officer_li")
    assert case_deadline(client, theft_case, officer_li, "property.registration")["status"] == "met"


def test_registering_an_item_never_seized_comes_back_naming_the_label(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    b = browser(client, officer_li)
    r = _post(
        b,
        theft_case,
        f"/supervision/cases/{theft_case['id']}/property",
        {"label": "手机", "description": "苹果手机一部", "quantity": "1", "at": "2026-03-20T08:00"},
    )
    assert r.status_code == 422 and 'role="alert"' in r.text and "'label'" in _alert(r.text)
    assert _items(client, theft_case, officer_li) == []


def test_a_short_description_comes_back_naming_the_field(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=5))
    r = _post(
        browser(client, officer_li),
        theft_case,
        f"/supervision/cases/{theft_case['id']}/property",
        {"label": "EB-1", "description": "车", "quantity": "1", "at": "2026-03-20T08:00"},
    )
    assert r.status_code == 422 and "'description'" in _alert(r.text)


def _registered(client: TestClient, case: dict[str, Any], officer: User) -> int:
    seize(client, case, officer, "EB-1", NOW - timedelta(hours=30))
    r = client.post(
        f"/api/v1/supervision/cases/{case['id']}/property",
        json={
            "label": "EB-1",
            "description": "黑色电动车一辆",
            "at": (NOW - timedelta(hours=10)).isoformat(),
        },
        headers=bearer(officer),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_a_hand_over_on_the_page_moves_the_item_when_the_keeper_confirms_there(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,  # noqa: F811
) -> None:
    item_id = _registered(client, theft_case, officer_li)
    b = browser(client, officer_li)
    r = _post(
        b,
        theft_case,
        f"/supervision/property/{item_id}/movements",
        {"kind": "custody", "to_user": "keeper_zhao", "location": "A-03", "due_at": "", "note": ""},
    )
    assert r.status_code == 303, r.text
    [item] = _items(client, theft_case, officer_li)
    assert item["holder"] == "officer_li"  # not moved until the receiver signs
    move_id = item["movements"][0]["id"]
    keeper_page = browser(client, keeper_zhao).get(f"/supervision/cases/{theft_case['id']}", headers=HTML)
    assert f"/supervision/property/movements/{move_id}/receive" in keeper_page.text
    signed = _post(
        browser(client, keeper_zhao), theft_case, f"/supervision/property/movements/{move_id}/receive", {}
    )
    assert signed.status_code == 303, signed.text
    [item] = _items(client, theft_case, officer_li)
    assert (item["state"], item["holder"], item["custodian"]) == ("in_store", "keeper_zhao", "keeper_zhao")


def test_a_hand_over_to_oneself_comes_back_naming_to_user(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    item_id = _registered(client, theft_case, officer_li)
    r = _post(
        browser(client, officer_li),
        theft_case,
        f"/supervision/property/{item_id}/movements",
        {"kind": "custody", "to_user": "officer_li"},
    )
    assert r.status_code == 422 and "'to_user'" in _alert(r.text) and "oneself" in r.text


def test_the_case_officer_named_custodian_on_the_page_gets_403_and_another_confirming_is_refused(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    supervisor_liu: User,
    keeper_zhao: User,  # noqa: F811
) -> None:
    item_id = _registered(client, theft_case, officer_li)
    client.post(
        f"/api/v1/supervision/property/{item_id}/movements",
        json={"kind": "custody", "to_user": "keeper_zhao"},
        headers=bearer(officer_li),
    )
    [item] = _items(client, theft_case, officer_li)
    move_id = item["movements"][0]["id"]
    r = _post(
        browser(client, supervisor_liu), theft_case, f"/supervision/property/movements/{move_id}/receive", {}
    )
    assert r.status_code == 403 and "keeper_zhao" in r.text


def _in_store(client: TestClient, case: dict[str, Any], officer: User, keeper: User) -> int:
    item_id = _registered(client, case, officer)
    move = client.post(
        f"/api/v1/supervision/property/{item_id}/movements",
        json={"kind": "custody", "to_user": "keeper_zhao"},
        headers=bearer(officer),
    ).json()
    client.post(f"/api/v1/supervision/property/movements/{move['id']}/confirm", headers=bearer(keeper))
    return item_id


def test_a_return_asked_on_the_page_approved_in_the_queue_and_carried_out_meets_the_3_day_clock(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,  # noqa: F811
    supervisor_liu: User,
) -> None:
    item_id = _in_store(client, theft_case, officer_li, keeper_zhao)
    ob = browser(client, officer_li)
    found = _post(
        ob,
        theft_case,
        f"/supervision/property/{item_id}/unrelated",
        {"at": "2026-03-20T09:00", "note": "失主已核实"},
    )
    assert found.status_code == 303, found.text
    rule = "cpl.unrelated_property_return"
    assert case_deadline(client, theft_case, officer_li, rule)["status"] == "running"
    asked = _post(
        ob,
        theft_case,
        f"/supervision/property/{item_id}/requests",
        {"kind": "release", "approver": "supervisor_liu", "grounds": "经查与案件无关"},
    )
    assert asked.status_code == 303, asked.text
    kb = browser(client, keeper_zhao)
    waiting = kb.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert f'action="/supervision/property/{item_id}/release"' not in waiting
    assert "awaits the decision of supervisor_liu" in waiting
    sb = browser(client, supervisor_liu)
    queue = sb.get("/supervision/approvals", headers=HTML).text
    [req_id] = re.findall(r'action="/supervision/requests/(\d+)/decision"', queue)
    approved = sb.post(
        f"/supervision/requests/{req_id}/decision",
        data={"csrf_token": csrf(queue), "decision": "approve", "reason": ""},
        headers=HTML,
        follow_redirects=False,
    )
    assert approved.status_code == 303, approved.text
    kb = browser(client, keeper_zhao)
    page = kb.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert f'action="/supervision/property/{item_id}/release"' in page
    done = _post(
        kb,
        theft_case,
        f"/supervision/property/{item_id}/release",
        {"at": "2026-03-20T09:30", "note": "发还失主"},
    )
    assert done.status_code == 303, done.text
    assert _items(client, theft_case, officer_li)[0]["state"] == "released"
    assert case_deadline(client, theft_case, officer_li, rule)["status"] == "met"


def test_a_disposal_posted_on_the_page_without_an_approved_request_comes_back_409_naming_why(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,  # noqa: F811
) -> None:
    item_id = _in_store(client, theft_case, officer_li, keeper_zhao)
    kb = browser(client, keeper_zhao)
    page = kb.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert f'action="/supervision/property/{item_id}/disposal"' not in page  # no form without approval
    assert f'action="/supervision/property/{item_id}/requests"' in page
    r = _post(
        kb,
        theft_case,
        f"/supervision/property/{item_id}/disposal",
        {"at": "2026-03-20T09:30", "note": "依法没收"},
    )
    assert r.status_code == 409 and "no approved request to dispose of this item" in _alert(r.text)
    assert _items(client, theft_case, officer_li)[0]["state"] == "in_store"


def test_a_property_request_naming_oneself_comes_back_403_naming_approver(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,  # noqa: F811
    supervisor_liu: User,
) -> None:
    item_id = _in_store(client, theft_case, officer_li, keeper_zhao)
    r = _post(
        browser(client, supervisor_liu),
        theft_case,
        f"/supervision/property/{item_id}/requests",
        {"kind": "disposal", "approver": "supervisor_liu", "grounds": "依法没收"},
    )
    assert r.status_code == 403 and "'approver'" in _alert(r.text)


def test_an_auditor_sees_the_items_but_no_property_form(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    from pingan.core.roles import Role
    from tests.conftest import make_user

    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=5))
    auditor = make_user("auditor_qin", Role.AUDITOR)
    page = browser(client, auditor).get(f"/supervision/cases/{theft_case['id']}", headers=HTML)
    assert page.status_code == 200 and 'id="property-items"' in page.text
    assert f'action="/supervision/cases/{theft_case["id"]}/property"' not in page.text


def test_the_property_forms_read_in_chinese(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=5))
    page = browser(client, officer_li).get(
        f"/supervision/cases/{theft_case['id']}", headers={**HTML, "Accept-Language": "zh-CN"}
    )
    assert "登记涉案财物" in page.text and "审批申请" in page.text and "提交审批人" in page.text
