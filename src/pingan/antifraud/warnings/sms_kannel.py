"""SMS through Kannel's HTTP sendsms interface, with delivery reports (DLR) back to pingan.

Each message goes to Kannel with its stable `message_key` inside a signed dlr-url: every DLR names
the message it belongs to, and a token (HMAC of the key and the URL's expiry) proves it came from a
URL pingan wrote for that message. Texts are sent as UCS-2 (coding=2), the only GSM coding that
carries Chinese.

What the token cannot cover, and what covers it instead. Kannel keeps one dlr-url per message and
substitutes `%d` (the DLR type: delivered, failed, ...) into it when it calls back, after pingan
signed it; Kannel cannot compute an HMAC, and a per-state URL does not exist in Kannel. So the type
is not signed, and whoever holds a message's dlr-url (from a log on the Kannel host, or the network
between Kannel and pingan) can post any type for that one message. Three things bound this:

1. Only the gateway may call: the DLR endpoint accepts reports only from the addresses in
   `PINGAN_WARNINGS_DLR_SOURCES` (the Kannel hosts; loopback by default), so a URL seen elsewhere
   cannot be used from elsewhere.
2. A URL dies with its message: the token signs an expiry (the text's validity plus an hour), so a
   URL found later in an old log is refused.
3. What one forged type can do is small: states only move forward and a final state is final
   (`rules.sms_transition`), so once Kannel's own final report arrived, nothing changes it; and no
   decision that protects the person rests on the text's state: the call and its escalation to a
   home visit are queued at acceptance and go ahead whatever the text's receipt says.

Residual risk, stated plainly: someone who can read a message's dlr-url and send requests from an
allowed gateway address can, before Kannel's final report comes, record that one text as delivered
when it failed (inflating the SMS reach figure and hiding one failure), or as failed when it was
delivered. They cannot touch another message, undo a final state, or suppress the voice call.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import urllib.parse
from datetime import datetime, timedelta
from functools import lru_cache

from pingan.antifraud.warnings.channels import (
    Channel,
    ChannelLimits,
    ChannelStatus,
    OutgoingCall,
    OutgoingSms,
    SendResult,
)
from pingan.antifraud.warnings.choices import ChannelKind, MessageState
from pingan.antifraud.warnings.rules import SMS_VALIDITY
from pingan.core import clock

DLR_PATH = "/sms-gateway/kannel/dlr"
# Kannel's HTTP server listens with a backlog of 10 (gwlib). A burst of new connections beyond it
# has its SYNs dropped, and the kernel tries again only after 1 s: measured at the sender's start
# with 64 connections opened at once, up to 39 of the first 300 texts took 1.0 to 1.5 s to submit
# (p99 from plan to submitted over 1 s in bench/channels.py runs that were otherwise at 0.3 s);
# opened 8 at a time, none of them over 0.22 s.
CONNECTS_AT_ONCE = 8
# Report every DLR Kannel knows: 1 delivered, 2 undelivered, 4 buffered, 8 SMSC accepted, 16 SMSC rejected.
DLR_MASK = 31


# A dlr-url stays valid for the text's validity (after which Kannel reports nothing more) plus a
# margin for Kannel's own retries of a report that pingan could not take at once.
DLR_URL_LIFETIME = SMS_VALIDITY + timedelta(hours=1)


def dlr_expiry(now: datetime) -> int:
    """The expiry (Unix seconds) to sign into the dlr-url of a text sent at `now`."""
    return int((now + DLR_URL_LIFETIME).timestamp())


def dlr_token(key: bytes, message_key: str, expires: int) -> str:
    """The token that authenticates DLRs of `message_key` until `expires` (Unix seconds)."""
    return hmac.new(key, f"{message_key}|{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def verify_dlr_token(key: bytes, message_key: str, expires: int, token: str) -> bool:
    """True when `token` was made by `dlr_token` with this key for this message and expiry."""
    return hmac.compare_digest(dlr_token(key, message_key, expires), token)


def dlr_params(key: bytes, message_key: str, *, now: datetime) -> dict[str, str]:
    """The signed part of a message's dlr-url: message id, expiry and token."""
    exp = dlr_expiry(now)
    return {"mid": message_key, "exp": str(exp), "t": dlr_token(key, message_key, exp)}


def dlr_url(base_url: str, key: bytes, message_key: str, *, now: datetime) -> str:
    """The dlr-url handed to Kannel; Kannel fills in %d (type), %A (SMSC answer), %T (time), %i (SMSC id).

    `type` comes after the signature: see the module docstring for what covers it instead.
    """
    q = urllib.parse.urlencode(dlr_params(key, message_key, now=now))
    return f"{base_url.rstrip('/')}{DLR_PATH}?{q}&type=%d&answer=%A&ts=%T&smsc=%i"


@lru_cache(maxsize=1024)
def _encoded_text(text: str) -> str:
    """A text as UCS-2 (UTF-16BE), percent-encoded for the query string.

    Cached: texts come from a few templates, and percent-encoding 140 bytes of UCS-2 a text was
    about 7% of the sender's CPU (py-spy --gil, bench/channels.py).
    """
    return urllib.parse.quote_plus(text.encode("utf-16-be"))


class _Connection:
    """One kept-open HTTP/1.1 connection to the smsbox."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @property
    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class _InDoubt(Exception):
    """The request was written but no full answer came: Kannel may or may not have taken the text."""


class KannelSmsChannel(Channel):
    """Send texts through a Kannel smsbox, over a small pool of kept-open HTTP/1.1 connections.

    Measured on loopback (bench/channels.py): httpx's async pool cost about 20 ms of CPU per sendsms
    and topped out near 200 texts/s, while plain kept-open sockets reach the smsbox's own limit
    (about 650 texts/s on 8 connections; more connections only queue inside smsbox). So the channel
    speaks the few lines of HTTP/1.1 that sendsms needs itself, on `limits.concurrency` connections.
    """

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
        self.limits = limits or ChannelLimits(rate_per_s=1000.0, burst=200, concurrency=8)
        self.sendsms_url = sendsms_url
        self.username = username
        self.password = password
        self.callback_base_url = callback_base_url
        self.dlr_key = dlr_key
        self.sender = sender
        self.timeout_s = timeout_s
        url = urllib.parse.urlsplit(sendsms_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(
                f"the sendsms URL must be plain http://host:port/path (loopback or a private link): {sendsms_url}"
            )
        self._host = url.hostname
        self._port = url.port or 80
        self._path = url.path or "/"
        self._idle: list[_Connection] = []
        self._gate = asyncio.Semaphore(self.limits.concurrency)
        self._connecting = asyncio.Semaphore(CONNECTS_AT_ONCE)

    def query(self, item: OutgoingSms) -> str:
        """The sendsms query string for one text."""
        params = {
            "username": self.username,
            "password": self.password,
            "from": self.sender,
            "to": item.phone,
            "coding": "2",
            "charset": "UTF-16BE",
            "dlr-mask": str(DLR_MASK),
            "dlr-url": dlr_url(self.callback_base_url, self.dlr_key, item.message_key, now=clock.now()),
            "validity": str(int(SMS_VALIDITY.total_seconds() // 60)),
        }
        return f"{urllib.parse.urlencode(params)}&text={_encoded_text(item.text)}"

    def _idle_connection(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable:
                return conn
            conn.close()
        return None

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port), self.timeout_s
        )
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer)

    async def _get(self, target: str) -> tuple[int, str]:
        """One GET on a pooled connection. OSError before the request is written; _InDoubt after."""
        async with self._gate:
            if (conn := self._idle_connection()) is not None:
                return await self._exchange(conn, target)
            # A new connection counts against CONNECTS_AT_ONCE until its first answer: only then is
            # it known to have left Kannel's accept queue.
            async with self._connecting:
                conn = self._idle_connection() or await self._open()
                return await self._exchange(conn, target)

    async def _exchange(self, conn: _Connection, target: str) -> tuple[int, str]:
        try:
            conn.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n\r\n".encode())
            await conn.writer.drain()
        except OSError:
            conn.close()
            raise
        try:
            status, body, keep = await asyncio.wait_for(_read_response(conn.reader), self.timeout_s)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            conn.close()
            raise _InDoubt(repr(exc)) from exc
        if keep:
            self._idle.append(conn)
        else:
            conn.close()
        return status, body

    async def send(self, item: OutgoingSms | OutgoingCall) -> SendResult:
        """Submit one text; 202 is submitted, a refused connection or a 5xx is transient, a 4xx is failed.

        A request that was written but got no answer is left in flight (`sending`): Kannel may have
        taken it, so it is not re-queued here; `do_recover_in_doubt` decides from its receipts.
        """
        assert isinstance(item, OutgoingSms), "Kannel sends texts"
        try:
            status, body = await self._get(f"{self._path}?{self.query(item)}")
        except _InDoubt as exc:
            return SendResult(item.message_key, MessageState.SENDING, error=f"kannel answer lost: {exc}")
        except (OSError, TimeoutError) as exc:
            return SendResult(
                item.message_key, MessageState.QUEUED, transient=True, error=f"kannel unreachable: {exc!r}"
            )
        body = body.strip()
        if status in (200, 202):
            return SendResult(item.message_key, MessageState.SUBMITTED, detail={"kannel": body})
        if status >= 500 or status == 429:
            return SendResult(
                item.message_key, MessageState.QUEUED, transient=True, error=f"kannel {status}: {body}"
            )
        return SendResult(item.message_key, MessageState.FAILED, error=f"kannel refused {status}: {body}")

    async def status(self) -> ChannelStatus:
        """Whether the smsbox answers HTTP at all."""
        try:
            status, _ = await self._get(self._path)
        except (OSError, TimeoutError, _InDoubt) as exc:
            return ChannelStatus(False, f"unreachable: {exc!r}")
        return ChannelStatus(True, f"HTTP {status}")

    async def aclose(self) -> None:
        """Close the kept-open connections."""
        while self._idle:
            self._idle.pop().close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, str, bool]:
    """Read one HTTP/1.x response: (status, body, whether the connection may be reused)."""
    status_line = await reader.readuntil(b"\r\n")
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise ValueError(f"not an HTTP response: {status_line[:60]!r}")
    status = int(parts[1])
    length: int | None = None
    keep = parts[0] == b"HTTP/1.1"
    chunked = False
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            keep = value == b"keep-alive" or (keep and value != b"close")
        elif name == b"transfer-encoding" and b"chunked" in value:
            chunked = True
    if chunked:
        body = b""
        while (size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)) > 0:
            body += await reader.readexactly(size + 2)
            body = body[:-2]
        await reader.readuntil(b"\r\n")
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body, keep = await reader.read(), False
    return status, body.decode("utf-8", "replace"), keep
