"""Logging in resists guessing: failures are throttled per username and per address, a lockout is
audited, unknown usernames behave like known ones, and a token ends at logout or deactivation."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from pingan.cli import app as cli
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import (
    LOGIN_WINDOW,
    MAX_FAILURES_PER_CLIENT,
    MAX_FAILURES_PER_USER,
    User,
    issue_token,
    login_throttle,
)
from pingan.core.pages import csrf_token_for

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
RIGHT = "correct horse battery"


def _login(client: TestClient, username: str, password: str) -> int:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    return r.status_code


def _lockouts() -> list[AuditEntry]:
    with db.read_transaction() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == "login.lockout")).scalars())


def test_four_recent_failures_still_allow_a_fifth_try() -> None:
    failures = [NOW - timedelta(minutes=m) for m in (1, 2, 3, 4)]
    assert login_throttle(failures, failures, now=NOW).allowed


def test_the_fifth_failure_in_the_window_closes_the_username_until_the_oldest_leaves_it() -> None:
    failures = [NOW - timedelta(minutes=m) for m in (1, 2, 3, 4, 10)]
    throttle = login_throttle(failures, [], now=NOW)
    assert not throttle.allowed
    assert throttle.until == NOW - timedelta(minutes=10) + LOGIN_WINDOW
    assert "username" in throttle.reason


def test_failures_older_than_the_window_do_not_count() -> None:
    old = [NOW - LOGIN_WINDOW - timedelta(seconds=s) for s in range(1, 30)]
    assert login_throttle(old, old, now=NOW).allowed


def test_an_address_is_closed_after_its_limit_whatever_usernames_it_tried() -> None:
    failures = [NOW - timedelta(seconds=s) for s in range(MAX_FAILURES_PER_CLIENT)]
    throttle = login_throttle([], failures, now=NOW)
    assert not throttle.allowed
    assert "address" in throttle.reason


def test_repeated_wrong_passwords_lock_the_account_even_against_the_right_one(
    client: TestClient, officer_li: User
) -> None:
    for _ in range(MAX_FAILURES_PER_USER):
        assert _login(client, "officer_li", "wrong password") == 401
    assert _login(client, "officer_li", RIGHT) == 429
    [lockout] = _lockouts()
    assert (lockout.object_type, lockout.object_id) == ("username", "officer_li")


def test_an_unknown_username_is_refused_and_locked_exactly_like_a_known_one(client: TestClient) -> None:
    codes = [_login(client, "nobody_here", "wrong password") for _ in range(MAX_FAILURES_PER_USER + 1)]
    assert codes == [401] * MAX_FAILURES_PER_USER + [429]


def test_a_successful_login_clears_the_failures_and_is_audited(client: TestClient, officer_li: User) -> None:
    for _ in range(MAX_FAILURES_PER_USER - 1):
        _login(client, "officer_li", "wrong password")
    assert _login(client, "officer_li", RIGHT) == 200
    assert _login(client, "officer_li", "wrong password") == 401
    assert _login(client, "officer_li", RIGHT) == 200
    with db.read_transaction() as s:
        logins = s.execute(select(AuditEntry).where(AuditEntry.action == "user.login")).scalars().all()
    assert len(logins) == 2


def test_a_wrong_username_costs_as_long_as_a_wrong_password(client: TestClient, officer_li: User) -> None:
    def timed(username: str) -> float:
        start = time.perf_counter()
        assert _login(client, username, "wrong password") == 401
        return time.perf_counter() - start

    known = statistics.median(timed("officer_li") for _ in range(3))
    unknown = statistics.median(timed(f"ghost_{i}") for i in range(3))
    # Without the dummy hash an unknown name answers in about 1 % of an Argon2 check.
    assert unknown > known * 0.5


def test_a_token_stops_working_after_logout(client: TestClient, officer_li: User) -> None:
    token = issue_token(officer_li)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401
    assert "revoked" in r.json()["message"]


def test_the_logout_page_revokes_the_cookie_token(client: TestClient, officer_li: User) -> None:
    token = issue_token(officer_li)
    client.cookies.set("pingan_token", token)
    form_token = csrf_token_for(client.get("/login").cookies["pingan_csrf"])
    r = client.post("/logout", data={"csrf_token": form_token}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_deactivated_users_token_stops_working_at_once(client: TestClient, officer_li: User) -> None:
    headers = {"Authorization": f"Bearer {issue_token(officer_li)}"}
    result = CliRunner().invoke(cli, ["users", "deactivate", "officer_li"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    with db.read_transaction() as s:
        assert s.execute(select(AuditEntry).where(AuditEntry.action == "user.deactivate")).first()
