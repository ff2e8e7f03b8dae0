"""Pages for the admin role (IT): users, and each user's role, station, password, language and
deactivation. Admins manage accounts, not cases.

Each form posts to its own route, which runs the one write path of `core.auth` (`check_*`, then
`do_*` in one transaction, audited) and answers with the page again: a success message, or the
refusal beside the field it names (status 422, 403, 404 or 409). A password is never shown again
after the answer that set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core.auth import (
    MIN_PASSWORD_LENGTH,
    User,
    check_change_role,
    check_deactivate_user,
    check_new_user,
    check_reset_password,
    check_set_locale,
    do_add_user,
    do_change_role,
    do_deactivate_user,
    do_reset_password,
    do_set_locale,
    generated_password,
)
from pingan.core.deps import CsrfChecked, DbSession, require_roles
from pingan.core.errors import DomainError, NotFound
from pingan.core.i18n import LOCALES, _
from pingan.core.org import all_stations
from pingan.core.pages import render
from pingan.core.roles import HUMAN_ROLES, Actor, Role

router = APIRouter(include_in_schema=False)
ADMINS = frozenset({Role.ADMIN})
Admin = Annotated[Actor, Depends(require_roles(*ADMINS))]
Text64 = Annotated[str, Form(max_length=64)]
Password = Annotated[str, Form(max_length=256)]


@dataclass
class Outcome:
    """What an action's answer shows: a success message, a password to hand over once, or field errors."""

    notice: str | None = None
    password: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)


def _refused(exc: DomainError, form: dict[str, str] | None = None) -> Outcome:
    return Outcome(errors={exc.field or "form": exc.message}, form=form or {})


def _users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.role, User.username)).scalars())


def _user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    return user


def _role(value: str) -> Role | None:
    return Role(value) if value in {r.value for r in HUMAN_ROLES} else None


def _list_page(request: Request, session: Session, outcome: Outcome, status: int = 200) -> HTMLResponse:
    return render(
        request,
        "admin_users.html",
        status,
        users=_users(session),
        stations=all_stations(session),
        roles=HUMAN_ROLES,
        min_password=MIN_PASSWORD_LENGTH,
        out=outcome,
    )


def _user_page(
    request: Request, session: Session, username: str, outcome: Outcome, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "admin_user.html",
        status,
        user=_user(session, username),
        stations=all_stations(session),
        roles=HUMAN_ROLES,
        locales=LOCALES,
        min_password=MIN_PASSWORD_LENGTH,
        out=outcome,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: DbSession, actor: Admin) -> HTMLResponse:
    """Every user: role, station, whether active; and the form to add one."""
    with session.begin():
        return _list_page(request, session, Outcome())


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    session: DbSession,
    actor: Admin,
    _csrf: CsrfChecked,
    username: Text64 = "",
    display_name: Text64 = "",
    role: Annotated[str, Form(max_length=32)] = "",
    station_code: Annotated[str, Form(max_length=32)] = "",
    password: Password = "",
) -> HTMLResponse:
    """Add a user (audited); a blank password is generated and shown once."""
    form = {"username": username, "display_name": display_name, "role": role, "station_code": station_code}
    chosen = _role(role)
    if chosen is None:
        with session.begin():
            return _list_page(
                request, session, Outcome(errors={"role": _("Choose a role from the list.")}, form=form), 422
            )
    given = password or generated_password()
    try:
        with session.begin():
            check_new_user(
                session, username=username, role=chosen, password=given, station_code=station_code or None
            )
            do_add_user(
                session,
                username=username,
                role=chosen,
                password=given,
                actor=actor,
                display_name=display_name.strip(),
                station_code=station_code or None,
            )
    except DomainError as exc:
        session.rollback()
        with session.begin():
            return _list_page(request, session, _refused(exc, form), exc.status)
    with session.begin():
        return _user_page(
            request,
            session,
            username,
            Outcome(
                notice=_("User %(name)s added.") % {"name": username}, password=None if password else given
            ),
        )


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, username: str, session: DbSession, actor: Admin) -> HTMLResponse:
    """One user, with the forms to change their role and station, password and language, or deactivate them."""
    with session.begin():
        return _user_page(request, session, username, Outcome())


@router.post("/admin/users/{username}/role", response_class=HTMLResponse)
def change_role(
    request: Request,
    username: str,
    session: DbSession,
    actor: Admin,
    _csrf: CsrfChecked,
    role: Annotated[str, Form(max_length=32)] = "",
    station_code: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    """Give a user another role or station (audited); a new role ends their current logins."""
    chosen = _role(role)
    if chosen is None:
        with session.begin():
            errors = {"role": _("Choose a role from the list.")}
            return _user_page(request, session, username, Outcome(errors=errors), 422)
    try:
        with session.begin():
            user = check_change_role(
                session, username, role=chosen, station_code=station_code or None, actor=actor
            )
            do_change_role(session, user, role=chosen, station_code=station_code or None, actor=actor)
    except DomainError as exc:
        session.rollback()
        with session.begin():
            return _user_page(request, session, username, _refused(exc), exc.status)
    with session.begin():
        notice = _("Role and station of %(name)s saved.") % {"name": username}
        return _user_page(request, session, username, Outcome(notice=notice))


@router.post("/admin/users/{username}/password", response_class=HTMLResponse)
def reset_password(
    request: Request,
    username: str,
    session: DbSession,
    actor: Admin,
    _csrf: CsrfChecked,
    password: Password = "",
) -> HTMLResponse:
    """Set a user's password (audited): the admin's, which must meet the policy, or a generated one shown once."""
    given = password or generated_password()
    try:
        with session.begin():
            user = check_reset_password(session, username, given, actor=actor)
            do_reset_password(session, user, given, actor=actor)
    except DomainError as exc:
        session.rollback()
        with session.begin():
            return _user_page(request, session, username, _refused(exc), exc.status)
    with session.begin():
        notice = _("Password of %(name)s set.") % {"name": username}
        return _user_page(
            request, session, username, Outcome(notice=notice, password=None if password else given)
        )


@router.post("/admin/users/{username}/locale", response_class=HTMLResponse)
def set_locale(
    request: Request,
    username: str,
    session: DbSession,
    actor: Admin,
    _csrf: CsrfChecked,
    locale: Annotated[str, Form(max_length=16)] = "",
) -> HTMLResponse:
    """Set the language of a user's pages (audited)."""
    try:
        with session.begin():
            user = check_set_locale(session, username, locale, actor=actor)
            do_set_locale(session, user, locale, actor=actor)
    except DomainError as exc:
        session.rollback()
        with session.begin():
            return _user_page(request, session, username, _refused(exc), exc.status)
    with session.begin():
        notice = _("Language of %(name)s saved.") % {"name": username}
        return _user_page(request, session, username, Outcome(notice=notice))


@router.post("/admin/users/{username}/deactivate", response_class=HTMLResponse)
def deactivate(
    request: Request, username: str, session: DbSession, actor: Admin, _csrf: CsrfChecked
) -> HTMLResponse:
    """Deactivate a user: their tokens stop working at once (audited)."""
    try:
        with session.begin():
            user = check_deactivate_user(session, username, actor=actor)
            do_deactivate_user(session, user, actor=actor)
    except DomainError as exc:
        session.rollback()
        with session.begin():
            return _list_page(request, session, _refused(exc), exc.status)
    with session.begin():
        notice = _("%(name)s deactivated: their logins have ended.") % {"name": username}
        return _list_page(request, session, Outcome(notice=notice))
