"""SMS through Kannel's HTTP sendsms interface, with delivery reports (DLR) back to pingan.

Each message goes to Kannel with its stable `message_key` inside a signed dlr-url: every DLR names
the message it belongs to, and a token (HMAC of the key) proves it came from a URL pingan wrote.
Texts are sent as UCS-2 (coding=2), the only GSM coding that carries Chinese.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse

import httpx

from pingan.antifraud.warnings.channels import (
    Channel,
    ChannelLimits,
    ChannelStatus,
    OutgoingCall,
    OutgoingSms,
    SendResult,
)
from pingan.antifraud.warnings.model import ChannelKind, MessageState
from pingan.antifraud.warnings.rules import SMS_VALIDITY

DLR_PATH = "/sms-gateway/kannel/dlr"
# Report every DLR Kannel knows: 1 delivered, 2 undelivered, 4 buffered, 8 SMSC accepted, 16 SMSC rejected.
DLR_MASK = 31


def dlr_token(key: bytes, message_key: str) -> str:
    """The token that authenticates DLRs of `message_key`."""
    return hmac.new(key, message_key.encode(), hashlib.sha256).hexdigest()[:32]


def verify_dlr_token(key: bytes, message_key: str, token: str) -> bool:
    """True when `token` was made by `dlr_token` with this key for this message."""
    return hmac.compare_digest(dlr_token(key, message_key), token)


def dlr_url(base_url: str, key: bytes, message_key: str) -> str:
    """The dlr-url handed to Kannel; Kannel fills in %d (type), %A (SMSC answer), %T (time), %i (SMSC id)."""
    q = urllib.parse.urlencode({"mid": message_key, "t": dlr_token(key, message_key)})
    return f"{base_url.rstrip('/')}{DLR_PATH}?{q}&type=%d&answer=%A&ts=%T&smsc=%i"


class KannelSmsChannel(Channel):
    """Send texts through a Kannel smsbox."""

    kind = ChannelKind.SMS

    def __init__(
        self,
        *,
        sendsms_url: str,
        username: str,
        password: str,
        callback_base_url: str,
        dlr_key: bytes,
        sender: str = "96110",
        limits: ChannelLimits | None = None,
        timeout_s: float = 5.0,
        name: str = "kannel",
    ) -> None:
        self.name = name
        self.limits = limits or ChannelLimits(rate_per_s=1000.0, burst=200, concurrency=64)
        self.sendsms_url = sendsms_url
        self.username = username
        self.password = password
        self.callback_base_url = callback_base_url
        self.dlr_key = dlr_key
        self.sender = sender
        self.client = httpx.AsyncClient(
            timeout=timeout_s,
            limits=httpx.Limits(
                max_connections=self.limits.concurrency, max_keepalive_connections=self.limits.concurrency
            ),
        )

    def query(self, item: OutgoingSms) -> str:
        """The sendsms query string for one text."""
        params = {
            "username": self.username,
            "password": self.password,
            "from": self.sender,
            "to": item.phone,
            "text": item.text.encode("utf-16-be"),
            "coding": "2",
            "charset": "UTF-16BE",
            "dlr-mask": str(DLR_MASK),
            "dlr-url": dlr_url(self.callback_base_url, self.dlr_key, item.message_key),
            "validity": str(int(SMS_VALIDITY.total_seconds() // 60)),
        }
        return urllib.parse.urlencode(params)

    async def send(self, item: OutgoingSms | OutgoingCall) -> SendResult:
        """Submit one text; 202 is submitted, a refused connection or a 5xx is transient, a 4xx is failed."""
        assert isinstance(item, OutgoingSms), "Kannel sends texts"
        try:
            r = await self.client.get(f"{self.sendsms_url}?{self.query(item)}")
        except httpx.HTTPError as exc:
            return SendResult(
                item.message_key, MessageState.QUEUED, transient=True, error=f"kannel unreachable: {exc!r}"
            )
        body = r.text.strip()
        if r.status_code in (200, 202):
            return SendResult(item.message_key, MessageState.SUBMITTED, detail={"kannel": body})
        if r.status_code >= 500 or r.status_code == 429:
            return SendResult(
                item.message_key, MessageState.QUEUED, transient=True, error=f"kannel {r.status_code}: {body}"
            )
        return SendResult(
            item.message_key, MessageState.FAILED, error=f"kannel refused {r.status_code}: {body}"
        )

    async def status(self) -> ChannelStatus:
        """Whether the smsbox answers HTTP at all."""
        try:
            r = await self.client.get(self.sendsms_url)
        except httpx.HTTPError as exc:
            return ChannelStatus(False, f"unreachable: {exc!r}")
        return ChannelStatus(True, f"HTTP {r.status_code}")

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.client.aclose()
