"""Automated warning calls over SIP: a small SIP user agent (UDP) with RTP audio and RFC 2833 digits.

The caller sends INVITE with an SDP offer of PCMU/8000 and telephone-event/101, handles 1xx/2xx and
failures (ACK, CANCEL on no answer), plays the espeak-ng prompt as 20 ms PCMU RTP frames, and reads
the keys the person presses as RFC 2833 telephone-events: 1 understood, 2 already transferred,
0 repeat the prompt. It hangs up with BYE. Every SIP message in and out is kept in the call's flow.

Only what a warning call needs is implemented: one outbound proxy or trunk address, no
authentication challenge, no re-INVITE, no SRTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from pingan.antifraud.warnings.channels import (
    Channel,
    ChannelLimits,
    ChannelStatus,
    OutgoingCall,
    OutgoingSms,
    SendResult,
)
from pingan.antifraud.warnings.choices import ChannelKind, MessageState
from pingan.antifraud.warnings.voice_prompts import read_pcm16

FRAME_SAMPLES = 160  # 20 ms at 8 kHz
PT_PCMU = 0
DTMF_EVENTS = "0123456789*#"


def pcmu_encode(pcm16: bytes) -> bytes:
    """G.711 μ-law encoding of 16-bit little-endian samples."""
    x = np.frombuffer(pcm16, dtype="<i2").astype(np.int32)
    sign = (x < 0).astype(np.int32)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    exponent = (np.floor(np.log2(mag)).astype(np.int32) - 7).clip(0, 7)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    ulaw = ~((sign << 7) | (exponent << 4) | mantissa) & 0xFF
    return bytes(ulaw.astype(np.uint8).tobytes())


def silence_frames(seconds: float) -> list[bytes]:
    """μ-law silence, in 20 ms frames."""
    return [b"\xff" * FRAME_SAMPLES] * max(1, int(seconds * 50))


def prompt_frames(path: Path | None, *, fallback_seconds: float = 2.0) -> list[bytes]:
    """The prompt as 20 ms PCMU frames; silence when there is no rendered prompt."""
    if path is None:
        return silence_frames(fallback_seconds)
    ulaw = pcmu_encode(read_pcm16(path))
    pad = (-len(ulaw)) % FRAME_SAMPLES
    ulaw += b"\xff" * pad
    return [ulaw[i : i + FRAME_SAMPLES] for i in range(0, len(ulaw), FRAME_SAMPLES)]


def parse_telephone_event(packet: bytes, event_pt: int) -> tuple[int, str, bool] | None:
    """(RTP timestamp, digit, end bit) of an RFC 2833 telephone-event packet, or None for other packets."""
    if len(packet) < 16 or packet[0] >> 6 != 2:
        return None
    if packet[1] & 0x7F != event_pt:
        return None
    cc = packet[0] & 0x0F
    offset = 12 + 4 * cc
    if packet[0] & 0x10:  # header extension
        if len(packet) < offset + 4:
            return None
        offset += 4 + 4 * struct.unpack("!H", packet[offset + 2 : offset + 4])[0]
    if len(packet) < offset + 4:
        return None
    event = packet[offset]
    if event >= len(DTMF_EVENTS):
        return None
    ts = struct.unpack("!I", packet[4:8])[0]
    return ts, DTMF_EVENTS[event], bool(packet[offset + 1] & 0x80)


@dataclass
class SipTimers:
    """SIP and call timers, in seconds. RFC 3261 defaults for T1; the rest are this service's choices."""

    t1: float = 0.5
    invite_timeout: float = 32.0  # Timer B: no response at all means the peer is down
    ring_timeout: float = 30.0  # ringing this long without an answer is "no answer"
    digit_timeout: float = 8.0  # after the prompt, how long to wait for a key
    max_repeats: int = 2  # how often "0" may replay the prompt
    bye_timeout: float = 4.0


@dataclass
class SipMessage:
    """A parsed SIP request or response."""

    first_line: str
    headers: dict[str, str]
    body: str

    @property
    def is_response(self) -> bool:
        return self.first_line.startswith("SIP/2.0 ")

    @property
    def status(self) -> int:
        return int(self.first_line.split(" ", 2)[1]) if self.is_response else 0

    @property
    def method(self) -> str:
        if self.is_response:
            return self.headers.get("cseq", "0 ?").split()[-1]
        return self.first_line.split(" ", 1)[0]

    def h(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
}


def parse_sip(data: bytes) -> SipMessage | None:
    """Parse one SIP datagram; None when it is not SIP."""
    try:
        text = data.decode("utf-8", errors="replace")
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" not in line:
                continue
            name, value = line.split(":", 1)
            key = _COMPACT.get(name.strip().lower(), name.strip().lower())
            headers.setdefault(key, value.strip())  # the first Via is ours
        return SipMessage(lines[0], headers, body)
    except (ValueError, IndexError):
        return None


def _uri_of(header_value: str) -> str:
    if "<" in header_value:
        return header_value.split("<", 1)[1].split(">", 1)[0]
    return header_value.split(";", 1)[0].strip()


def _sdp_media(body: str) -> tuple[str | None, int | None, int]:
    """(address, audio port, telephone-event payload type) of an SDP answer."""
    addr: str | None = None
    port: int | None = None
    event_pt = 101
    for line in body.splitlines():
        if line.startswith("c=IN IP4 "):
            addr = line.split()[-1]
        elif line.startswith("m=audio "):
            port = int(line.split()[1])
        elif line.startswith("a=rtpmap:") and "telephone-event" in line:
            event_pt = int(line.split(":", 1)[1].split()[0])
    return addr, port, event_pt


@dataclass
class CallOutcome:
    """How one call went: its state, keys pressed, and the SIP flow (`> INVITE`, `< 200 OK`, ...)."""

    state: MessageState
    digit: str | None = None
    digits: list[str] = field(default_factory=list)
    repeats: int = 0
    sip_status: int | None = None
    reason: str = ""
    flow: list[str] = field(default_factory=list)


class _RtpSink(asyncio.DatagramProtocol):
    def __init__(self, call: _Call) -> None:
        self.call = call
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        ev = parse_telephone_event(data, self.call.event_pt)
        if ev is None:
            return
        ts, digit, end = ev
        if end and ts not in self.call.seen_event_ts:
            self.call.seen_event_ts.add(ts)
            self.call.flow.append(f"< RTP telephone-event {digit}")
            self.call.digits.put_nowait(digit)


@dataclass
class _Call:
    call_id: str
    from_tag: str
    branch: str
    request_uri: str
    responses: asyncio.Queue[SipMessage] = field(default_factory=asyncio.Queue)
    digits: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    remote_bye: asyncio.Event = field(default_factory=asyncio.Event)
    seen_event_ts: set[int] = field(default_factory=set)
    flow: list[str] = field(default_factory=list)
    event_pt: int = 101


class SipCaller(asyncio.DatagramProtocol):
    """A SIP user agent client that places warning calls through one peer (trunk or proxy)."""

    def __init__(
        self,
        peer: tuple[str, int],
        *,
        local_host: str = "127.0.0.1",
        caller_id: str = "96110",
        timers: SipTimers | None = None,
    ) -> None:
        self.peer = peer
        self.local_host = local_host
        self.caller_id = caller_id
        self.timers = timers or SipTimers()
        self.transport: asyncio.DatagramTransport | None = None
        self.local_port = 0
        self.calls: dict[str, _Call] = {}

    async def start(self) -> None:
        """Open the SIP socket on an ephemeral local port."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(self.local_host, 0))
        self.transport = transport
        self.local_port = transport.get_extra_info("sockname")[1]

    def close(self) -> None:
        """Close the SIP socket."""
        if self.transport is not None:
            self.transport.close()

    # --- transport ---------------------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        msg = parse_sip(data)
        if msg is None:
            return
        call = self.calls.get(msg.h("call-id"))
        if msg.is_response:
            if call is not None:
                call.responses.put_nowait(msg)
            return
        # A request from the peer: BYE (they hung up), or something we answer plainly.
        status = "200 OK" if msg.method in ("BYE", "OPTIONS", "ACK") else "501 Not Implemented"
        if call is not None:
            call.flow.append(f"< {msg.method}")
            if msg.method == "BYE":
                call.remote_bye.set()
        if msg.method != "ACK":
            self._send_raw(self._response_to(msg, status), (str(addr[0]), int(addr[1])))
            if call is not None:
                call.flow.append(f"> {status}")

    def _send_raw(self, text: str, addr: tuple[str, int] | None = None) -> None:
        assert self.transport is not None
        self.transport.sendto(text.encode(), addr or self.peer)

    def _response_to(self, req: SipMessage, status: str) -> str:
        return (
            f"SIP/2.0 {status}\r\nVia: {req.h('via')}\r\nFrom: {req.h('from')}\r\nTo: {req.h('to')}\r\n"
            f"Call-ID: {req.h('call-id')}\r\nCSeq: {req.h('cseq')}\r\nContent-Length: 0\r\n\r\n"
        )

    def _request(
        self,
        call: _Call,
        method: str,
        cseq: int,
        *,
        uri: str,
        branch: str,
        to: str,
        body: str = "",
        ctype: str = "",
    ) -> str:
        me = f"{self.local_host}:{self.local_port}"
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {me};branch={branch};rport",
            "Max-Forwards: 70",
            f'From: "{self.caller_id}" <sip:{self.caller_id}@{me}>;tag={call.from_tag}',
            f"To: {to}",
            f"Call-ID: {call.call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:{self.caller_id}@{me}>",
            "User-Agent: pingan-warnings",
        ]
        if ctype:
            lines.append(f"Content-Type: {ctype}")
        lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    # --- one call ----------------------------------------------------------------------------------

    async def call(self, number: str, frames: list[bytes], *, call_key: str = "") -> CallOutcome:
        """Call `number`, play `frames` (20 ms PCMU each), collect keys, hang up; never raises for the peer."""
        assert self.transport is not None, "start() first"
        loop = asyncio.get_running_loop()
        call = _Call(
            call_id=f"{call_key or secrets.token_hex(6)}-{secrets.token_hex(4)}@{self.local_host}",
            from_tag=secrets.token_hex(4),
            branch="z9hG4bK" + secrets.token_hex(8),
            request_uri=f"sip:{number}@{self.peer[0]}:{self.peer[1]}",
        )
        self.calls[call.call_id] = call
        rtp_transport, _ = await loop.create_datagram_endpoint(
            lambda: _RtpSink(call), local_addr=(self.local_host, 0)
        )
        rtp_port = rtp_transport.get_extra_info("sockname")[1]
        try:
            return await self._run_call(call, frames, rtp_transport, rtp_port)
        finally:
            rtp_transport.close()
            self.calls.pop(call.call_id, None)

    async def _run_call(
        self, call: _Call, frames: list[bytes], rtp: asyncio.DatagramTransport, rtp_port: int
    ) -> CallOutcome:
        t = self.timers
        sess = str(int(time.time()))
        sdp = (
            f"v=0\r\no=pingan {sess} {sess} IN IP4 {self.local_host}\r\ns=pingan warning\r\n"
            f"c=IN IP4 {self.local_host}\r\nt=0 0\r\nm=audio {rtp_port} RTP/AVP 0 101\r\n"
            "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
        )
        to_plain = f"<{call.request_uri}>"
        invite = self._request(
            call,
            "INVITE",
            1,
            uri=call.request_uri,
            branch=call.branch,
            to=to_plain,
            body=sdp,
            ctype="application/sdp",
        )
        out = CallOutcome(MessageState.FAILED, flow=call.flow)
        self._send_raw(invite)
        call.flow.append("> INVITE")
        loop = asyncio.get_running_loop()
        started = loop.time()
        retransmit_at, interval = started + t.t1, t.t1
        provisional = False
        ring_deadline: float | None = None
        cancelled = False
        final: SipMessage | None = None
        while final is None:
            now = loop.time()
            if not provisional and now - started >= t.invite_timeout:
                out.reason = "peer_unreachable:no_response_to_invite"
                return out
            if ring_deadline is not None and now >= ring_deadline and not cancelled:
                cancel = self._request(
                    call, "CANCEL", 1, uri=call.request_uri, branch=call.branch, to=to_plain
                )
                self._send_raw(cancel)
                call.flow.append("> CANCEL")
                cancelled = True
                ring_deadline = now + t.invite_timeout / 4
            elif cancelled and ring_deadline is not None and now >= ring_deadline:
                out.state, out.reason = MessageState.NO_ANSWER, "no_answer:cancel_unanswered"
                return out
            wake = [started + t.invite_timeout] if not provisional else []
            if not provisional:
                wake.append(retransmit_at)
            if ring_deadline is not None:
                wake.append(ring_deadline)
            timeout = max(0.0, min(wake) - now) if wake else None
            try:
                msg = await asyncio.wait_for(call.responses.get(), timeout)
            except TimeoutError:
                if not provisional and loop.time() >= retransmit_at:
                    self._send_raw(invite)  # Timer A: retransmit until anything comes back
                    interval = min(interval * 2, 4.0)
                    retransmit_at = loop.time() + interval
                continue
            if msg.method == "CANCEL":
                call.flow.append(f"< {msg.first_line[8:]} (CANCEL)")
                continue
            if msg.method != "INVITE":
                continue
            call.flow.append(f"< {msg.first_line[8:]}")
            if msg.status < 200:
                if not provisional:
                    provisional = True
                    ring_deadline = loop.time() + t.ring_timeout
                continue
            final = msg
        out.sip_status = final.status
        to_tagged = final.h("to")
        if final.status >= 300:
            # Non-2xx: ACK on the INVITE's transaction (same branch), then classify.
            self._send_raw(
                self._request(call, "ACK", 1, uri=call.request_uri, branch=call.branch, to=to_tagged)
            )
            call.flow.append("> ACK")
            if final.status in (486, 600):
                out.state, out.reason = MessageState.BUSY, f"busy:{final.status}"
            elif final.status in (480, 408, 487):
                out.state, out.reason = MessageState.NO_ANSWER, f"no_answer:{final.status}"
            else:
                out.state, out.reason = MessageState.FAILED, f"rejected:{final.status}"
            return out
        remote_uri = _uri_of(final.h("contact")) or call.request_uri
        ack = self._request(
            call, "ACK", 1, uri=remote_uri, branch="z9hG4bK" + secrets.token_hex(8), to=to_tagged
        )
        self._send_raw(ack)
        call.flow.append("> ACK")
        addr, port, call.event_pt = _sdp_media(final.body)
        out.state = MessageState.ANSWERED
        media = (addr or self.peer[0], port or 0)
        await self._converse(call, frames, rtp, media, out)
        if not call.remote_bye.is_set():
            await self._hang_up(call, remote_uri, to_tagged)
        return out

    async def _converse(
        self,
        call: _Call,
        frames: list[bytes],
        rtp: asyncio.DatagramTransport,
        media: tuple[str, int],
        out: CallOutcome,
    ) -> None:
        """Play the prompt and listen for keys: 0 replays, 1 or 2 ends the call."""
        loop = asyncio.get_running_loop()
        ssrc = secrets.randbits(32)
        seq, ts = secrets.randbits(16), secrets.randbits(32)
        plays = 0
        while True:
            plays += 1
            start = loop.time()
            key: str | None = None
            for i, frame in enumerate(frames):
                if call.remote_bye.is_set():
                    out.reason = "remote_hung_up"
                    return
                if not call.digits.empty():
                    key = call.digits.get_nowait()
                    break
                header = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | PT_PCMU, seq, ts, ssrc)
                if media[1]:
                    rtp.sendto(header + frame, media)
                seq, ts = (seq + 1) & 0xFFFF, (ts + FRAME_SAMPLES) & 0xFFFFFFFF
                delay = start + (i + 1) * 0.02 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            if key is None:
                bye_wait = asyncio.ensure_future(call.remote_bye.wait())
                digit_wait = asyncio.ensure_future(call.digits.get())
                done, pending = await asyncio.wait(
                    {bye_wait, digit_wait},
                    timeout=self.timers.digit_timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for p in pending:
                    p.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await p
                if digit_wait in done:
                    key = digit_wait.result()
                elif bye_wait in done:
                    out.reason = "remote_hung_up"
                    return
            if key is None:
                out.reason = "no_key_pressed"
                return
            out.digits.append(key)
            if key == "0" and plays <= self.timers.max_repeats:
                out.repeats += 1
                continue
            if key in ("1", "2"):
                out.digit = key
                out.reason = {"1": "understood", "2": "already_transferred"}[key]
                return
            if key != "0":
                continue  # another key: keep listening, replaying the prompt
            out.reason = "repeat_limit"
            return

    async def _hang_up(self, call: _Call, remote_uri: str, to_tagged: str) -> None:
        bye = self._request(
            call, "BYE", 2, uri=remote_uri, branch="z9hG4bK" + secrets.token_hex(8), to=to_tagged
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timers.bye_timeout
        interval = self.timers.t1
        self._send_raw(bye)
        call.flow.append("> BYE")
        while loop.time() < deadline:
            try:
                msg = await asyncio.wait_for(call.responses.get(), min(interval, deadline - loop.time()))
            except TimeoutError:
                self._send_raw(bye)
                interval = min(interval * 2, 4.0)
                continue
            if msg.method == "BYE" and msg.status >= 200:
                call.flow.append(f"< {msg.first_line[8:]}")
                return
        call.flow.append("! BYE unanswered")


class SipVoiceChannel(Channel):
    """Warning calls through a SIP trunk or proxy."""

    kind = ChannelKind.VOICE

    def __init__(
        self,
        peer: tuple[str, int],
        *,
        name: str = "sip",
        local_host: str = "127.0.0.1",
        timers: SipTimers | None = None,
        limits: ChannelLimits | None = None,
    ) -> None:
        self.name = name
        self.limits = limits or ChannelLimits(rate_per_s=20.0, burst=20, concurrency=64)
        self.caller = SipCaller(peer, local_host=local_host, timers=timers)
        self._started = False
        self._frames: dict[Path | None, list[bytes]] = {}

    async def _ensure_started(self) -> None:
        if not self._started:
            await self.caller.start()
            self._started = True

    async def send(self, item: OutgoingSms | OutgoingCall) -> SendResult:
        """Place one call and report its outcome, keys and SIP flow."""
        assert isinstance(item, OutgoingCall), "the SIP channel places calls"
        await self._ensure_started()
        if item.prompt_wav not in self._frames:
            self._frames[item.prompt_wav] = prompt_frames(item.prompt_wav)
        outcome = await self.caller.call(item.phone, self._frames[item.prompt_wav], call_key=item.message_key)
        return SendResult(
            item.message_key,
            outcome.state,
            error=None if outcome.state is MessageState.ANSWERED else outcome.reason,
            digit=outcome.digit,
            digits=tuple(outcome.digits),
            flow=tuple(outcome.flow),
            detail={"reason": outcome.reason, "sip_status": str(outcome.sip_status or "")},
        )

    async def status(self) -> ChannelStatus:
        """Send OPTIONS to the peer and see whether anything answers within a second."""
        await self._ensure_started()
        call = _Call(
            call_id=f"options-{secrets.token_hex(6)}@{self.caller.local_host}",
            from_tag=secrets.token_hex(4),
            branch="z9hG4bK" + secrets.token_hex(8),
            request_uri=f"sip:{self.caller.peer[0]}:{self.caller.peer[1]}",
        )
        self.caller.calls[call.call_id] = call
        try:
            self.caller._send_raw(
                self.caller._request(
                    call, "OPTIONS", 1, uri=call.request_uri, branch=call.branch, to=f"<{call.request_uri}>"
                )
            )
            msg = await asyncio.wait_for(call.responses.get(), 1.0)
            return ChannelStatus(True, msg.first_line)
        except TimeoutError:
            return ChannelStatus(False, "no answer to OPTIONS")
        finally:
            self.caller.calls.pop(call.call_id, None)

    async def aclose(self) -> None:
        """Close the SIP socket."""
        self.caller.close()
