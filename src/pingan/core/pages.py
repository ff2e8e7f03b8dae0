"""One renderer for every package's pages.

Layout templates (`base.html`, `login.html`) live in `pingan/web/templates`; each package keeps the
templates of its own pages in its `templates/` folder, beside its `pages.py`. Template names are
unique across packages, so a page names its template without a path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pingan.core import clock, names
from pingan.core.errors import DomainError, Forbidden, Invalid
from pingan.core.i18n import N_, _, html_lang, label, ngettext, use_locale
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
# `_()` reads the request's language at each call (`i18n.current_locale`), so one environment serves
# every language. Newstyle: `_("%(n)s rows", n=3)` formats and escapes its arguments.
TEMPLATES.env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
# Zones read as "Beijing time" (北京时间): China keeps one zone, whatever the IANA name of the city.
BEIJING_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC"})


@dataclass(frozen=True)
class NavItem:
    """One entry of the menu: where it goes, its label, and the roles that may open it."""

    href: str
    label: str
    roles: frozenset[Role]


@dataclass(frozen=True)
class NavGroup:
    """A heading of the menu and its entries; `current`: the page shown is one of them."""

    label: str
    items: tuple[NavItem, ...]
    current: bool = False


_NAV: list[NavItem] = []
_GROUPS: list[tuple[str, str]] = []
# A menu of at most this many entries is one row of links; a longer one is folded into its groups.
FLAT_MENU_MAX = 8


def register_nav(items: list[NavItem], groups: list[tuple[str, str]] | None = None) -> None:
    """Set the menu (the app assembly does, once, from every package's pages), and its groups: an
    entry belongs to the group of the first path prefix it starts with, `(prefix, label)`."""
    _NAV[:] = items
    _GROUPS[:] = groups or []


def nav_for(actor: Actor | None) -> list[NavItem]:
    """The menu entries this user may open, labelled in the request's language: a menu never links
    to a page the role is refused."""
    if actor is None:
        return []
    return [NavItem(i.href, _(i.label), i.roles) for i in _NAV if actor.role in i.roles]


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def menu_for(actor: Actor | None, path: str = "") -> list[NavGroup]:
    """The user's menu as groups, in the menu's order. A short menu (`FLAT_MENU_MAX`) is one group
    without a label; a longer one folds by the registered groups, so that a supervisor's thirty pages
    read as a handful of headings. `path` marks the group of the page shown."""
    items = nav_for(actor)
    if len(items) <= FLAT_MENU_MAX or not _GROUPS:
        return [NavGroup("", tuple(items))] if items else []
    order: list[str] = []
    members: dict[str, list[NavItem]] = {}
    for item in items:
        label = next((lab for prefix, lab in _GROUPS if _under(item.href, prefix)), "")
        if label not in members:
            order.append(label)
            members[label] = []
        members[label].append(item)
    return [
        NavGroup(
            _(label) if label else "",
            tuple(members[label]),
            current=any(_under(path, i.href) for i in members[label]),
        )
        for label in order
    ]


def district_zone() -> ZoneInfo:
    """The district's time zone (`PINGAN_TIMEZONE`, Asia/Shanghai unless set)."""
    return ZoneInfo(get_settings().timezone)


def zone_name(at: datetime | None = None) -> str:
    """The district's zone as a reader says it: 北京时间 (Beijing time), or its UTC offset at `at`."""
    zone = district_zone()
    if zone.key in BEIJING_ZONES:
        return _("Beijing time")
    offset = (at or datetime.now(UTC)).astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def beijing_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M", zone: bool = True) -> str:
    """A time as the district reads it, in its zone, with the zone named unless `zone=False` (a column
    whose heading names it). The API keeps UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(district_zone()).strftime(fmt)
    return f"{local} {zone_name(value)}" if zone else local


def yuan(fen: int | None) -> str:
    """An amount in fen shown in yuan: ¥1,234.56. The API keeps fen."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


# The platform's robots (`Actor.system`) as a page names them; a person is shown by their username.
_ROBOTS = {
    "robot": N_("the stop-payment robot"),
    "screening": N_("transaction screening"),
    "watchlist": N_("the watchlist"),
    "mules": N_("mule-card scoring"),
    "warnings": N_("the warning sender"),
    "import": N_("an import"),
    "cli": N_("the command line"),
    "supervision": N_("the supervision engine"),
    "command-sweep": N_("the 110 clock sweep"),
}


def who(username: str | None) -> str:
    """Who did something, as a page says it: a robot by what it is (止付机器人), a person by their
    display name (李敏), an unknown username as it is."""
    if not username:
        return ""
    return _(_ROBOTS[username]) if username in _ROBOTS else names.person(username)


def _split(seconds: float) -> tuple[int, int, int, int]:
    """Whole days, hours, minutes and seconds of a length of time (0 for a negative one)."""
    days, rest = divmod(max(0, round(seconds)), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return days, hours, minutes, secs


def duration(seconds: float | None) -> str:
    """A length of time as a reader says it, to the second under an hour: 45秒, 6分03秒, 2小时05分,
    3天4小时 (in the request's language)."""
    if seconds is None:
        return ""
    days, hours, minutes, secs = _split(seconds)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    if minutes:
        return (_("%(m)d min %(s)02d s") if secs else _("%(m)d min")) % {"m": minutes, "s": secs}
    return _("%(s)d s") % {"s": secs}


def clock_text(seconds: float) -> str:
    """Time left (or late) as a running clock shows it: 4:12, 1:02:03, 3天 09:29:07. `countdown.js`
    ticks it on the page in the same form."""
    days, hours, minutes, secs = _split(seconds)
    if days:
        return f"{days}{_('d')} {hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def countdown(due: datetime, late_word: str | None = None, *, now: datetime | None = None) -> Markup:
    """A live clock to `due`: the time left, and once it has passed the page's word for late (overdue,
    已超期) with how long. Rendered here, so that it reads right before `countdown.js` ticks it."""
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    left = (due - (now or clock.now())).total_seconds()
    word = late_word or _("overdue")
    text = clock_text(left) if left >= 0 else f"{word} {clock_text(-left)}"
    return Markup(
        '<span class="countdown{late}" data-due="{due}" data-late="{word}" data-day="{day}">{text}</span>'
    ).format(late=" late" if left < 0 else "", due=due.isoformat(), word=word, day=_("d"), text=text)


def fen_from_yuan(text: str) -> int | None:
    """An amount typed into a form in yuan (`1234.56`, `1,234.56`, `¥1234`) as fen; None when empty.

    ValueError when it is not an amount with at most two decimals: the form shows it by the field.
    """
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if not cleaned:
        return None
    try:
        amount = Decimal(cleaned)
        exact = amount.is_finite() and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # not a number, or too large to hold in cents
        exact = False
    if not exact:
        raise ValueError("an amount in yuan with at most two decimals is expected")
    return int(amount * 100)


TEMPLATES.env.globals["nav_for"] = nav_for
TEMPLATES.env.globals["menu_for"] = menu_for
TEMPLATES.env.globals["html_lang"] = html_lang
TEMPLATES.env.globals["zone_name"] = zone_name
TEMPLATES.env.filters["bj"] = beijing_time
TEMPLATES.env.filters["yuan"] = yuan
TEMPLATES.env.filters["label"] = label
TEMPLATES.env.filters["duration"] = duration
TEMPLATES.env.filters["who"] = who
TEMPLATES.env.filters["station"] = names.station
TEMPLATES.env.globals["countdown"] = countdown


def form_time(value: str, field: str) -> datetime:
    """A `datetime-local` value typed on a page, taken in the district's zone (Beijing time); a value
    that is not a date and time is refused naming its field."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("a date and time such as 2026-03-10T14:00 is expected", field=field) from None
    return parsed.replace(tzinfo=district_zone()) if parsed.tzinfo is None else parsed


def page_message(exc: DomainError) -> str:
    """A refusal as a page says it: in the request's language where its message is a msgid, and a
    refused role by its label."""
    role = getattr(exc, "role", None)
    if isinstance(role, Role):
        return _("The role %(role)s may not open this page or do this.") % {"role": label(role)}
    return str(exc).replace(exc.message, _(exc.message))


CSRF_COOKIE = "pingan_csrf"
CSRF_FIELD = "csrf_token"


def form_refusal(exc: ValidationError) -> str:
    """Why the request model refused a form: the first field's place and message."""
    first = exc.errors()[0]
    place = ".".join(str(p) for p in first["loc"])
    return f"{place}: {first['msg']}" if place else str(first["msg"])  # a whole-form check names its fields


def run_form(
    session: Session,
    write: Callable[[datetime], str | None],
    *,
    again: Callable[[int, str], HTMLResponse],
    done: str | None = None,
) -> HTMLResponse | RedirectResponse:
    """Run one page form's write in one transaction at one `now`, then 303 to where the write says
    (a place known only once it ran, such as a new row's page), or else to `done`. A refusal rolls
    back and shows the page again, `again(status, why)`, with why it was refused, naming the field."""
    now = clock.now()
    try:
        with session.begin():
            place = write(now) or done
    except DomainError as exc:
        session.rollback()
        return again(exc.status, page_message(exc))
    except ValidationError as exc:
        session.rollback()
        return again(422, form_refusal(exc))
    if place is None:
        raise TypeError("run_form: give `done`, or a write that returns where to go")
    return RedirectResponse(place, status_code=303)


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
    if isinstance(actor := context["actor"], Actor):
        use_locale(actor.locale)
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
            N_("csrf_token: missing or wrong; reload the page and send the form again"), field="csrf_token"
        )
