"""The pages every role shares: log in, log out, and the vendored scripts (htmx, ECharts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from pingan.core import db
from pingan.core.auth import (
    TOKEN_COOKIE,
    actor_from_token,
    authenticate,
    client_address,
    do_revoke_token,
    issue_token,
)
from pingan.core.deps import CsrfChecked, DbSession
from pingan.core.errors import TooManyAttempts, Unauthorized
from pingan.core.i18n import _, label, use_locale
from pingan.core.pages import ECHARTS_JS, HTMX_JS, cookies_secure, render
from pingan.core.settings import get_settings
from pingan.web.navigation import LANDING

router = APIRouter(include_in_schema=False)


@router.get("/static/vendor/htmx.min.js")
def htmx_js() -> Response:
    """htmx, installed from the npm registry by `make` (package.json); pages work without it."""
    if not HTMX_JS.exists():
        return Response(status_code=404)
    return FileResponse(HTMX_JS, media_type="application/javascript")


@router.get("/static/vendor/echarts.min.js")
def echarts_js() -> Response:
    """Apache ECharts, installed from the npm registry by `make` (package.json), for the charts."""
    if not ECHARTS_JS.exists():
        return Response(status_code=404)
    return FileResponse(ECHARTS_JS, media_type="application/javascript")


def _safe_next(target: str) -> str:
    # Only same-site paths: an open redirect after login would be a phishing gift.
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", next=_safe_next(next), error=None, actor=None)


@router.post("/login", response_model=None)
def login_submit(
    request: Request,
    _csrf: CsrfChecked,
    session: DbSession,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials and set the token cookie."""
    try:
        user = authenticate(session, username, password, client=client_address(request))
    except (Unauthorized, TooManyAttempts) as exc:
        return render(request, "login.html", 401, next=_safe_next(next), error=exc.message, actor=None)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        issue_token(user),
        httponly=True,
        samesite="strict",
        secure=cookies_secure(),
        max_age=get_settings().token_ttl_minutes * 60,
    )
    return response


@router.post("/logout")
def logout(request: Request, _csrf: CsrfChecked) -> RedirectResponse:
    """End the session: revoke the token, so a copy of it no longer works, and drop the cookie."""
    if (token := request.cookies.get(TOKEN_COOKIE)) is not None:
        with db.transaction() as session:
            do_revoke_token(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/", response_model=None)
def home(request: Request) -> Response:
    """Each role's daily work: "/" sends the user to their landing page, or to log in."""
    token = request.cookies.get(TOKEN_COOKIE)
    if token is None:
        return RedirectResponse("/login", status_code=303)
    with db.read_transaction() as session:
        try:
            actor = actor_from_token(session, token)
        except Unauthorized:
            return RedirectResponse("/login", status_code=303)
    request.state.actor = actor
    if (landing := LANDING.get(actor.role)) is not None:
        return RedirectResponse(landing, status_code=303)
    use_locale(actor.locale)
    return render(
        request,
        "error.html",
        status=200,
        title=_("Welcome"),
        message=_("The pages of the %(role)s role are not built yet.") % {"role": label(actor.role)},
    )
