"""The supervision pages: the legal office's landing list, a case with its live deadlines and forms,
the warnings, and the rule pack with its citations, in English and Chinese."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import User, issue_token
from pingan.supervision.pack import in_force
from tests.conftest import bearer
from tests.supervision.conftest import NOW, decide
from tests.supervision.conftest import detain as approved_detention

HTML = {"Accept": "text/html,application/xhtml+xml"}


def browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def detain(client: TestClient, case: dict[str, Any], user: User, at: Any) -> None:
    """The suspect detained at `at`: requested by `user`, approved by supervisor Liu in the queue."""
    r = approved_detention(client, case, user, at)
    assert r.status_code == 200, r.text


def test_the_legal_supervisor_lands_on_the_case_list_with_the_menu(
    client: TestClient, theft_case: dict[str, Any], legal_sun: User
) -> None:
    b = browser(client, legal_sun)
    landing = b.get("/", headers=HTML, follow_redirects=False)
    assert (landing.status_code, landing.headers["location"]) == (303, "/supervision")
    page = b.get("/supervision", headers=HTML).text
    assert f'href="/supervision/cases/{theft_case["id"]}"' in page
    for href in ("/supervision/warnings", "/supervision/rules"):
        assert f'href="{href}"' in page


def test_the_case_list_refuses_an_unknown_kind_filter_naming_it(client: TestClient, legal_sun: User) -> None:
    r = browser(client, legal_sun).get("/supervision?kind=traffic", headers=HTML)
    assert r.status_code == 400 and 'role="alert"' in r.text and "kind" in r.text


def test_the_case_page_counts_down_to_each_deadline(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(hours=2))
    page = browser(client, officer_li).get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert 'data-due="2026-03-23T16:00:00+00:00"' in page  # the arrest request, 3 days from the next day
    assert "CPL art. 91 para. 1" in page and "/static/countdown.js" in page
    assert "王五" not in page  # the suspect's name shows masked


def test_a_measure_before_the_case_opened_comes_back_with_the_reason(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    b = browser(client, officer_li)
    token = csrf(b.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text)
    form = {
        "csrf_token": token,
        "kind": "summons",
        "at": "2026-03-01T09:00",
        "party_id": str(theft_case["suspect_id"]),
    }
    r = b.post(f"/supervision/cases/{theft_case['id']}/events", data=form, headers=HTML)
    assert r.status_code == 422 and "before its case was opened" in r.text


def test_a_seizure_sent_from_the_page_appears_on_the_timeline_once_approved(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, supervisor_liu: User
) -> None:
    b = browser(client, officer_li)
    token = csrf(b.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text)
    form = {
        "csrf_token": token,
        "kind": "seizure",
        "at": "2026-03-20T09:30",
        "item": "电动车一辆",
        "approver": "supervisor_liu",
    }
    r = b.post(
        f"/supervision/cases/{theft_case['id']}/requests", data=form, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    [req] = client.get("/api/v1/supervision/requests", headers=bearer(supervisor_liu)).json()
    assert decide(client, req["id"], supervisor_liu).status_code == 200
    page = browser(client, officer_li).get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert "电动车一辆" in page and "supervisor_liu" in page
    assert 'data-due="2026-03-21T01:30:00+00:00"' in page  # registered within 24 h


def test_a_measure_needing_approval_recorded_on_the_page_comes_back_403_naming_why(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    b = browser(client, officer_li)
    page = b.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    form = {"csrf_token": csrf(page), "kind": "seizure", "at": "2026-03-20T09:30", "item": "电动车一辆"}
    r = b.post(f"/supervision/cases/{theft_case['id']}/events", data=form, headers=HTML)
    assert r.status_code == 403 and "needs a superior&#39;s approval" in r.text
    assert "电动车一辆" not in r.text  # neither on the timeline nor among the seized items


def test_the_warnings_page_lists_a_deadline_due_soon(
    client: TestClient, theft_case: dict[str, Any], officer_li: User, supervisor_liu: User
) -> None:
    detain(client, theft_case, officer_li, NOW - timedelta(hours=20))
    page = browser(client, supervisor_liu).get("/supervision/warnings", headers=HTML).text
    assert theft_case["number"] in page and "Family notified within 24 hours of criminal detention" in page


def test_the_rule_pack_page_cites_every_rule(client: TestClient, legal_sun: User) -> None:
    page = browser(client, legal_sun).get("/supervision/rules", headers=HTML).text
    for rule in in_force().rules:
        assert f'id="{rule.id}"' in page
    assert "CPL art. 156" in page and "article to be confirmed" in page


@pytest.mark.browser_language("zh-CN")
def test_the_rule_pack_page_reads_in_chinese(client: TestClient, legal_sun: User) -> None:
    page = browser(client, legal_sun).get("/supervision/rules", headers=HTML).text
    assert "期限规则库" in page and "拘留后三日内提请批准逮捕" in page and "县级以上公安机关负责人" in page


def test_a_case_opened_on_the_form_lands_on_its_page(
    client: TestClient, station_yulin: Any, officer_li: User, supervisor_liu: User
) -> None:
    b = browser(client, officer_li)
    token = csrf(b.get("/supervision/cases/new", headers=HTML).text)
    form = {
        "csrf_token": token,
        "number": "A5101072026030099",
        "kind": "administrative",
        "title": "殴打他人案",
        "station_code": "WH-YL",
        "officer": "officer_li",
        "supervisor": "supervisor_liu",
        "opened_at": "2026-03-19T09:00",
    }
    r = b.post("/supervision/cases", data=form, headers=HTML, follow_redirects=True)
    assert r.status_code == 200 and "A5101072026030099" in r.text
    assert 'data-due="2026-04-18T16:00:00+00:00"' in r.text  # 30 days from the next day, to 04-18 24:00


def test_a_case_form_naming_oneself_as_supervisor_comes_back_with_the_reason(
    client: TestClient, station_yulin: Any, officer_li: User, supervisor_liu: User
) -> None:
    b = browser(client, officer_li)
    token = csrf(b.get("/supervision/cases/new", headers=HTML).text)
    form = {
        "csrf_token": token,
        "number": "A-2",
        "kind": "criminal",
        "title": "盗窃案",
        "station_code": "WH-YL",
        "officer": "officer_li",
        "supervisor": "officer_li",
        "opened_at": "2026-03-19T09:00",
    }
    r = b.post("/supervision/cases", data=form, headers=HTML)
    assert r.status_code == 422 and 'role="alert"' in r.text and "盗窃案" in r.text


def test_closing_the_case_on_its_page_removes_the_step_form(
    client: TestClient, theft_case: dict[str, Any], officer_li: User
) -> None:
    b = browser(client, officer_li)
    token = csrf(b.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text)
    form = {"csrf_token": token, "at": "2026-03-20T09:00", "note": "撤销案件"}
    r = b.post(f"/supervision/cases/{theft_case['id']}/close", data=form, headers=HTML, follow_redirects=True)
    assert r.status_code == 200 and f'action="/supervision/cases/{theft_case["id"]}/events"' not in r.text
