"""Personal identifiers: validation, keyed pseudonyms, encryption and masking.

National ID, phone and card numbers are stored as two columns: a keyed HMAC-SHA256 pseudonym that
equality lookups use, and an AES-256-GCM ciphertext that only an audited reveal decrypts. Output
shows the masked form unless the caller's role needs the clear value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pingan.core.errors import Invalid
from pingan.core.settings import get_settings


class PiiKind(StrEnum):
    """Kinds of personal identifier, each with its own validation and pseudonym namespace."""

    NATIONAL_ID = "national_id"
    PHONE = "phone"
    CARD = "card"
    NAME = "name"


# ISO 7064 MOD 11-2 weights and check characters of the 18-character resident ID (GB 11643-1999).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PHONE_RE = re.compile(r"^1\d{10}$")
_CARD_RE = re.compile(r"^\d{16,19}$")


def national_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits of a resident ID."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def luhn_check_digit(payload: str) -> str:
    """The Luhn check digit to append to `payload` (the digits of a card number without its last)."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def normalize_national_id(raw: str, *, field: str = "national_id") -> str:
    """Upper-case and validate an 18-character mainland resident ID, with its check character."""
    value = raw.strip().upper().replace(" ", "")
    if not _ID_RE.match(value):
        raise Invalid("a mainland ID number has 17 digits and a check character (digit or X)", field=field)
    if national_id_check_char(value[:17]) != value[17]:
        raise Invalid("the ID number's check character is wrong (ISO 7064 MOD 11-2)", field=field)
    return value


def normalize_phone(raw: str, *, field: str = "phone") -> str:
    """Validate an 11-digit mainland mobile number starting with 1 (a +86 prefix is dropped)."""
    value = re.sub(r"[\s-]", "", raw.strip())
    if value.startswith("+86"):
        value = value[3:]
    if not _PHONE_RE.match(value):
        raise Invalid("a mobile number has 11 digits and starts with 1", field=field)
    return value


def normalize_card(raw: str, *, field: str = "card") -> str:
    """Validate a 16-19 digit bank card or account number with its Luhn check digit."""
    value = re.sub(r"[\s-]", "", raw.strip())
    if not _CARD_RE.match(value):
        raise Invalid("a card number has 16 to 19 digits", field=field)
    if luhn_check_digit(value[:-1]) != value[-1]:
        raise Invalid("the card number's check digit is wrong (Luhn)", field=field)
    return value


def normalize_name(raw: str, *, field: str = "name") -> str:
    """Trim a person's name; it must not be empty."""
    value = raw.strip()
    if not value or len(value) > 64:
        raise Invalid("a name has 1 to 64 characters", field=field)
    return value


NORMALIZERS = {
    PiiKind.NATIONAL_ID: normalize_national_id,
    PiiKind.PHONE: normalize_phone,
    PiiKind.CARD: normalize_card,
    PiiKind.NAME: normalize_name,
}


def mask(kind: PiiKind, value: str) -> str:
    """The masked form shown to roles without a need for the clear value."""
    if kind is PiiKind.CARD:
        return f"{value[:4]} **** **** {value[-4:]}"
    if kind is PiiKind.PHONE:
        return f"{value[:3]}****{value[-4:]}"
    if kind is PiiKind.NATIONAL_ID:
        return f"{value[:6]}********{value[-4:]}"
    return value[:1] + "*" * max(1, len(value) - 1)


@lru_cache(maxsize=4)
def _keys(hmac_key: str, enc_key: str) -> tuple[bytes, AESGCM]:
    raw = base64.b64decode(enc_key)
    if len(raw) != 32:
        raise ValueError("PINGAN_PII_ENC_KEY must be base64 of exactly 32 bytes")
    return hmac_key.encode(), AESGCM(raw)


def _current_keys() -> tuple[bytes, AESGCM]:
    s = get_settings()
    return _keys(s.pii_hmac_key, s.pii_enc_key)


def pseudonym(kind: PiiKind, normalized: str) -> str:
    """Keyed HMAC-SHA256 pseudonym of an already normalised value, namespaced by kind."""
    key, _ = _current_keys()
    return hmac.new(key, f"{kind.value}:{normalized}".encode(), hashlib.sha256).hexdigest()


def encrypt(kind: PiiKind, normalized: str) -> str:
    """AES-256-GCM ciphertext (`v1:` + base64 of nonce and ciphertext); the kind is authenticated data."""
    _, aes = _current_keys()
    nonce = os.urandom(12)
    return (
        "v1:"
        + base64.b64encode(nonce + aes.encrypt(nonce, normalized.encode(), kind.value.encode())).decode()
    )


def decrypt(kind: PiiKind, token: str) -> str:
    """Decrypt a value written by `encrypt`; fails if it was tampered with or is of another kind."""
    _, aes = _current_keys()
    if not token.startswith("v1:"):
        raise ValueError("unknown ciphertext version")
    blob = base64.b64decode(token[3:])
    return aes.decrypt(blob[:12], blob[12:], kind.value.encode()).decode()


@dataclass(frozen=True)
class Protected:
    """A personal identifier as stored: pseudonym for lookup, ciphertext, and the masked form for output."""

    kind: PiiKind
    pseudonym: str
    cipher: str
    masked: str


def protect(kind: PiiKind, raw: str, *, field: str | None = None) -> Protected:
    """Normalise, validate, pseudonymise, encrypt and mask one identifier."""
    value = NORMALIZERS[kind](raw, field=field or kind.value)
    return Protected(kind, pseudonym(kind, value), encrypt(kind, value), mask(kind, value))


def lookup_key(kind: PiiKind, raw: str, *, field: str | None = None) -> str:
    """The pseudonym to search by, for a clear value typed by a user."""
    return pseudonym(kind, NORMALIZERS[kind](raw, field=field or kind.value))
