"""Login (OAuth2 password flow) and who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from pingan.core import db
from pingan.core.auth import (
    authenticate,
    client_address,
    do_revoke_token,
    issue_token,
    request_token,
    require_roles,
)
from pingan.core.deps import DbSession
from pingan.core.roles import HUMAN_ROLES, Actor
from pingan.core.settings import get_settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    """A bearer token and how long it lives."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    role: str


class WhoAmI(BaseModel):
    """The caller's identity, with their station and whether they see the whole district."""

    username: str
    role: str
    station_code: str | None = None
    district_wide: bool = False


@router.post("/token", response_model=TokenOut)
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: DbSession,
) -> TokenOut:
    """Exchange a username and password for a short-lived bearer token (open to everyone: it is the login).

    Failed attempts are throttled per username and per client address (429 while throttled).
    """
    user = authenticate(session, form.username, form.password, client=client_address(request))
    return TokenOut(
        access_token=issue_token(user), expires_in=get_settings().token_ttl_minutes * 60, role=user.role.value
    )


@router.post("/logout", status_code=204)
def logout(request: Request, actor: Annotated[Actor, Depends(require_roles(*HUMAN_ROLES))]) -> None:
    """Revoke the caller's token: it stops working at once, before its expiry."""
    token = request_token(request)
    assert token is not None  # require_roles admitted the request with it
    with db.transaction() as session:
        do_revoke_token(session, token)


@router.get("/me", response_model=WhoAmI)
def me(actor: Annotated[Actor, Depends(require_roles(*HUMAN_ROLES))]) -> WhoAmI:
    """Who the token belongs to."""
    return WhoAmI(
        username=actor.username,
        role=actor.role.value,
        station_code=actor.station_code,
        district_wide=actor.district_wide,
    )
