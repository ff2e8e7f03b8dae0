"""States and kinds of warning deliveries and messages: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class Urgency(StrEnum):
    """How urgent a warning is. A likely victim mid-payment is urgent."""

    URGENT = "urgent"
    ROUTINE = "routine"


register_labels(
    Urgency,
    {
        Urgency.URGENT: N_("urgent"),
        Urgency.ROUTINE: N_("routine"),
    },
)


class Priority(StrEnum):
    """A delivery's priority; raised when the person says they already transferred."""

    NORMAL = "normal"
    RAISED = "raised"


register_labels(
    Priority,
    {
        Priority.NORMAL: N_("normal"),
        Priority.RAISED: N_("raised"),
    },
)


class DeliveryState(StrEnum):
    """Where a warning plan's delivery stands."""

    OPEN = "open"  # messages queued or in progress
    REACHED = "reached"  # a call was answered or an SMS delivered, and nothing more is due
    ESCALATED = "escalated"  # handed to the home station for a visit
    UNREACHED = "unreached"  # every channel tried, no contact, and no visit warranted
    RECORDED = "recorded"  # outbox channels only: written down, nothing left the building


register_labels(
    DeliveryState,
    {
        DeliveryState.OPEN: N_("in progress"),
        DeliveryState.REACHED: N_("reached"),
        DeliveryState.ESCALATED: N_("handed over for a visit"),
        DeliveryState.UNREACHED: N_("not reached"),
        DeliveryState.RECORDED: N_("recorded, not sent"),
    },
)


class ChannelKind(StrEnum):
    """What a message is."""

    SMS = "sms"
    VOICE = "voice"


register_labels(
    ChannelKind,
    {
        ChannelKind.SMS: N_("SMS"),
        ChannelKind.VOICE: N_("voice call"),
    },
)


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


register_labels(
    MessageState,
    {
        MessageState.QUEUED: N_("queued"),
        MessageState.SENDING: N_("sending"),
        MessageState.SUBMITTED: N_("submitted"),
        MessageState.DELIVERED: N_("delivered"),
        MessageState.FAILED: N_("failed"),
        MessageState.EXPIRED: N_("expired"),
        MessageState.CALLING: N_("calling"),
        MessageState.ANSWERED: N_("answered"),
        MessageState.NO_ANSWER: N_("no answer"),
        MessageState.BUSY: N_("busy"),
        MessageState.RECORDED: N_("recorded, not sent"),
    },
)


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


register_labels(
    AlertKind,
    {
        AlertKind.GATEWAY_DOWN: N_("gateway unreachable"),
        AlertKind.VISIT_OVERDUE: N_("visit overdue"),
    },
)


class Reach(StrEnum):
    """Whether a warning reached its person, as the timeline and the figures show it."""

    DELIVERED = "delivered"  # a delivery report (DLR) said the text reached the phone
    ANSWERED = "answered"  # the person answered the call
    RECORDED_NOT_SENT = "recorded_not_sent"  # an outbox channel wrote it down; nothing left the building
    AWAITING = "awaiting"  # handed to a gateway or a call in progress, no final answer yet
    NOT_REACHED = "not_reached"  # every attempt ended without a delivery report or an answer


register_labels(
    Reach,
    {
        Reach.DELIVERED: N_("delivered"),
        Reach.ANSWERED: N_("answered"),
        Reach.RECORDED_NOT_SENT: N_("recorded, not sent"),
        Reach.AWAITING: N_("awaiting a receipt"),
        Reach.NOT_REACHED: N_("not reached"),
    },
)
