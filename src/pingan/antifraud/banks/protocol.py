"""The bank interface protocol: message schemas and HMAC-SHA256 signing (docs/bank-protocol.md).

Every message, in both directions, carries four headers: the bank code, a Unix timestamp, a random
nonce and an HMAC-SHA256 signature keyed with that bank's own key over the timestamp, the nonce,
the method, the path and the SHA-256 of the body. A receiver refuses a bad signature, a timestamp
more than `MAX_SKEW_S` away from its clock, and a nonce it has already seen (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.core.i18n import N_, register_labels
from pingan.core.settings import BankSettings, get_settings

HEADER_BANK = "X-Pingan-Bank"
HEADER_TIMESTAMP = "X-Pingan-Timestamp"
HEADER_NONCE = "X-Pingan-Nonce"
HEADER_SIGNATURE = "X-Pingan-Signature"
# Five minutes either way: wide enough for unsynchronised clocks, narrow enough that the nonce cache
# (which must remember every nonce for the whole window) stays small.
MAX_SKEW_S = 300
# The largest amount in fen a message may carry: above 2^53 a JSON number loses integer precision
# in many readers, so a larger one is refused as malformed rather than rounded.
MAX_AMOUNT_FEN = 2**53


def bank_key(bank_code: str, settings: BankSettings | None = None) -> bytes:
    """The signing key shared with `bank_code`: configured, or derived from the seed."""
    s = settings or get_settings().bank
    if bank_code in s.keys:
        return s.keys[bank_code].encode()
    return hmac.new(s.key_seed.encode(), f"bank-key:{bank_code}".encode(), hashlib.sha256).digest()


def _string_to_sign(timestamp: str, nonce: str, method: str, path: str, body: bytes) -> bytes:
    return "\n".join([timestamp, nonce, method.upper(), path, hashlib.sha256(body).hexdigest()]).encode()


def sign(
    key: bytes, bank_code: str, method: str, path: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """The four signature headers for one message."""
    ts = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    mac = hmac.new(key, _string_to_sign(ts, nonce, method, path, body), hashlib.sha256).hexdigest()
    return {HEADER_BANK: bank_code, HEADER_TIMESTAMP: ts, HEADER_NONCE: nonce, HEADER_SIGNATURE: mac}


class SignatureError(Exception):
    """A message failed verification; `reason` is logged and stored, never echoed with secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Verified:
    """A message whose signature and freshness held."""

    bank_code: str
    nonce: str
    timestamp: int


def verify(
    headers: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    *,
    now: float | None = None,
    settings: BankSettings | None = None,
) -> Verified:
    """Check the signature headers of one message (not its nonce: the caller's replay store does that)."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        bank = lower[HEADER_BANK.lower()]
        ts = lower[HEADER_TIMESTAMP.lower()]
        nonce = lower[HEADER_NONCE.lower()]
        mac = lower[HEADER_SIGNATURE.lower()]
    except KeyError as missing:
        raise SignatureError(f"unsigned: header {missing.args[0]} missing") from None
    if bank not in BANKS_BY_CODE:
        # Never derive a key for a code the directory does not know: that would verify a stranger.
        raise SignatureError(f"unknown bank code {bank[:16]!r}")
    if not (ts.isascii() and ts.isdigit()) or len(ts) > 12:
        raise SignatureError("timestamp is not a Unix time")
    skew = abs((now if now is not None else time.time()) - int(ts))
    if skew > MAX_SKEW_S:
        raise SignatureError(f"stale timestamp: {int(skew)} s from our clock (limit {MAX_SKEW_S} s)")
    if not 8 <= len(nonce) <= 64:
        raise SignatureError("nonce has the wrong length")
    expected = hmac.new(
        bank_key(bank, settings), _string_to_sign(ts, nonce, method, path, body), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, mac):
        raise SignatureError("bad signature")
    return Verified(bank, nonce, int(ts))


class NonceCache:
    """Nonces seen within the freshness window, in memory (one process: the bank simulator)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._limit = limit

    def check_and_add(self, nonce: str, *, now: float | None = None) -> None:
        """Raise SignatureError when `nonce` was seen within the window; remember it otherwise."""
        t = now if now is not None else time.time()
        while self._seen and (
            next(iter(self._seen.values())) < t - 2 * MAX_SKEW_S or len(self._seen) > self._limit
        ):
            self._seen.popitem(last=False)
        if nonce in self._seen:
            raise SignatureError("replayed message: nonce seen before")
        self._seen[nonce] = t


# ---- messages ------------------------------------------------------------------------------


class OrderKindWire(StrEnum):
    """Order kinds on the wire."""

    STOP_PAYMENT = "stop_payment"
    FREEZE = "freeze"


register_labels(
    OrderKindWire,
    {
        OrderKindWire.STOP_PAYMENT: N_("stop-payment"),
        OrderKindWire.FREEZE: N_("freeze"),
    },
)


class RejectReason(StrEnum):
    """Reason codes a bank gives when it refuses an order."""

    NAME_MISMATCH = "name_mismatch"
    ACCOUNT_CLOSED = "account_closed"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    ACCOUNT_UNKNOWN = "account_unknown"
    BAD_BASIS = "bad_legal_basis"


register_labels(
    RejectReason,
    {
        RejectReason.NAME_MISMATCH: N_("name does not match"),
        RejectReason.ACCOUNT_CLOSED: N_("account closed"),
        RejectReason.INSUFFICIENT_BALANCE: N_("insufficient balance"),
        RejectReason.ACCOUNT_UNKNOWN: N_("account unknown"),
        RejectReason.BAD_BASIS: N_("legal basis not accepted"),
    },
)


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LegalBasisWire(_Msg):
    """The legal basis the bank files with the order."""

    kind: Literal["report", "finding"]
    reference: str = Field(min_length=1, max_length=128)
    approved_by: str | None = Field(default=None, max_length=64)
    article: str = Field(min_length=1, max_length=255)


class OrderRequest(_Msg):
    """pingan → bank: stop or freeze an account (POST /banks/{bank}/orders)."""

    type: Literal["request"] = "request"
    idempotency_key: str = Field(min_length=8, max_length=64)
    order_id: int
    bank_code: str
    kind: OrderKindWire
    account_number: str = Field(min_length=16, max_length=19, pattern=r"^\d+$")
    amount_fen: int | None = Field(default=None, gt=0, le=MAX_AMOUNT_FEN)
    expires_at: datetime
    renews: str | None = Field(default=None, description="idempotency key of the order this one renews")
    basis: LegalBasisWire
    callback_url: str


class Acknowledgement(_Msg):
    """bank → pingan, as the HTTP answer to a request: accepted (result follows) or rejected at once."""

    type: Literal["ack"] = "ack"
    idempotency_key: str
    bank_ref: str
    status: Literal["accepted", "rejected"]
    reason_code: RejectReason | None = None
    reason_text: str | None = None


class OrderResult(_Msg):
    """bank → pingan callback (POST {callback_url}), or the answer to a status inquiry."""

    type: Literal["result"] = "result"
    idempotency_key: str
    bank_ref: str
    bank_code: str
    outcome: Literal["pending", "executed", "rejected", "released"]
    held_amount_fen: int = Field(default=0, ge=0, le=MAX_AMOUNT_FEN)
    reason_code: RejectReason | None = None
    reason_text: str | None = None
    at: datetime


class ReleaseRequest(_Msg):
    """pingan → bank: lift an order (POST /banks/{bank}/releases)."""

    type: Literal["release"] = "release"
    idempotency_key: str = Field(min_length=8, max_length=64)
    order_key: str
    bank_code: str
    reason: str = Field(min_length=1, max_length=255)


# ---- batches -------------------------------------------------------------------------------

# The most messages one batch carries. A batch is one signed HTTP exchange: what it saves is the
# per-message transport, signing and parsing, which at a few thousand orders a minute was most of
# the CPU of both ends (bench/stoppay.py).
MAX_BATCH = 100


class RequestBatch(_Msg):
    """pingan → bank: several order requests to one bank (POST /banks/{bank}/orders/batch).

    Each request is handled as if it came alone: deduplicated on its own idempotency key, and
    acknowledged in `AckBatch.acks` at the same position.
    """

    type: Literal["request_batch"] = "request_batch"
    requests: list[OrderRequest] = Field(min_length=1, max_length=MAX_BATCH)


class AckBatch(_Msg):
    """bank → pingan, the HTTP answer to a `RequestBatch`: one acknowledgement per request, in order."""

    type: Literal["ack_batch"] = "ack_batch"
    acks: list[Acknowledgement]


class ResultBatch(_Msg):
    """bank → pingan callback (POST {callback_url}) carrying several results of this bank at once."""

    type: Literal["result_batch"] = "result_batch"
    results: list[OrderResult] = Field(min_length=1, max_length=MAX_BATCH)


def item_nonce(nonce: str, index: int) -> str:
    """The replay key of the `index`-th item of a batch signed with `nonce`.

    Each result of a batch is recorded with its own key, so replaying the batch (or one cut from
    it) is refused item by item, as replaying each message alone would be.
    """
    return hashlib.sha256(f"{nonce}:{index}".encode()).hexdigest()
