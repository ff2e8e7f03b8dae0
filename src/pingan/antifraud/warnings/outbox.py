"""The outbox channels, the embedded default: nothing leaves the building.

The SMS outbox records the text (it is the message's body, shown on the person's warning timeline).
The voice outbox renders the prompt that the call would have played and keeps it as a WAV file.
`make demo` runs with these.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from pingan.antifraud.warnings.channels import (
    Channel,
    ChannelLimits,
    ChannelStatus,
    OutgoingCall,
    OutgoingSms,
    SendResult,
)
from pingan.antifraud.warnings.choices import ChannelKind, MessageState
from pingan.core.settings import get_settings

UNLIMITED = ChannelLimits(rate_per_s=100_000.0, burst=10_000, concurrency=64)


def outbox_dir() -> Path:
    """Where the voice outbox keeps call audio."""
    return get_settings().data_dir / "warnings" / "outbox"


class OutboxSmsChannel(Channel):
    """Record texts instead of sending them."""

    kind = ChannelKind.SMS
    name = "outbox"
    limits = UNLIMITED

    async def send(self, item: OutgoingSms | OutgoingCall) -> SendResult:
        """Record the text: the message row already holds it, so this only marks it recorded."""
        assert isinstance(item, OutgoingSms)
        return SendResult(item.message_key, MessageState.RECORDED, detail={"outbox": "sms recorded"})

    async def status(self) -> ChannelStatus:
        """Always up."""
        return ChannelStatus(True, "outbox")


class OutboxVoiceChannel(Channel):
    """Write the call's audio as WAV instead of calling."""

    kind = ChannelKind.VOICE
    name = "outbox"
    limits = UNLIMITED

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    async def send(self, item: OutgoingSms | OutgoingCall) -> SendResult:
        """Copy the rendered prompt into the outbox as `<message_key>.wav`."""
        assert isinstance(item, OutgoingCall)
        if item.prompt_wav is None:
            return SendResult(
                item.message_key, MessageState.RECORDED, error="prompt not rendered (espeak-ng missing)"
            )
        folder = self.folder or outbox_dir()
        target = folder / f"{item.message_key}.wav"

        def copy() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.prompt_wav, target)  # type: ignore[arg-type]

        await asyncio.to_thread(copy)
        return SendResult(item.message_key, MessageState.RECORDED, audio_path=str(target))

    async def status(self) -> ChannelStatus:
        """Always up."""
        return ChannelStatus(True, "outbox")
