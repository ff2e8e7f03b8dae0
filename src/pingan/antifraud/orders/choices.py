"""Statuses and kinds of restriction orders, findings, appeals and the bank outbox: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class OrderKind(StrEnum):
    """止付 stop-payment or 冻结 freeze."""

    STOP_PAYMENT = "stop_payment"
    FREEZE = "freeze"


register_labels(
    OrderKind,
    {
        OrderKind.STOP_PAYMENT: N_("stop-payment"),
        OrderKind.FREEZE: N_("freeze"),
    },
)


class OrderState(StrEnum):
    """Where an order stands; the allowed moves are `rules.TRANSITIONS`."""

    DRAFTED = "drafted"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    EXECUTED = "executed"
    REJECTED = "rejected"
    FAILED = "failed"
    EXPIRED = "expired"
    RENEWED = "renewed"
    RELEASED = "released"
    # A stop-payment replaced by a freeze on the same account in one transaction (止付转冻结).
    CONVERTED = "converted"


register_labels(
    OrderState,
    {
        OrderState.DRAFTED: N_("drafted"),
        OrderState.SENT: N_("sent"),
        OrderState.ACKNOWLEDGED: N_("acknowledged"),
        OrderState.EXECUTED: N_("executed"),
        OrderState.REJECTED: N_("rejected by the bank"),
        OrderState.FAILED: N_("failed"),
        OrderState.EXPIRED: N_("expired"),
        OrderState.RENEWED: N_("renewed"),
        OrderState.RELEASED: N_("released"),
        OrderState.CONVERTED: N_("converted to a freeze"),
    },
)


class OrderReason(StrEnum):
    """Why this account: named in a report, or another account of an involved holder (一卡涉警、全卡止付)."""

    DIRECT_PAYEE = "direct_payee"
    HOLDER_LINKED = "holder_linked"
    TRACED = "traced"


register_labels(
    OrderReason,
    {
        OrderReason.DIRECT_PAYEE: N_("payee named in the report"),
        OrderReason.HOLDER_LINKED: N_("another account of the holder"),
        OrderReason.TRACED: N_("traced funds"),
    },
)


class BasisKind(StrEnum):
    """The legal basis an order rests on."""

    REPORT = "report"
    FINDING = "finding"


register_labels(
    BasisKind,
    {
        BasisKind.REPORT: N_("fraud report"),
        BasisKind.FINDING: N_("police finding"),
    },
)


class FindingKind(StrEnum):
    """What a finding rests on, and so what its approval issues.

    `report`: the robot's draft from a report; approval stops the holders' other accounts.
    `trace`: an analyst's accepted trace recommendations; approval also freezes each named account,
    capped at the amount traced into it.
    """

    REPORT = "report"
    TRACE = "trace"


register_labels(
    FindingKind,
    {
        FindingKind.REPORT: N_("finding on a report"),
        FindingKind.TRACE: N_("finding on a trace"),
    },
)


class FindingStatus(StrEnum):
    """A police finding (认定) is drafted, then approved or refused by a supervisor."""

    DRAFT = "draft"
    APPROVED = "approved"
    REFUSED = "refused"


register_labels(
    FindingStatus,
    {
        FindingStatus.DRAFT: N_("awaiting approval"),
        FindingStatus.APPROVED: N_("approved"),
        FindingStatus.REFUSED: N_("refused"),
    },
)


class AppealStatus(StrEnum):
    """An appeal by a holder awaits a decision, then is upheld (release) or dismissed."""

    PENDING = "pending"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


register_labels(
    AppealStatus,
    {
        AppealStatus.PENDING: N_("awaiting decision"),
        AppealStatus.UPHELD: N_("appeal upheld"),
        AppealStatus.DISMISSED: N_("appeal dismissed"),
    },
)


class OutboxStatus(StrEnum):
    """A bank message waits, is in flight (its fate unknown until the bank confirms), or is delivered."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    DEAD = "dead"


register_labels(
    OutboxStatus,
    {
        OutboxStatus.PENDING: N_("waiting to send"),
        OutboxStatus.IN_FLIGHT: N_("in flight"),
        OutboxStatus.DELIVERED: N_("delivered to the bank"),
        OutboxStatus.DEAD: N_("undeliverable"),
    },
)


class MessageType(StrEnum):
    """Messages pingan sends to a bank."""

    REQUEST = "request"
    RELEASE = "release"


register_labels(
    MessageType,
    {
        MessageType.REQUEST: N_("order request"),
        MessageType.RELEASE: N_("release request"),
    },
)


class AlertKind(StrEnum):
    """What the robot alerts an analyst about."""

    BANK_DOWN = "bank_down"
    RENEWALS_EXHAUSTED = "renewals_exhausted"
    FREEZE_EXPIRING = "freeze_expiring"
    RELEASE_OVERDUE = "release_overdue"
    ORDER_FAILED = "order_failed"
    # A trace finding's freeze could not start: the account's stop-payment has not reached its bank.
    FREEZE_WAITING = "freeze_waiting"


register_labels(
    AlertKind,
    {
        AlertKind.BANK_DOWN: N_("bank unreachable"),
        AlertKind.RENEWALS_EXHAUSTED: N_("renewals exhausted"),
        AlertKind.FREEZE_EXPIRING: N_("freeze expiring"),
        AlertKind.RELEASE_OVERDUE: N_("release overdue"),
        AlertKind.ORDER_FAILED: N_("order failed"),
        AlertKind.FREEZE_WAITING: N_("freeze waiting for its stop-payment"),
    },
)
