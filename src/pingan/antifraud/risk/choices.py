"""Statuses of warning plans and their steps: what other packages may import."""

from __future__ import annotations

from enum import StrEnum


class PlanStatus(StrEnum):
    """Where a warning plan stands."""

    PENDING = "pending"  # in the outbox, waiting for a channel
    CLAIMED = "claimed"  # a channel worker holds it (lease until claim_expires_at)
    WAITING = "waiting"  # steps sent, waiting for what the channel reports back
    DONE = "done"  # every step that was due has ended
    CANCELLED = "cancelled"


class StepChannel(StrEnum):
    """How a step warns: SMS now, then a voice call, then a home visit by the station."""

    SMS = "sms"
    VOICE = "voice"
    HOME_VISIT = "home_visit"


class StepState(StrEnum):
    """A step's state. `unanswered` on the voice step is what escalates to a home visit."""

    WAITING = "waiting"  # not due yet: waits for the step before it
    DUE = "due"
    SENT = "sent"
    DELIVERED = "delivered"  # a delivery report (DLR) said the text reached the phone
    # Written down by an outbox channel, nothing handed to a real one: final, and not a contact.
    RECORDED = "recorded"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    FAILED = "failed"
    DONE = "done"
    SKIPPED = "skipped"
