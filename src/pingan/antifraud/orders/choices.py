"""Statuses and kinds of restriction orders, findings, appeals and the bank outbox: what other packages may import."""

from __future__ import annotations

from enum import StrEnum


class OrderKind(StrEnum):
    """止付 stop-payment or 冻结 freeze."""

    STOP_PAYMENT = "stop_payment"
    FREEZE = "freeze"


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


class OrderReason(StrEnum):
    """Why this account: named in a report, or another account of an involved holder (一卡涉警、全卡止付)."""

    DIRECT_PAYEE = "direct_payee"
    HOLDER_LINKED = "holder_linked"
    TRACED = "traced"


class BasisKind(StrEnum):
    """The legal basis an order rests on."""

    REPORT = "report"
    FINDING = "finding"


class FindingKind(StrEnum):
    """What a finding rests on, and so what its approval issues.

    `report`: the robot's draft from a report; approval stops the holders' other accounts.
    `trace`: an analyst's accepted trace recommendations; approval also freezes each named account,
    capped at the amount traced into it.
    """

    REPORT = "report"
    TRACE = "trace"


class FindingStatus(StrEnum):
    """A police finding (认定) is drafted, then approved or refused by a supervisor."""

    DRAFT = "draft"
    APPROVED = "approved"
    REFUSED = "refused"


class AppealStatus(StrEnum):
    """An appeal by a holder awaits a decision, then is upheld (release) or dismissed."""

    PENDING = "pending"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class OutboxStatus(StrEnum):
    """A bank message waits, is in flight (its fate unknown until the bank confirms), or is delivered."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    DEAD = "dead"


class MessageType(StrEnum):
    """Messages pingan sends to a bank."""

    REQUEST = "request"
    RELEASE = "release"


class AlertKind(StrEnum):
    """What the robot alerts an analyst about."""

    BANK_DOWN = "bank_down"
    RENEWALS_EXHAUSTED = "renewals_exhausted"
    FREEZE_EXPIRING = "freeze_expiring"
    RELEASE_OVERDUE = "release_overdue"
    ORDER_FAILED = "order_failed"
    # A trace finding's freeze could not start: the account's stop-payment has not reached its bank.
    FREEZE_WAITING = "freeze_waiting"
