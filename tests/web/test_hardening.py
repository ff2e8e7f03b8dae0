"""The pages resist cross-site requests and framing, keep personal data out of caches, and hide the
API's map from anonymous visitors outside demo mode."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from pingan.core import settings as settings_module
from pingan.core.auth import User, issue_token
from pingan.core.pages import csrf_protect, csrf_token_for
from pingan.web.app import create_app

RIGHT = "correct horse battery"


def _form_token(client: TestClient) -> str:
    page = client.get("/login")
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]


def test_a_login_form_post_without_its_token_is_refused(client: TestClient, officer_li: User) -> None:
    r = client.post("/login", data={"username": "officer_li", "password": RIGHT}, follow_redirects=False)
    assert r.status_code == 403
    assert r.json()["field"] == "csrf_token"


def test_a_login_form_post_with_the_pages_token_logs_in(client: TestClient, officer_li: User) -> None:
    token = _form_token(client)
    r = client.post(
        "/login",
        data={"username": "officer_li", "password": RIGHT, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "pingan_token" in r.cookies


def test_a_token_made_for_another_browsers_cookie_is_refused(client: TestClient, officer_li: User) -> None:
    _form_token(client)
    foreign = csrf_token_for("another-browsers-nonce")
    r = client.post("/login", data={"username": "officer_li", "password": RIGHT, "csrf_token": foreign})
    assert r.status_code == 403


def test_a_cookie_authenticated_page_post_needs_the_token(client: TestClient, officer_li: User) -> None:
    client.cookies.set("pingan_token", issue_token(officer_li))
    r = client.post("/warnings/visits/1/accept", follow_redirects=False)
    assert r.status_code == 403
    assert r.json()["field"] == "csrf_token"


def _form_routes() -> Iterator[APIRoute]:
    stack = list(create_app().routes)
    while stack:
        route = stack.pop()
        stack.extend(getattr(getattr(route, "original_router", None), "routes", []))
        if isinstance(route, APIRoute) and "POST" in route.methods and not route.include_in_schema:
            yield route


def _depends_on(route: APIRoute, call: object) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is call:
            return True
        stack.extend(dep.dependencies)
    return False


def test_every_form_post_of_every_page_checks_the_csrf_token() -> None:
    routes = list(_form_routes())
    assert len(routes) >= 10
    unchecked = sorted(r.path for r in routes if not _depends_on(r, csrf_protect))
    assert unchecked == []


def test_pages_and_api_answers_are_not_cached_nor_framed(client: TestClient, officer_li: User) -> None:
    for r in (
        client.get("/login"),
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issue_token(officer_li)}"}),
    ):
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_no_page_template_has_an_inline_script(client: TestClient) -> None:
    # The policy forbids inline scripts; one left in a template would silently stop working. A JSON
    # data block (`type="application/json"`) is data, not a script: the policy lets the page read it.
    # A `*_document.html` is a self-contained file written for printing or saving (the monthly report's
    # PDF and folder), never served under the page policy, so it carries its scripts inline.
    from pingan.core.pages import template_dirs

    inline = [
        str(p.name)
        for d in template_dirs()
        for p in d.glob("*.html")
        if not p.name.endswith("_document.html")
        and re.search(
            r'<script(?![^>]*\b(?:src=|type="application/json"))[^>]*>', p.read_text(encoding="utf-8")
        )
    ]
    assert inline == []


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PINGAN_DEMO", "0")
    monkeypatch.delenv("PINGAN_API_DOCS_PUBLIC", raising=False)
    settings_module.get_settings.cache_clear()
    yield
    settings_module.get_settings.cache_clear()


def test_outside_demo_mode_the_api_docs_need_a_login(
    production: None, database: str, officer_li: User
) -> None:
    with TestClient(create_app(), base_url="https://testserver") as c:
        assert c.get("/openapi.json", follow_redirects=False).status_code == 401
        browser = c.get("/docs", headers={"Accept": "text/html"}, follow_redirects=False)
        assert (browser.status_code, browser.headers["location"]) == (303, "/login?next=/docs")
        ok = c.get("/openapi.json", headers={"Authorization": f"Bearer {issue_token(officer_li)}"})
        assert ok.status_code == 200
        assert "/api/v1/fraud-reports" in ok.json()["paths"]


def test_outside_demo_mode_the_login_cookie_is_secure(
    production: None, client: TestClient, officer_li: User
) -> None:
    token = _form_token(client)
    r = client.post(
        "/login",
        data={"username": "officer_li", "password": RIGHT, "csrf_token": token},
        follow_redirects=False,
    )
    assert "secure" in r.headers["set-cookie"].lower()
