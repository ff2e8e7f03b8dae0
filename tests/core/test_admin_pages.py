"""The admin's user pages: add, deactivate, reset a password, change role, station and language.
Each action goes through core.auth's one write path, is audited, answers with a success message, and
names the field it refuses."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User, authenticate, issue_token
from pingan.core.errors import Unauthorized
from pingan.core.org import Station
from pingan.core.roles import Role
from tests.conftest import make_user

HTML = {"Accept": "text/html"}
STRONG = "lantern-orchard-1947"


@pytest.fixture
def admin(client: TestClient, database: str) -> TestClient:
    """A browser logged in as admin_it, holding a form token."""
    user = make_user("admin_it", Role.ADMIN)
    client.cookies.set("pingan_token", issue_token(user))
    page = client.get("/admin/users", headers=HTML)
    client.headers["X-Test-Csrf"] = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return client


def _post(client: TestClient, path: str, **form: str) -> object:
    return client.post(path, data={"csrf_token": client.headers["X-Test-Csrf"], **form}, headers=HTML)


def _user(username: str) -> User | None:
    with db.read_transaction() as s:
        return s.execute(select(User).where(User.username == username)).scalar_one_or_none()


def _audited(action: str) -> list[AuditEntry]:
    with db.read_transaction() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def _can_log_in(username: str, password: str) -> bool:
    with db.new_session() as s:
        try:
            authenticate(s, username, password)
        except Unauthorized:
            return False
    return True


def test_an_admin_adds_a_user_with_role_station_and_password(
    admin: TestClient, station_yulin: Station
) -> None:
    r = _post(admin, "/admin/users", username="officer_zhao", display_name="赵警官", role="officer",
              station_code="WH-YL", password=STRONG)  # fmt: skip
    assert r.status_code == 200 and "用户 officer_zhao 已添加。" in r.text
    user = _user("officer_zhao")
    assert user is not None and (user.role, user.station_code, user.display_name) == (
        Role.OFFICER,
        "WH-YL",
        "赵警官",
    )
    assert _can_log_in("officer_zhao", STRONG)
    assert [json.loads(e.detail) for e in _audited("user.add") if e.actor == "admin_it"] == [
        {"role": "officer"}
    ]


def test_a_blank_password_is_generated_and_shown_once(admin: TestClient) -> None:
    r = _post(admin, "/admin/users", username="analyst_qian", role="antifraud_analyst")
    password = r.text.split('<code class="secret">')[1].split("</code>")[0]
    assert _can_log_in("analyst_qian", password)
    assert password not in admin.get("/admin/users/analyst_qian", headers=HTML).text


def test_a_weak_password_gets_a_field_message_and_no_user(admin: TestClient) -> None:
    r = _post(admin, "/admin/users", username="officer_zhao", role="officer", password="short")
    assert r.status_code == 422
    assert 'id="err-password"' in r.text and "密码至少需要 12 个字符" in r.text
    assert 'value="officer_zhao"' in r.text  # the form keeps what was typed
    assert _user("officer_zhao") is None


def test_a_station_that_does_not_exist_gets_a_field_message(admin: TestClient) -> None:
    r = _post(
        admin,
        "/admin/users",
        username="officer_zhao",
        role="officer",
        station_code="NOWHERE",
        password=STRONG,
    )
    assert r.status_code == 422 and 'id="err-station_code"' in r.text
    assert _user("officer_zhao") is None


def test_a_taken_username_and_a_missing_role_are_named(admin: TestClient) -> None:
    make_user("officer_wu", Role.OFFICER)
    taken = _post(admin, "/admin/users", username="officer_wu", role="officer", password=STRONG)
    assert taken.status_code == 409 and 'id="err-username"' in taken.text
    no_role = _post(admin, "/admin/users", username="officer_zhao", role="system", password=STRONG)
    assert no_role.status_code == 422 and 'id="err-role"' in no_role.text


def test_an_admin_resets_a_password_to_one_of_their_choosing(admin: TestClient) -> None:
    make_user("officer_wu", Role.OFFICER)
    r = _post(admin, "/admin/users/officer_wu/password", password=STRONG)
    assert r.status_code == 200 and "officer_wu 的密码已设置。" in r.text
    assert _can_log_in("officer_wu", STRONG) and not _can_log_in("officer_wu", "correct horse battery")
    (entry,) = _audited("user.reset_password")
    assert STRONG not in entry.detail


def test_a_reset_to_a_weak_password_is_refused_with_a_field_message(admin: TestClient) -> None:
    make_user("officer_wu", Role.OFFICER)
    r = _post(admin, "/admin/users/officer_wu/password", password="officer_wu-2026-x")
    assert r.status_code == 422 and 'id="err-password"' in r.text and "密码不能包含用户名" in r.text
    assert _can_log_in("officer_wu", "correct horse battery") and _audited("user.reset_password") == []


def test_a_generated_reset_password_is_shown_once_and_works(admin: TestClient) -> None:
    make_user("officer_wu", Role.OFFICER)
    r = _post(admin, "/admin/users/officer_wu/password")
    password = r.text.split('<code class="secret">')[1].split("</code>")[0]
    assert _can_log_in("officer_wu", password)


def test_a_new_role_and_station_are_saved_audited_and_end_the_old_logins(
    admin: TestClient, station_yulin: Station
) -> None:
    officer = make_user("officer_wu", Role.OFFICER)
    old_token = issue_token(officer)
    r = _post(admin, "/admin/users/officer_wu/role", role="supervisor", station_code="WH-YL")
    assert r.status_code == 200 and "officer_wu 的角色与派出所已保存。" in r.text
    user = _user("officer_wu")
    assert user is not None and (user.role, user.station_code) == (Role.SUPERVISOR, "WH-YL")
    (entry,) = _audited("user.change_role")
    assert json.loads(entry.detail)["after"] == {"role": "supervisor", "station": "WH-YL"}
    assert admin.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401


def test_an_admin_cannot_take_away_their_own_role(admin: TestClient) -> None:
    r = _post(admin, "/admin/users/admin_it/role", role="officer")
    assert r.status_code == 409 and 'id="err-role"' in r.text
    assert _user("admin_it").role is Role.ADMIN  # type: ignore[union-attr]


def test_an_admin_sets_a_users_language(admin: TestClient) -> None:
    make_user("officer_wu", Role.OFFICER)
    r = _post(admin, "/admin/users/officer_wu/locale", locale="en")
    assert r.status_code == 200 and _user("officer_wu").locale == "en"  # type: ignore[union-attr]
    assert '<html lang="zh-CN">' in r.text  # the admin's own pages keep the admin's language


def test_an_admin_cannot_deactivate_themselves(admin: TestClient) -> None:
    r = _post(admin, "/admin/users/admin_it/deactivate")
    assert r.status_code == 409 and 'id="err-username"' in r.text
    assert _user("admin_it").active  # type: ignore[union-attr]


def test_a_form_without_its_token_is_refused(admin: TestClient) -> None:
    r = admin.post(
        "/admin/users", data={"username": "x_user", "role": "officer", "password": STRONG}, headers=HTML
    )
    assert r.status_code == 403 and _user("x_user") is None


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/admin/users"), ("get", "/admin/users/officer_wu"), ("post", "/admin/users"),
     ("post", "/admin/users/officer_wu/password"), ("post", "/admin/users/officer_wu/role")],
)  # fmt: skip
def test_a_non_admin_gets_403(client: TestClient, database: str, method: str, path: str) -> None:
    supervisor = make_user("supervisor_liu", Role.SUPERVISOR)
    make_user("officer_wu", Role.OFFICER)
    client.cookies.set("pingan_token", issue_token(supervisor))
    page = client.get("/me/settings", headers=HTML)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.request(
        method.upper(), path, data={"csrf_token": token, "password": STRONG, "role": "admin"}, headers=HTML
    )
    assert r.status_code == 403
    assert _user("officer_wu").role is Role.OFFICER  # type: ignore[union-attr]
