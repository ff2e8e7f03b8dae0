"""The versioned warning texts (预警劝阻话术): loading, validation and rendering.

The file `templates/warnings.toml` holds one SMS text and one voice prompt per fraud typology.
It is validated at load; a bad file is refused with the typology and field named.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pingan.antifraud.reports.choices import Typology
from pingan.core.errors import Invalid

TEMPLATE_FILE = Path(__file__).parent / "templates" / "warnings.toml"
CALLBACK_NUMBER = "96110"
SPOKEN_CALLBACK = "九六一一零"
# Anything a phone would render as a link, or a person could type into a browser.
_LINK = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(com|cn|net|org|top|xyz|vip|cc|io)\b|://)", re.IGNORECASE)
# UCS-2 concatenated SMS: 67 characters per part; three parts at most keep it one readable message.
MAX_SMS_CHARS = 3 * 67


@dataclass(frozen=True)
class WarningTemplate:
    """The texts for one typology, with the file's version."""

    typology: Typology
    version: str
    asks: str
    sms: str
    voice: str

    @property
    def template_id(self) -> str:
        """Stable id of this typology's texts, stored with every message."""
        return f"warning:{self.typology.value}"

    def render_sms(self) -> str:
        """The SMS text. It carries no personal data and no parameters: the same text for everyone."""
        return self.sms

    def render_voice(self, *, amount_fen: int) -> tuple[str, dict[str, str]]:
        """The voice prompt and the parameters it was rendered with (the cache key includes them)."""
        params = {"amount_yuan": str(amount_fen // 100)}
        return self.voice.format(**params), params


@dataclass(frozen=True)
class TemplateSet:
    """Every typology's texts from one version of the file."""

    version: str
    by_typology: dict[Typology, WarningTemplate]

    def for_typology(self, typology: Typology | str) -> WarningTemplate:
        """The texts for `typology`; an unknown typology gets the catch-all 其他."""
        try:
            return self.by_typology[Typology(typology)]
        except ValueError:
            return self.by_typology[Typology.OTHER]


def parse_templates(text: str, *, source: str = "warnings.toml") -> TemplateSet:
    """Parse and validate a template file; Invalid names the typology and field at fault."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"{source}: not valid TOML: {exc}", field="file") from None
    version = raw.get("version")
    if not isinstance(version, str) or not version:
        raise Invalid(f"{source}: a template file has a non-empty version", field="version")
    entries = raw.get("typology")
    if not isinstance(entries, dict):
        raise Invalid(f"{source}: no [typology.*] tables", field="typology")
    out: dict[Typology, WarningTemplate] = {}
    for name, entry in entries.items():
        try:
            typology = Typology(name)
        except ValueError:
            raise Invalid(f"{source}: unknown typology {name!r}", field=f"typology.{name}") from None
        fields: dict[str, str] = {}
        for key in ("asks", "sms", "voice"):
            value = entry.get(key) if isinstance(entry, dict) else None
            if not isinstance(value, str) or not value.strip():
                raise Invalid(f"{source}: missing text", field=f"typology.{name}.{key}")
            if _LINK.search(value):
                # Never a link: scam texts carry links, so a warning that has one teaches the wrong habit.
                raise Invalid(f"{source}: a warning never contains a link", field=f"typology.{name}.{key}")
            fields[key] = value
        sms = fields["sms"]
        if CALLBACK_NUMBER not in sms:
            raise Invalid(f"{source}: the SMS must give {CALLBACK_NUMBER}", field=f"typology.{name}.sms")
        if name not in sms:
            raise Invalid(f"{source}: the SMS must name its typology", field=f"typology.{name}.sms")
        if fields["asks"] not in sms:
            raise Invalid(f"{source}: the SMS must say what the scam asks", field=f"typology.{name}.sms")
        if len(sms) > MAX_SMS_CHARS:
            raise Invalid(
                f"{source}: the SMS is over {MAX_SMS_CHARS} characters", field=f"typology.{name}.sms"
            )
        if SPOKEN_CALLBACK not in fields["voice"] and CALLBACK_NUMBER not in fields["voice"]:
            raise Invalid(f"{source}: the prompt must give {CALLBACK_NUMBER}", field=f"typology.{name}.voice")
        try:
            fields["voice"].format(amount_yuan="1")
        except (KeyError, IndexError, ValueError) as exc:
            raise Invalid(f"{source}: unknown placeholder {exc}", field=f"typology.{name}.voice") from None
        out[typology] = WarningTemplate(typology, version, fields["asks"], sms, fields["voice"])
    missing = [t.value for t in Typology if t not in out]
    if missing:
        raise Invalid(f"{source}: no texts for {', '.join(missing)}", field="typology")
    return TemplateSet(version, out)


@lru_cache(maxsize=1)
def load_templates(path: Path = TEMPLATE_FILE) -> TemplateSet:
    """The validated template set shipped with pingan (read once)."""
    return parse_templates(path.read_text(encoding="utf-8"), source=path.name)
