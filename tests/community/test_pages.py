"""The mediator's pages: the queue, a dispute with its timeline and factors, the factor table, wage
arrears and the monthly figures; each from the officer's menu."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pingan.core.auth import User, issue_token
from pingan.web.navigation import MENU
from tests.community.conftest import HTML, dispute_body


def _browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


def test_the_officer_menu_reaches_every_mediation_page(api: TestClient, mediator_wang: User) -> None:
    api.post("/api/v1/disputes", json=dispute_body())
    officer_menu = {item.href for item in MENU if mediator_wang.role in item.roles}
    pages = ["/community", "/community/wages", "/community/monthly", "/community/factors"]
    assert set(pages) <= officer_menu
    browser = _browser(api, mediator_wang)
    for page in pages:
        r = browser.get(page, headers=HTML)
        assert r.status_code == 200, page


def test_the_queue_puts_a_red_dispute_first_and_its_page_shows_the_factors_and_timeline(
    api: TestClient, mediator_wang: User
) -> None:
    blue = api.post("/api/v1/disputes", json=dispute_body()).json()
    red = api.post(
        "/api/v1/disputes",
        json=dispute_body(kind="family", domestic_violence=True, risk={"threats": True, "weapons": True}),
    ).json()
    browser = _browser(api, mediator_wang)
    queue = browser.get("/community", headers=HTML).text
    assert queue.index(f'/community/disputes/{red["id"]}"') < queue.index(
        f'/community/disputes/{blue["id"]}"'
    )
    assert "home visit within hours" in queue
    page = browser.get(f"/community/disputes/{red['id']}", headers=HTML).text
    assert 'id="factors"' in page and "weapons" in page and "risk graded" in page
    assert "张**" in page and "张伟" not in page
    assert "written warning" in page  # the domestic-violence clock


def test_the_wage_page_lists_the_biggest_open_case_first(api: TestClient, mediator_wang: User) -> None:
    for employer, owed in (("蓉城建筑劳务公司", 800_000), ("锦江餐饮公司", 2_500_000)):
        api.post(
            "/api/v1/disputes",
            json=dispute_body(kind="wage_arrears", employer=employer, owed_fen=owed),
        )
    page = _browser(api, mediator_wang).get("/community/wages", headers=HTML).text
    assert page.index("锦江餐饮公司") < page.index("蓉城建筑劳务公司")
    assert "¥25,000.00" in page


def test_the_monthly_page_counts_intake_and_escalations(api: TestClient, mediator_wang: User) -> None:
    d = api.post("/api/v1/disputes", json=dispute_body()).json()
    api.post(f"/api/v1/disputes/{d['id']}/steps", json={"kind": "escalated", "note": "持刀伤人"})
    page = _browser(api, mediator_wang).get("/community/monthly", headers=HTML).text
    assert "2026-11" in page and 'id="community-charts"' in page
    assert '<span class="tag warn">1</span>' in page


def _csrf(page: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_intake_form_takes_in_a_graded_dispute_and_names_a_bad_field(
    client: TestClient, mediator_wang: User
) -> None:
    browser = _browser(client, mediator_wang)
    token = _csrf(browser.get("/community/disputes/new", headers=HTML).text)
    form = {
        "csrf_token": token,
        "kind": "family",
        "station_code": "WH-YL",
        "address": "玉林北路2号",
        "applicant_name": "张伟",
        "applicant_phone": "13800001111",
        "respondent_name": "李娜",
        "respondent_phone": "",
        "mediator_station": "王警官",
        "threats": "1",
        "weapons": "1",
        "domestic_violence": "1",
        "repeated_calls": "2",
    }
    made = browser.post("/community/disputes", data=form, headers=HTML, follow_redirects=False)
    assert made.status_code == 303, made.text
    page = browser.get(made.headers["location"], headers=HTML).text
    assert "home visit within hours" in page and "王警官" in page
    bad = browser.post("/community/disputes", data={**form, "applicant_phone": "12"}, headers=HTML)
    assert bad.status_code == 422 and "parties.0.phone" in bad.text
    bad = browser.post("/community/disputes", data={**form, "owed_yuan": "lots"}, headers=HTML)
    assert bad.status_code == 422 and "owed_yuan" in bad.text
