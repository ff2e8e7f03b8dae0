"""Kinds and statuses of registered accounts: what other packages may import."""

from __future__ import annotations

from enum import StrEnum


class AccountKind(StrEnum):
    """What kind of account or card."""

    DEBIT = "debit"
    CREDIT = "credit"
    EWALLET = "e-wallet"


class AccountStatus(StrEnum):
    """The account's status as the bank last reported it."""

    ACTIVE = "active"
    DORMANT = "dormant"
    CLOSED = "closed"
