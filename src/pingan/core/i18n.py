"""Words shown to people: gettext for page text, and a label for every enum member.

Contract for every package:
- templates mark text with `{{ _("English text") }}` or `{% trans %}…{% endtrans %}`;
- Python marks text with `_("…")` (translated now) or `N_("…")` (marked, translated when shown);
- each `choices.py` registers a label per member: `register_labels(OrderState, {OrderState.SENT: N_("sent"), …})`;
- templates show a code as `{{ order.state|label }}`, or `{{ "sent"|label("OrderState") }}` for a bare value.

The msgids are English; the catalogues are `pingan/locale/<locale>/LC_MESSAGES/messages.po`
(zh_CN first, en second), compiled in memory the first time a language is used. `make messages`
extracts the marked strings and updates both catalogues; CONTRIBUTING.md says how to add one.

The language of a request is the user's own setting (`User.locale`), else the browser's
`Accept-Language`, else zh_CN (`negotiate`). `LanguageMiddleware` opens a per-request choice and the
login guard narrows it to the user's setting (`use_locale`), so `_()` in Python and in templates
speaks the request's language. Outside a request (commands, jobs) it is zh_CN.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DEFAULT_LOCALE = "zh_CN"
# The languages a user may choose, first the default; each names itself, so nobody has to read a
# language they do not know to find their own.
LOCALES = {"zh_CN": "中文（简体）", "en": "English"}
_HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def N_(message: str) -> str:  # noqa: N802 - gettext's name for a marker that translates later
    """Mark `message` for the catalogue without translating it here."""
    return message


def catalogue_path(locale: str) -> Path:
    """Where the catalogue of `locale` lives in the source tree."""
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalogue of `locale` (fuzzy entries left out), or none when it has no catalogue.

    The .po is compiled in memory: there is no .mo build output to keep in step with it.
    """
    po = catalogue_path(locale)
    if locale not in LOCALES or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


@dataclass
class _Choice:
    """The language of one request; one object shared by every copy of the request's context, so that
    the login guard (run in a worker thread) can narrow it for the whole request."""

    locale: str


_current: ContextVar[_Choice | None] = ContextVar("pingan_locale", default=None)


def current_locale() -> str:
    """The language `_()` speaks now."""
    choice = _current.get()
    return choice.locale if choice is not None else DEFAULT_LOCALE


def use_locale(locale: str | None) -> None:
    """Speak `locale` for the rest of this request (ignored when it is not one of `LOCALES`)."""
    if locale not in LOCALES:
        return
    choice = _current.get()
    if choice is None:
        _current.set(_Choice(locale))
    else:
        choice.locale = locale


@contextmanager
def locale_scope(locale: str) -> Iterator[None]:
    """Speak `locale` inside the block (a request, a test, a command rendering a document)."""
    token = _current.set(_Choice(locale if locale in LOCALES else DEFAULT_LOCALE))
    try:
        yield
    finally:
        _current.reset(token)


def html_lang() -> str:
    """The current language as an HTML `lang` attribute (BCP 47)."""
    return _HTML_LANG[current_locale()]


def _accepted(header: str) -> list[str]:
    """The language ranges of an Accept-Language header, most preferred first (q=0 left out)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.strip().lower()))
    return [tag for _q, _i, tag in sorted(ranked)]


def negotiate(accept_language: str | None, user_locale: str | None = None) -> str:
    """The language to speak: the user's own setting, else the browser's first supported one, else zh_CN."""
    if user_locale in LOCALES:
        return user_locale
    for tag in _accepted(accept_language or ""):
        # Any Chinese is answered in simplified Chinese, the only Chinese catalogue there is.
        if tag == "zh" or tag.startswith("zh-"):
            return "zh_CN"
        if tag == "en" or tag.startswith("en-"):
            return "en"
    return DEFAULT_LOCALE


class LanguageMiddleware:
    """Open each HTTP request's language choice from its Accept-Language header (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _current.set(_Choice(negotiate(Headers(scope=scope).get("accept-language"))))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


def _(message: str) -> str:
    """Translate `message` into the current language."""
    if not message:
        return message  # gettext("") is the catalogue's header, never wanted on a page
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message that depends on a count into the current language."""
    return translations(current_locale()).ngettext(singular, plural, n)


_LABELS: dict[str, dict[str, str]] = {}
_BY_ENUM: dict[type[StrEnum], dict[str, str]] = {}


def register_labels(enum: type[StrEnum], labels: Mapping[StrEnum, str]) -> None:
    """Give every member of `enum` a label; a member left out is an error, not a raw code on a page."""
    missing = [m.value for m in enum if m not in labels]
    if missing:
        raise ValueError(f"{enum.__name__}: no label for {', '.join(missing)}")
    texts = {str(m.value): text for m, text in labels.items()}
    _BY_ENUM[enum] = texts
    # By name too, for `"sent"|label("OrderState")`; two enums of one name (each package's AlertKind)
    # share the name's table, each adding its own values.
    for value, text in texts.items():
        _LABELS.setdefault(enum.__name__, {}).setdefault(value, text)


def has_label(enum: type[StrEnum]) -> bool:
    """Whether every member of `enum` has a registered label."""
    texts = _BY_ENUM.get(enum, {})
    return all(str(m.value) in texts for m in enum)


def label(value: object, enum_name: str | None = None) -> str:
    """The label of an enum member (or of a bare value of the enum named), in the current language."""
    if value is None:
        return ""
    if enum_name is None and isinstance(value, StrEnum) and type(value) in _BY_ENUM:
        text: str | None = _BY_ENUM[type(value)].get(str(value))
    else:
        text = _LABELS.get(enum_name or type(value).__name__, {}).get(str(value))
    return _(text) if text is not None else str(value)
