"""One renderer for every package's pages.

Layout templates (`base.html`, `login.html`) live in `pingan/web/templates`; each package keeps the
templates of its own pages in its `templates/` folder, beside its `pages.py`. Template names are
unique across packages, so a page names its template without a path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from pingan.core.errors import Forbidden
from pingan.core.i18n import label
from pingan.core.migrate import REPO_ROOT
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
LAYOUT_DIR = PACKAGE_ROOT / "web" / "templates"
HTMX_JS = REPO_ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
ECHARTS_JS = REPO_ROOT / "node_modules" / "echarts" / "dist" / "echarts.min.js"


def template_dirs() -> list[Path]:
    """The layout folder first, then every package's `templates/` folder that holds a page."""
    found = sorted(p for p in PACKAGE_ROOT.rglob("templates") if p.is_dir() and any(p.glob("*.html")))
    return [LAYOUT_DIR, *(p for p in found if p != LAYOUT_DIR)]


TEMPLATES = Jinja2Templates(directory=template_dirs())
TEMPLATES.env.add_extension("jinja2.ext.i18n")
TEMPLATES.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
DISTRICT_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class NavItem:
    """One entry of the menu: where it goes, its label, and the roles that may open it."""

    href: str
    label: str
    roles: frozenset[Role]


_NAV: list[NavItem] = []


def register_nav(items: list[NavItem]) -> None:
    """Set the menu (the app assembly does, once, from every package's pages)."""
    _NAV[:] = items


def nav_for(actor: Actor | None) -> list[NavItem]:
    """The menu entries this user may open: a menu never links to a page the role is refused."""
    return [] if actor is None else [item for item in _NAV if actor.role in item.roles]


def beijing_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as the district reads it: Beijing time (UTC+8). The API keeps UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(DISTRICT_ZONE).strftime(fmt)


def yuan(fen: int | None) -> str:
    """An amount in fen shown in yuan: ¥1,234.56. The API keeps fen."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


TEMPLATES.env.globals["nav_for"] = nav_for
TEMPLATES.env.filters["bj"] = beijing_time
TEMPLATES.env.filters["yuan"] = yuan
TEMPLATES.env.filters["label"] = label


CSRF_COOKIE = "pingan_csrf"
CSRF_FIELD = "csrf_token"


def csrf_token_for(nonce: str) -> str:
    """The form token that goes with the browser's CSRF cookie: an HMAC of it under the server's key."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def render(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """Render page template `name` with the acting user, the form token, and whether htmx is served.

    Every form of a page posts `csrf_token`: a signed double-submit token. The browser holds a random
    nonce in a SameSite=Strict cookie, and the form carries the nonce's HMAC, which a forging site can
    neither read nor compute.
    """
    nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    context.setdefault("actor", getattr(request.state, "actor", None))
    context["htmx"] = HTMX_JS.exists()
    context[CSRF_FIELD] = csrf_token_for(nonce)
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(
            CSRF_COOKIE, nonce, httponly=True, samesite="strict", secure=cookies_secure(), path="/"
        )
    return response


def cookies_secure() -> bool:
    """Cookies are `Secure` (HTTPS only) outside demo mode, which serves plain HTTP on localhost."""
    return not get_settings().demo


def csrf_protect(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Refuse a form post whose token does not match the browser's CSRF cookie (403).

    A request that carries its token in an `Authorization` header is exempt: a browser never
    attaches that header by itself, so another site cannot forge such a request.
    """
    if request.headers.get("authorization"):
        return
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not hmac.compare_digest(csrf_token, csrf_token_for(nonce)):
        raise Forbidden(
            "csrf_token: missing or wrong; reload the page and send the form again", field="csrf_token"
        )
