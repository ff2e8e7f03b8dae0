"""The dispute page's forms: the agreement with its terms, and the steps after it (follow-up visit,
judicial confirmation applied for, domestic-violence steps, recoveries). They go through the same checks
as the API, and a refusal shows the page again with the field named and nothing written."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient

from pingan.core.auth import User, issue_token
from pingan.core.roles import Role
from tests.community.conftest import HTML, dispute_body
from tests.conftest import make_user


def _browser(client: TestClient, user: User) -> TestClient:
    client.headers.pop("Authorization", None)
    client.cookies.set("pingan_token", issue_token(user))
    return client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _alert(page: str) -> str:
    """The refusal the page shows, as the user reads it."""
    found = re.search(r'role="alert">(.*?)</p>', page, re.S)
    assert found is not None, "no refusal shown"
    return html.unescape(found.group(1))


def _dispute(api: TestClient, **over: Any) -> int:
    r = api.post("/api/v1/disputes", json=dispute_body(**over))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _form(browser: TestClient, dispute_id: int) -> tuple[str, str]:
    page = browser.get(f"/community/disputes/{dispute_id}", headers=HTML)
    assert page.status_code == 200
    return page.text, _csrf(page.text)


def test_an_agreement_recorded_on_the_page_stops_mediation_and_starts_the_follow_up(
    api: TestClient, mediator_wang: User
) -> None:
    dispute_id = _dispute(api)
    b = _browser(api, mediator_wang)
    page, token = _form(b, dispute_id)
    assert f'action="/community/disputes/{dispute_id}/agreement"' in page
    r = b.post(
        f"/community/disputes/{dispute_id}/agreement",
        data={"csrf_token": token, "terms": "楼上修好水管，赔偿800元", "agreed_at": "2026-12-02T15:00"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    after = b.get(r.headers["location"], headers=HTML).text
    assert "楼上修好水管，赔偿800元" in after
    assert "follow-up visit" in after and "judicial confirmation" in after
    assert f'action="/community/disputes/{dispute_id}/agreement"' not in after  # agreed once


def test_an_agreement_dated_before_the_intake_comes_back_naming_agreed_at(
    api: TestClient, mediator_wang: User
) -> None:
    dispute_id = _dispute(api)
    b = _browser(api, mediator_wang)
    _page, token = _form(b, dispute_id)
    r = b.post(
        f"/community/disputes/{dispute_id}/agreement",
        data={"csrf_token": token, "terms": "赔偿800元", "agreed_at": "2026-11-29T09:00"},
        headers=HTML,
    )
    assert r.status_code == 422 and 'role="alert"' in r.text and "agreed_at" in r.text
    assert "赔偿800元" in r.text  # what was typed is kept
    api.headers.update({"Authorization": f"Bearer {issue_token(mediator_wang)}"})
    assert api.get(f"/api/v1/disputes/{dispute_id}").json()["status"] == "open"  # nothing written


def test_an_agreement_without_terms_comes_back_naming_terms(api: TestClient, mediator_wang: User) -> None:
    dispute_id = _dispute(api)
    b = _browser(api, mediator_wang)
    _page, token = _form(b, dispute_id)
    r = b.post(
        f"/community/disputes/{dispute_id}/agreement",
        data={"csrf_token": token, "terms": "  ", "agreed_at": ""},
        headers=HTML,
    )
    assert r.status_code == 422 and "'terms'" in _alert(r.text)


def test_a_follow_up_and_a_confirmation_application_recorded_on_the_page_meet_their_clocks(
    api: TestClient, mediator_wang: User
) -> None:
    dispute_id = _dispute(api)
    api.post(
        f"/api/v1/disputes/{dispute_id}/agreement",
        json={"terms": "赔偿800元", "agreed_at": "2026-12-01T02:00:00+00:00"},
    )
    b = _browser(api, mediator_wang)
    for kind, at in (("follow_up_visit", "2026-12-04T10:00"), ("confirmation_applied", "2026-12-05T10:00")):
        _page, token = _form(b, dispute_id)
        r = b.post(
            f"/community/disputes/{dispute_id}/steps",
            data={"csrf_token": token, "kind": kind, "at": at, "note": "回访双方"},
            headers=HTML,
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    api.headers.update({"Authorization": f"Bearer {issue_token(mediator_wang)}"})
    clocks = {c["kind"]: c for c in api.get(f"/api/v1/disputes/{dispute_id}").json()["clocks"]}
    assert clocks["follow_up"]["state"] == "met"
    assert clocks["follow_up"]["met_at"].startswith("2026-12-04T02:00")  # 10:00 Beijing
    assert clocks["confirmation"]["state"] == "met"


def test_a_follow_up_before_any_agreement_comes_back_naming_the_step(
    api: TestClient, mediator_wang: User
) -> None:
    dispute_id = _dispute(api)
    b = _browser(api, mediator_wang)
    _page, token = _form(b, dispute_id)
    r = b.post(
        f"/community/disputes/{dispute_id}/steps",
        data={"csrf_token": token, "kind": "follow_up_visit", "at": "2026-12-04T10:00"},
        headers=HTML,
    )
    assert r.status_code == 409 and "'kind'" in _alert(r.text) and "no agreement yet" in r.text


def test_a_step_time_that_is_not_a_time_comes_back_naming_at(api: TestClient, mediator_wang: User) -> None:
    dispute_id = _dispute(api, kind="family", domestic_violence=True)
    b = _browser(api, mediator_wang)
    page, token = _form(b, dispute_id)
    assert 'value="dv_warning_issued"' in page  # a domestic-violence case offers its steps
    r = b.post(
        f"/community/disputes/{dispute_id}/steps",
        data={"csrf_token": token, "kind": "dv_warning_issued", "at": "yesterday"},
        headers=HTML,
    )
    assert r.status_code == 422 and "'at'" in _alert(r.text)


def test_wages_recovered_beyond_what_is_owed_come_back_naming_the_amount(
    api: TestClient, mediator_wang: User
) -> None:
    dispute_id = _dispute(api, kind="wage_arrears", employer="蓉城建筑劳务公司", owed_fen=800_000)
    b = _browser(api, mediator_wang)
    _page, token = _form(b, dispute_id)
    r = b.post(
        f"/community/disputes/{dispute_id}/steps",
        data={"csrf_token": token, "kind": "recovered", "recovered_yuan": "9000"},
        headers=HTML,
    )
    assert (
        r.status_code == 422 and "'recovered_yuan'" in _alert(r.text) and "more recovered than owed" in r.text
    )
    ok = b.post(
        f"/community/disputes/{dispute_id}/steps",
        data={"csrf_token": token, "kind": "recovered", "recovered_yuan": "3000.50"},
        headers=HTML,
        follow_redirects=True,
    )
    assert ok.status_code == 200 and "¥3,000.50" in ok.text


def test_a_legal_supervisor_may_not_record_an_agreement(api: TestClient, mediator_wang: User) -> None:
    dispute_id = _dispute(api)
    b = _browser(api, mediator_wang)
    _page, token = _form(b, dispute_id)
    outsider = make_user("legal_qian", Role.LEGAL_SUPERVISOR)
    b.cookies.set("pingan_token", issue_token(outsider))
    r = b.post(
        f"/community/disputes/{dispute_id}/agreement",
        data={"csrf_token": token, "terms": "赔偿800元"},
        headers=HTML,
    )
    assert r.status_code == 403


def test_the_dispute_forms_read_in_chinese(api: TestClient, mediator_wang: User) -> None:
    dispute_id = _dispute(api)
    b = _browser(api, mediator_wang)
    page = b.get(f"/community/disputes/{dispute_id}", headers={**HTML, "Accept-Language": "zh-CN"}).text
    assert "记录调解协议" in page and "协议内容" in page and "记录步骤" in page
