"""Statuses of warning plans and their steps: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class PlanStatus(StrEnum):
    """Where a warning plan stands."""

    PENDING = "pending"  # in the outbox, waiting for a channel
    CLAIMED = "claimed"  # a channel worker holds it (lease until claim_expires_at)
    WAITING = "waiting"  # steps sent, waiting for what the channel reports back
    DONE = "done"  # every step that was due has ended
    CANCELLED = "cancelled"


register_labels(
    PlanStatus,
    {
        PlanStatus.PENDING: N_("queued"),
        PlanStatus.CLAIMED: N_("being sent"),
        PlanStatus.WAITING: N_("waiting for replies"),
        PlanStatus.DONE: N_("done"),
        PlanStatus.CANCELLED: N_("cancelled"),
    },
)


class StepChannel(StrEnum):
    """How a step warns: SMS now, then a voice call, then a home visit by the station."""

    SMS = "sms"
    VOICE = "voice"
    HOME_VISIT = "home_visit"


register_labels(
    StepChannel,
    {
        StepChannel.SMS: N_("SMS"),
        StepChannel.VOICE: N_("voice call"),
        StepChannel.HOME_VISIT: N_("home visit"),
    },
)


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


register_labels(
    StepState,
    {
        StepState.WAITING: N_("waiting for the step before"),
        StepState.DUE: N_("due"),
        StepState.SENT: N_("sent"),
        StepState.DELIVERED: N_("delivered"),
        StepState.RECORDED: N_("recorded, not sent"),
        StepState.ANSWERED: N_("answered"),
        StepState.UNANSWERED: N_("unanswered"),
        StepState.FAILED: N_("failed"),
        StepState.DONE: N_("done"),
        StepState.SKIPPED: N_("skipped"),
    },
)
