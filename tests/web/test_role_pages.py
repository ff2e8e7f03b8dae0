"""Every role that logs in lands on its work, sees a menu of only the pages it may open, and gets a
page (not raw JSON) when it asks for one it may not."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import User, issue_token
from pingan.core.roles import Role
from tests.conftest import make_user

# A browser that names no language: pingan answers in Chinese.
pytestmark = pytest.mark.browser_language(None)

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        (Role.ANTIFRAUD_ANALYST, "/antifraud"),
        (Role.SUPERVISOR, "/findings"),
        (Role.OFFICER, "/reports"),
        (Role.AUDITOR, "/audit"),
        (Role.ADMIN, "/admin/users"),
    ],
)
def test_each_role_lands_on_its_own_work(client: TestClient, database: str, role: Role, landing: str) -> None:
    r = _browser(client, make_user(f"user_{role.value}", role)).get("/", headers=HTML, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, landing)
    page = client.get(landing, headers=HTML)
    assert page.status_code == 200
    assert "退出" in page.text


def test_a_visitor_without_a_login_is_sent_to_the_login_form(client: TestClient, database: str) -> None:
    r = client.get("/", headers=HTML, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")


def test_a_page_the_role_may_not_open_is_an_html_page_with_the_menu_and_logout(
    client: TestClient, database: str
) -> None:
    auditor = make_user("auditor_sun", Role.AUDITOR)
    r = _browser(client, auditor).get("/reports", headers=HTML)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "无权访问" in r.text and 'href="/audit"' in r.text and "退出" in r.text


def test_the_menu_links_only_to_pages_the_role_may_open(client: TestClient, database: str) -> None:
    officer = make_user("officer_wu", Role.OFFICER)
    page = _browser(client, officer).get("/reports", headers=HTML).text
    assert 'href="/reports"' in page
    assert (
        'href="/findings"' not in page and 'href="/audit"' not in page and 'href="/admin/users"' not in page
    )


def test_an_api_client_still_gets_the_json_error(client: TestClient, database: str) -> None:
    auditor = make_user("auditor_sun", Role.AUDITOR)
    r = client.get("/api/v1/fraud-reports", headers={"Authorization": f"Bearer {issue_token(auditor)}"})
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"


def test_the_auditor_reads_the_log_on_a_page_and_verifies_the_chain(
    client: TestClient, database: str
) -> None:
    auditor = make_user("auditor_sun", Role.AUDITOR)
    page = _browser(client, auditor).get("/audit?verify=true", headers=HTML)
    assert page.status_code == 200
    assert "审计链完整" in page.text
    assert "user.add" in page.text


def test_an_admin_deactivates_a_user_from_the_users_page(client: TestClient, database: str) -> None:
    admin = make_user("admin_it", Role.ADMIN)
    make_user("officer_wu", Role.OFFICER)
    page = _browser(client, admin).get("/admin/users", headers=HTML)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/admin/users/officer_wu/deactivate", data={"csrf_token": token}, headers=HTML)
    assert r.status_code == 200 and "已停用 officer_wu" in r.text
    assert "已停用" in client.get("/admin/users", headers=HTML).text
