"""Pages for the admin role (IT): the users, and deactivating one. Admins manage accounts, not cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from pingan.core.auth import User, check_deactivate_user, do_deactivate_user
from pingan.core.deps import CsrfChecked, DbSession, require_roles
from pingan.core.errors import DomainError
from pingan.core.pages import render
from pingan.core.roles import Actor, Role

router = APIRouter(include_in_schema=False)
ADMINS = frozenset({Role.ADMIN})
Admin = Annotated[Actor, Depends(require_roles(*ADMINS))]


def _users(session: DbSession) -> list[User]:
    return list(session.execute(select(User).order_by(User.role, User.username)).scalars())


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: DbSession, actor: Admin) -> HTMLResponse:
    """Every user: role, station, whether active."""
    return render(request, "admin_users.html", users=_users(session), error=None)


@router.post("/admin/users/{username}/deactivate", response_model=None)
def deactivate(
    request: Request, username: str, session: DbSession, actor: Admin, _csrf: CsrfChecked
) -> Response:
    """Deactivate a user: their tokens stop working at once (audited)."""
    try:
        with session.begin():
            user = check_deactivate_user(session, username, actor=actor)
            do_deactivate_user(session, user, actor=actor)
    except DomainError as exc:
        return render(request, "admin_users.html", 422, users=_users(session), error=str(exc))
    return RedirectResponse("/admin/users", status_code=303)
