"""The channel interface: every way of delivering a warning sends, reports status, and is rate-limited.

A channel sends one item and says what happened (`SendResult`); it never writes to the database.
Retries are decided in `rules.py` and scheduled by `jobs.py`. Each channel carries its limits, and
`send_all` holds every channel to them: a token bucket for the rate and a semaphore for concurrency.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pingan.antifraud.warnings.choices import ChannelKind, MessageState


@dataclass(frozen=True)
class OutgoingSms:
    """One text to send. `phone` is the clear number, decrypted by the sender just before sending."""

    message_key: str
    phone: str
    text: str


@dataclass(frozen=True)
class OutgoingCall:
    """One call to place, with its rendered prompt (8 kHz mono WAV)."""

    message_key: str
    phone: str
    prompt_text: str
    prompt_wav: Path | None


@dataclass(frozen=True)
class SendResult:
    """What a channel did with one item.

    `transient` means the channel could not be reached (the item should be tried again later);
    otherwise `state` is the item's new state.
    """

    message_key: str
    state: MessageState
    transient: bool = False
    error: str | None = None
    digit: str | None = None
    digits: tuple[str, ...] = ()
    flow: tuple[str, ...] = ()
    audio_path: str | None = None
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelLimits:
    """How hard a channel may be driven: items per second (with a burst) and items in flight."""

    rate_per_s: float
    burst: int
    concurrency: int


@dataclass(frozen=True)
class ChannelStatus:
    """Whether a channel's peer answers, and what it said."""

    up: bool
    detail: str


class Channel(ABC):
    """A way of delivering warnings (SMS gateway, SIP trunk, outbox)."""

    name: str
    kind: ChannelKind
    limits: ChannelLimits

    @abstractmethod
    async def send(self, item: OutgoingSms | OutgoingCall) -> SendResult:
        """Deliver one item; errors reaching the peer come back as a transient result, not an exception."""

    @abstractmethod
    async def status(self) -> ChannelStatus:
        """Ask the peer whether it is up."""

    async def aclose(self) -> None:
        """Release connections and sockets."""
        return None


class TokenBucket:
    """A rate limiter: `rate` tokens per second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self._now = time.monotonic
        self.updated = self._now()

    def delay_for_one(self, now: float) -> float:
        """Take one token if there is one (return 0), or return how long to wait for it."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    async def acquire(self) -> None:
        """Wait until one token is free and take it."""
        while (wait := self.delay_for_one(self._now())) > 0:
            await asyncio.sleep(wait)


async def send_all(channel: Channel, items: Sequence[OutgoingSms | OutgoingCall]) -> list[SendResult]:
    """Send `items` through `channel` within its rate and concurrency limits; results in item order."""
    bucket = TokenBucket(channel.limits.rate_per_s, channel.limits.burst)
    gate = asyncio.Semaphore(channel.limits.concurrency)

    async def one(item: OutgoingSms | OutgoingCall) -> SendResult:
        await bucket.acquire()
        async with gate:
            try:
                return await channel.send(item)
            except Exception as exc:  # a channel bug must not lose the batch: the item is retried
                return SendResult(item.message_key, MessageState.QUEUED, transient=True, error=repr(exc))

    return list(await asyncio.gather(*(one(i) for i in items)))
