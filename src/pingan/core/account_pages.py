"""A user's own settings page (`/me/settings`): the language of their pages."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from pingan.core.auth import check_set_locale, do_set_locale
from pingan.core.deps import CsrfChecked, DbSession, require_roles
from pingan.core.errors import DomainError
from pingan.core.i18n import LOCALES, _, negotiate, use_locale
from pingan.core.pages import render
from pingan.core.roles import HUMAN_ROLES, Actor

router = APIRouter(include_in_schema=False)
Anyone = Annotated[Actor, Depends(require_roles(*HUMAN_ROLES))]


@router.get("/me/settings", response_class=HTMLResponse)
def settings_page(request: Request, actor: Anyone) -> HTMLResponse:
    """The user's own settings."""
    return render(
        request, "my_settings.html", locales=LOCALES, current=actor.locale or "", error=None, notice=None
    )


@router.post("/me/settings", response_class=HTMLResponse)
def save_settings(
    request: Request,
    session: DbSession,
    actor: Anyone,
    _csrf: CsrfChecked,
    locale: Annotated[str, Form(max_length=16)] = "",
) -> HTMLResponse:
    """Save the user's language (audited); the answer is already in it."""
    try:
        with session.begin():
            user = check_set_locale(session, actor.username, locale, actor=actor)
            do_set_locale(session, user, locale, actor=actor)
    except DomainError as exc:
        return render(
            request, "my_settings.html", exc.status, locales=LOCALES, current=actor.locale or "",
            error=exc.message, notice=None,
        )  # fmt: skip
    # This answer already speaks the new language, as every later page will.
    use_locale(locale or negotiate(request.headers.get("accept-language")))
    me = replace(actor, locale=locale or None)
    return render(
        request, "my_settings.html", locales=LOCALES, current=locale, error=None,
        notice=_("Settings saved."), actor=me,
    )  # fmt: skip
