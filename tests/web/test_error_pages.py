"""A browser that hits an error gets a page in the site's layout, with the menu and logout (or the
login form for 401); an API client gets the JSON error. A fault of ours (500) never shows its traceback."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import issue_token
from pingan.core.roles import Role
from tests.conftest import make_user

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
SECRET = "db password is hunter2"


@pytest.fixture
def faulty(database: str) -> Iterator[TestClient]:
    """The app with one page and one API route that fail with a bug of ours."""
    from pingan.web.app import create_app

    app = create_app()

    @app.get("/broken-page")
    def broken_page() -> None:
        raise RuntimeError(SECRET)

    @app.get("/api/v1/broken")
    def broken_api() -> None:
        raise RuntimeError(SECRET)

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


def _logged_in(client: TestClient, role: Role = Role.OFFICER) -> TestClient:
    client.cookies.set("pingan_token", issue_token(make_user(f"user_{role.value}", role)))
    return client


def _is_layout_page_with_menu(text: str) -> bool:
    return (
        re.search(r'<html lang="[a-zA-Z-]+">', text) is not None
        and '<nav id="menu"' in text
        and 'action="/logout"' in text
    )


def test_a_browser_without_a_login_is_sent_to_the_login_form_with_its_page_remembered(
    client: TestClient, database: str
) -> None:
    r = client.get("/reports", headers=HTML, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/reports")


def test_an_api_client_without_a_login_gets_401_json(client: TestClient, database: str) -> None:
    r = client.get("/api/v1/fraud-reports", headers=JSON)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_a_page_the_role_may_not_open_is_a_403_page_with_the_menu(client: TestClient, database: str) -> None:
    r = _logged_in(client, Role.AUDITOR).get("/reports", headers=HTML)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert _is_layout_page_with_menu(r.text) and 'href="/audit"' in r.text


@pytest.mark.parametrize("path", ["/no-such-page", "/reports/987654"])
def test_a_missing_page_or_object_is_a_404_page_with_the_menu(
    client: TestClient, database: str, path: str
) -> None:
    r = _logged_in(client).get(path, headers=HTML)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert _is_layout_page_with_menu(r.text) and 'href="/reports"' in r.text


def test_an_api_client_gets_404_as_json(client: TestClient, database: str) -> None:
    r = _logged_in(client).get("/no-such-page", headers=JSON)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_a_malformed_address_is_a_422_page_naming_the_parameter(client: TestClient, database: str) -> None:
    r = _logged_in(client).get("/reports/not-a-number", headers=HTML)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert _is_layout_page_with_menu(r.text) and "report_id" in r.text


def test_an_api_client_gets_422_as_json_naming_the_field(client: TestClient, database: str) -> None:
    r = _logged_in(client).get("/api/v1/fraud-reports/not-a-number", headers=JSON)
    assert r.status_code == 422 and r.json()["field"] == "report_id"


def test_a_fault_of_ours_is_a_500_page_with_the_menu_and_no_traceback(faulty: TestClient) -> None:
    r = _logged_in(faulty).get("/broken-page", headers=HTML)
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert _is_layout_page_with_menu(r.text)
    assert SECRET not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text


def test_a_fault_of_ours_is_500_json_for_an_api_client_without_a_traceback(faulty: TestClient) -> None:
    r = _logged_in(faulty).get("/api/v1/broken", headers=JSON)
    assert r.status_code == 500 and r.json() == {"error": "internal", "message": "internal server error"}
