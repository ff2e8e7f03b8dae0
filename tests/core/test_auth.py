"""Users log in with a password and get a short-lived token; every endpoint admits only its roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pingan.cli import app as cli
from pingan.core import clock, db
from pingan.core.auth import (
    User,
    actor_from_token,
    hash_password,
    issue_token,
    password_problem,
    username_problem,
)
from pingan.core.roles import HUMAN_ROLES, Role
from pingan.core.settings import Settings
from pingan.web.app import create_app
from tests.conftest import make_user


def _admitted_roles(route: APIRoute) -> frozenset[Role] | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "pingan_roles", None)
        if roles is not None:
            return frozenset(roles)
        stack.extend(dep.dependencies)
    return None


# "/" only redirects: to the login form, or to the landing page of the token's role (checked there).
OPEN_ROUTES = {
    ("POST", "/api/v1/auth/token"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/"),
}
OPEN_PREFIXES = ("/docs", "/redoc", "/openapi.json", "/metrics", "/healthz", "/static")


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also those inside included routers (newer FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _protected_routes() -> list[tuple[str, str, frozenset[Role]]]:
    out = []
    for route in _api_routes(create_app().routes):
        for method in sorted(route.methods):
            if (method, route.path) in OPEN_ROUTES or route.path.startswith(OPEN_PREFIXES):
                continue
            roles = _admitted_roles(route)
            assert roles is not None, f"{method} {route.path} declares no roles"
            out.append((method, route.path, roles))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_endpoint_declares_the_roles_it_admits() -> None:
    routes = _protected_routes()
    assert len(routes) >= 8
    assert all(roles for _, _, roles in routes)


def test_every_endpoint_refuses_a_request_without_a_token(client: TestClient) -> None:
    for method, path, _roles in _protected_routes():
        r = client.request(method, _concrete(path), follow_redirects=False)
        assert r.status_code == 401, f"{method} {path} gave {r.status_code}"
        if not path.startswith("/api/"):
            # A browser asking for the page is sent to the login form instead.
            page = client.request(
                method, _concrete(path), headers={"Accept": "text/html"}, follow_redirects=False
            )
            assert page.status_code == 303 and page.headers["location"].startswith("/login"), (
                f"{method} {path}"
            )


def test_every_endpoint_refuses_a_role_it_does_not_admit(client: TestClient) -> None:
    users = {role: make_user(f"u_{role.value}", role) for role in HUMAN_ROLES}
    for method, path, roles in _protected_routes():
        outsider = next((r for r in HUMAN_ROLES if r not in roles), None)
        if outsider is None:
            continue
        token = issue_token(users[outsider])
        r = client.request(
            method, _concrete(path), headers={"Authorization": f"Bearer {token}"}, follow_redirects=False
        )
        assert r.status_code == 403, f"{method} {path} let {outsider.value} through ({r.status_code})"


def test_login_returns_a_bearer_token_that_opens_the_api(client: TestClient, officer_li: User) -> None:
    r = client.post(
        "/api/v1/auth/token", data={"username": "officer_li", "password": "correct horse battery"}
    )
    assert r.status_code == 200
    token = r.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {
        "username": "officer_li",
        "role": "officer",
        "station_code": "WH-YL",
        "district_wide": False,
    }


def test_the_actor_of_a_token_carries_the_users_station_and_district_grant(officer_li: User) -> None:
    with db.transaction() as s:
        user = s.get(User, officer_li.id)
        assert user is not None
        user.district_wide = True
    with db.transaction() as s:
        actor = actor_from_token(s, issue_token(officer_li))
    assert (actor.station_code, actor.district_grant, actor.district_wide) == ("WH-YL", True, True)


def test_a_wrong_password_gets_401(client: TestClient, officer_li: User) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "officer_li", "password": "wrong password"})
    assert r.status_code == 401


def test_a_token_expires_after_its_lifetime(client: TestClient, officer_li: User) -> None:
    t0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    with clock.frozen(t0):
        token = issue_token(officer_li)
    with clock.frozen(t0 + timedelta(minutes=31)):
        r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert "expired" in r.json()["message"]


def test_a_token_signed_with_another_key_is_refused(client: TestClient, officer_li: User) -> None:
    import jwt

    forged = jwt.encode(
        {"sub": "officer_li", "role": "admin", "exp": 4102444800},
        "a-guessed-key-of-a-respectable-length",
        algorithm="HS256",
    )
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_passwords_are_stored_as_argon2_hashes() -> None:
    assert hash_password("correct horse battery").startswith("$argon2id$")


def test_users_add_creates_a_user_with_a_role(database: str) -> None:
    result = CliRunner().invoke(
        cli, ["users", "add", "officer_wu", "--role", "officer", "--password", "long enough pw"]
    )
    assert result.exit_code == 0, result.output
    assert "officer_wu" in result.output


def test_users_add_refuses_a_short_password_naming_the_field(database: str) -> None:
    result = CliRunner().invoke(
        cli, ["users", "add", "officer_wu", "--role", "officer", "--password", "short"]
    )
    assert result.exit_code == 2
    assert "password" in result.output


def test_a_password_of_eleven_characters_is_too_short() -> None:
    assert password_problem("officer_wu", "elevenchars") == "a password has at least 12 characters"
    assert password_problem("officer_wu", "twelve chars") is None


def test_a_commonly_used_password_is_refused_whatever_its_case() -> None:
    assert "commonly used" in (password_problem("officer_wu", "Password1234") or "")
    assert "commonly used" in (password_problem("officer_wu", "woaini1314520") or "")


def test_a_password_repeating_one_character_or_holding_the_username_is_refused() -> None:
    assert password_problem("officer_wu", "aaaaaaaaaaaaaaa") is not None
    assert password_problem("officer_wu", "my officer_wu pass") is not None


@pytest.mark.parametrize("name", ["robot", "system", "bank:ICBC", "Robot", "import", "demo-feed"])
def test_a_person_cannot_take_the_name_of_a_platform_robot_or_a_bank(name: str) -> None:
    assert "platform robot or bank" in (username_problem(name) or "")


def test_users_add_refuses_a_robots_name_naming_the_field(database: str) -> None:
    result = CliRunner().invoke(
        cli, ["users", "add", "robot", "--role", "officer", "--password", "long enough pw"]
    )
    assert result.exit_code == 2
    assert "username" in result.output


def test_the_server_refuses_to_start_with_demo_keys_outside_demo_mode() -> None:
    with pytest.raises(SystemExit, match="refusing to start"):
        Settings(demo=False).check_production_keys()


def test_demo_mode_allows_the_demo_keys() -> None:
    Settings(demo=True).check_production_keys()


def test_real_keys_are_accepted_outside_demo_mode() -> None:
    Settings(
        demo=False,
        secret_key="s" * 48,
        pii_hmac_key="h" * 48,
        pii_enc_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        audit_key="a" * 48,
    ).check_production_keys()


def test_the_demo_audit_key_alone_is_refused_outside_demo_mode() -> None:
    with pytest.raises(SystemExit, match="PINGAN_AUDIT_KEY"):
        Settings(
            demo=False,
            secret_key="s" * 48,
            pii_hmac_key="h" * 48,
            pii_enc_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ).check_production_keys()


def test_the_asgi_entry_point_refuses_demo_keys_outside_demo_mode() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGAN_")}
    proc = subprocess.run(
        [sys.executable, "-c", "import pingan.web.main"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "refusing to start" in proc.stderr
