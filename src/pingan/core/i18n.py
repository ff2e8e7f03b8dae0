"""Words shown to people: gettext for page text, and a label for every enum member.

Contract for every package (the catalogues behind it are filled in by the i18n work):
- templates mark text with `{{ _("English text") }}` or `{% trans %}…{% endtrans %}`;
- Python marks text with `_("…")` (translated now) or `N_("…")` (marked, translated when shown);
- each `choices.py` registers a label per member: `register_labels(OrderState, {OrderState.SENT: N_("sent"), …})`;
- templates show a code as `{{ order.state|label }}`, or `{{ "sent"|label("OrderState") }}` for a bare value.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


def N_(message: str) -> str:  # noqa: N802 - gettext's name for a marker that translates later
    """Mark `message` for the catalogue without translating it here."""
    return message


def _(message: str) -> str:
    """Translate `message` into the current language."""
    return message


_LABELS: dict[str, dict[str, str]] = {}


def register_labels(enum: type[StrEnum], labels: Mapping[StrEnum, str]) -> None:
    """Give every member of `enum` a label; a member left out is an error, not a raw code on a page."""
    missing = [m.value for m in enum if m not in labels]
    if missing:
        raise ValueError(f"{enum.__name__}: no label for {', '.join(missing)}")
    _LABELS[enum.__name__] = {str(m.value): text for m, text in labels.items()}


def label(value: object, enum_name: str | None = None) -> str:
    """The label of an enum member (or of a bare value of the enum named), in the current language."""
    if value is None:
        return ""
    name = enum_name or type(value).__name__
    text = _LABELS.get(name, {}).get(str(value))
    return _(text) if text is not None else str(value)
