"""States and kinds of warning deliveries and messages: what other packages may import."""

from __future__ import annotations

from enum import StrEnum


class Urgency(StrEnum):
    """How urgent a warning is. A likely victim mid-payment is urgent."""

    URGENT = "urgent"
    ROUTINE = "routine"


class Priority(StrEnum):
    """A delivery's priority; raised when the person says they already transferred."""

    NORMAL = "normal"
    RAISED = "raised"


class DeliveryState(StrEnum):
    """Where a warning plan's delivery stands."""

    OPEN = "open"  # messages queued or in progress
    REACHED = "reached"  # a call was answered or an SMS delivered, and nothing more is due
    ESCALATED = "escalated"  # handed to the home station for a visit
    UNREACHED = "unreached"  # every channel tried, no contact, and no visit warranted
    RECORDED = "recorded"  # outbox channels only: written down, nothing left the building


class ChannelKind(StrEnum):
    """What a message is."""

    SMS = "sms"
    VOICE = "voice"


class MessageState(StrEnum):
    """A message's state. SMS: queued → sending → submitted → delivered | failed | expired.
    Voice: queued → calling → answered | no_answer | busy | failed. Outbox: queued → recorded."""

    QUEUED = "queued"
    SENDING = "sending"
    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CALLING = "calling"
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    RECORDED = "recorded"


FINAL_STATES = frozenset(
    {
        MessageState.DELIVERED,
        MessageState.FAILED,
        MessageState.EXPIRED,
        MessageState.ANSWERED,
        MessageState.NO_ANSWER,
        MessageState.BUSY,
        MessageState.RECORDED,
    }
)


class AlertKind(StrEnum):
    """Operational alerts of the warning channels."""

    GATEWAY_DOWN = "gateway_down"
    VISIT_OVERDUE = "visit_overdue"
