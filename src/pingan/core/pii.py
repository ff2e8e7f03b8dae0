"""Personal identifiers: validation, keyed pseudonyms, encryption and masking, and their columns.

National ID, phone and card numbers are stored as three columns: a keyed HMAC-SHA256 pseudonym that
equality lookups use, an AES-256-GCM ciphertext that only an audited reveal decrypts, and the masked
form that output shows unless the caller's role needs the clear value. A table declares the three
with one `protected()` attribute, which reads and writes them as one `Protected` value. A name,
which nothing looks up, is stored without a pseudonym: `sealed()` declares its two columns.
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
from typing import Literal, overload

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ColumnElement, String, Text
from sqlalchemy.orm import Composite, composite, mapped_column

from pingan.core.errors import Invalid
from pingan.core.i18n import N_, register_labels
from pingan.core.settings import get_settings


class PiiKind(StrEnum):
    """Kinds of personal identifier, each with its own validation and pseudonym namespace."""

    NATIONAL_ID = "national_id"
    PHONE = "phone"
    CARD = "card"
    NAME = "name"
    PLATE = "plate"  # a vehicle's licence plate (号牌): it names its keeper


register_labels(
    PiiKind,
    {
        PiiKind.NATIONAL_ID: N_("national ID number"),
        PiiKind.PHONE: N_("phone number"),
        PiiKind.CARD: N_("card number"),
        PiiKind.NAME: N_("name"),
        PiiKind.PLATE: N_("licence plate"),
    },
)


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


# A mainland plate (GA 36-2018): the province's character, the issuing office's letter, then five
# characters (six for a new-energy vehicle), letters or digits (no I or O); 挂/学/警 end some plates.
_PLATE_RE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$")


def normalize_plate(raw: str, *, field: str = "plate") -> str:
    """Upper-case a mainland licence plate and drop its separators (`川A·12345` → `川A12345`)."""
    value = re.sub(r"[\s·.\-]", "", raw.strip()).upper()
    if not _PLATE_RE.match(value):
        raise Invalid("a plate is a province character, a letter and 5 or 6 letters or digits", field=field)
    return value


NORMALIZERS = {
    PiiKind.NATIONAL_ID: normalize_national_id,
    PiiKind.PHONE: normalize_phone,
    PiiKind.CARD: normalize_card,
    PiiKind.NAME: normalize_name,
    PiiKind.PLATE: normalize_plate,
}


def mask(kind: PiiKind, value: str) -> str:
    """The masked form shown to roles without a need for the clear value."""
    if kind is PiiKind.CARD:
        return f"{value[:4]} **** **** {value[-4:]}"
    if kind is PiiKind.PHONE:
        return f"{value[:3]}****{value[-4:]}"
    if kind is PiiKind.NATIONAL_ID:
        return f"{value[:6]}********{value[-4:]}"
    if kind is PiiKind.PLATE:
        # The province and office stay (where the vehicle is from); the number is hidden but its end.
        return f"{value[:2]}***{value[-2:]}"
    # A name keeps its first character (the surname, for most Chinese names) and two stars whatever
    # its length: the mask must not tell a two-character name from a four-character one.
    return value[:1] + "**"


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


def seal_secret(purpose: str, value: str) -> str:
    """Encrypt a secret that is not a personal identifier (a device's signing key) with the PII key;
    `purpose` is authenticated data, so a ciphertext cannot be moved to another use."""
    _, aes = _current_keys()
    nonce = os.urandom(12)
    return "v1:" + base64.b64encode(nonce + aes.encrypt(nonce, value.encode(), purpose.encode())).decode()


def open_secret(purpose: str, token: str) -> str:
    """Decrypt a value written by `seal_secret` for the same `purpose`."""
    _, aes = _current_keys()
    if not token.startswith("v1:"):
        raise ValueError("unknown ciphertext version")
    blob = base64.b64decode(token[3:])
    return aes.decrypt(blob[:12], blob[12:], purpose.encode()).decode()


@dataclass(frozen=True)
class Protected:
    """A personal identifier as stored: pseudonym for lookup, ciphertext, and the masked form for output."""

    kind: PiiKind
    pseudonym: str
    cipher: str
    masked: str

    def __composite_values__(self) -> tuple[str, str, str]:
        """The stored parts in the order `protected()` declares their columns (SQLAlchemy's protocol)."""
        return (self.pseudonym, self.cipher, self.masked)

    @property
    def sealed(self) -> Sealed:
        """The encrypted and masked parts alone, for a column pair that nothing looks up."""
        return Sealed(self.kind, self.cipher, self.masked)

    def columns(self, prefix: str) -> dict[str, str]:
        """The identifier as the columns `protected(kind, prefix)` declares, for Core inserts and updates."""
        return {
            f"{prefix}_pseudonym": self.pseudonym,
            f"{prefix}_cipher": self.cipher,
            f"{prefix}_masked": self.masked,
        }


@dataclass(frozen=True)
class Sealed:
    """A personal value kept only encrypted and masked, with no pseudonym: nothing looks it up (a name)."""

    kind: PiiKind
    cipher: str
    masked: str

    def __composite_values__(self) -> tuple[str, str]:
        """The stored parts in the order `sealed()` declares their columns (SQLAlchemy's protocol)."""
        return (self.cipher, self.masked)

    def columns(self, prefix: str) -> dict[str, str]:
        """The value as the columns `sealed(kind, prefix)` declares, for Core inserts and updates."""
        return {f"{prefix}_cipher": self.cipher, f"{prefix}_masked": self.masked}


def protect(kind: PiiKind, raw: str, *, field: str | None = None) -> Protected:
    """Normalise, validate, pseudonymise, encrypt and mask one identifier."""
    value = NORMALIZERS[kind](raw, field=field or kind.value)
    return Protected(kind, pseudonym(kind, value), encrypt(kind, value), mask(kind, value))


def lookup_key(kind: PiiKind, raw: str, *, field: str | None = None) -> str:
    """The pseudonym to search by, for a clear value typed by a user."""
    return pseudonym(kind, NORMALIZERS[kind](raw, field=field or kind.value))


# An HMAC-SHA256 pseudonym is 64 hex characters; `v1:` and base64 of nonce, ciphertext and tag of an
# identifier fit in 255; the masked form of an ID, phone or card in 32 (a name's in 64).
PSEUDONYM_LENGTH = 64
CIPHER_LENGTH = 255
MASKED_LENGTH = 32


class ProtectedComparator(Composite.Comparator[Protected]):
    """One stored part at class level: `Model.account.pseudonym == key` compares the pseudonym column."""

    def _part(self, position: int) -> ColumnElement[str]:
        # `__clause_element__` follows an aliased entity, so the part is the alias's column.
        part: ColumnElement[str] = self.__clause_element__().clauses[position]
        return part

    @property
    def pseudonym(self) -> ColumnElement[str]:
        """The pseudonym column, which lookups and joins use."""
        return self._part(0)

    @property
    def cipher(self) -> ColumnElement[str]:
        """The ciphertext column."""
        return self._part(1)

    @property
    def masked(self) -> ColumnElement[str]:
        """The masked-form column."""
        return self._part(2)


class SealedComparator(Composite.Comparator[Sealed]):
    """One stored part of a sealed value at class level: `Model.name.masked`."""

    def _part(self, position: int) -> ColumnElement[str]:
        part: ColumnElement[str] = self.__clause_element__().clauses[position]
        return part

    @property
    def cipher(self) -> ColumnElement[str]:
        """The ciphertext column."""
        return self._part(0)

    @property
    def masked(self) -> ColumnElement[str]:
        """The masked-form column."""
        return self._part(1)


@overload
def protected(
    kind: PiiKind, prefix: str, *, index: bool = ..., unique: bool = ..., nullable: Literal[False] = ...
) -> Composite[Protected]: ...
@overload
def protected(
    kind: PiiKind, prefix: str, *, index: bool = ..., unique: bool = ..., nullable: Literal[True]
) -> Composite[Protected | None]: ...
def protected(
    kind: PiiKind, prefix: str, *, index: bool = False, unique: bool = False, nullable: bool = False
) -> Composite[Protected] | Composite[Protected | None]:
    """A protected identifier as one mapped attribute over the columns `{prefix}_pseudonym`,
    `{prefix}_cipher` and `{prefix}_masked`.

    The attribute reads and takes a `Protected` of `kind`; `Model.attr.pseudonym` is the column that
    lookups compare, indexed (`index`) or unique (`unique`) where the table is searched by it. A
    nullable identifier reads as None when all three columns are NULL. Core inserts name the columns,
    as `Protected.columns(prefix)` gives them, and Core rows read them by those names.
    """

    def load(pseudonym: str | None, cipher: str | None, masked: str | None) -> Protected | None:
        if pseudonym is None and cipher is None and masked is None:
            return None
        return Protected(kind, pseudonym or "", cipher or "", masked or "")

    return composite(
        load,
        mapped_column(
            f"{prefix}_pseudonym", String(PSEUDONYM_LENGTH), index=index, unique=unique, nullable=nullable
        ),
        mapped_column(f"{prefix}_cipher", String(CIPHER_LENGTH), nullable=nullable),
        mapped_column(f"{prefix}_masked", String(MASKED_LENGTH), nullable=nullable),
        comparator_factory=ProtectedComparator,
    )


@overload
def sealed(
    kind: PiiKind, prefix: str, *, masked_length: int = ..., text: bool = ..., nullable: Literal[False] = ...
) -> Composite[Sealed]: ...
@overload
def sealed(
    kind: PiiKind, prefix: str, *, masked_length: int = ..., text: bool = ..., nullable: Literal[True]
) -> Composite[Sealed | None]: ...
def sealed(
    kind: PiiKind,
    prefix: str,
    *,
    masked_length: int = MASKED_LENGTH,
    text: bool = False,
    nullable: bool = False,
) -> Composite[Sealed] | Composite[Sealed | None]:
    """A personal value kept without a pseudonym, as one mapped attribute over `{prefix}_cipher` and
    `{prefix}_masked`; it reads and takes a `Sealed` of `kind` (`text`: the ciphertext column is TEXT).
    """

    def load(cipher: str | None, masked: str | None) -> Sealed | None:
        if cipher is None and masked is None:
            return None
        return Sealed(kind, cipher or "", masked or "")

    return composite(
        load,
        mapped_column(f"{prefix}_cipher", Text if text else String(CIPHER_LENGTH), nullable=nullable),
        mapped_column(f"{prefix}_masked", String(masked_length), nullable=nullable),
        comparator_factory=SealedComparator,
    )
