"""Kinds and statuses of registered accounts: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class AccountKind(StrEnum):
    """What kind of account or card."""

    DEBIT = "debit"
    CREDIT = "credit"
    EWALLET = "e-wallet"


register_labels(
    AccountKind,
    {
        AccountKind.DEBIT: N_("debit card"),
        AccountKind.CREDIT: N_("credit card"),
        AccountKind.EWALLET: N_("e-wallet"),
    },
)


class AccountStatus(StrEnum):
    """The account's status as the bank last reported it."""

    ACTIVE = "active"
    DORMANT = "dormant"
    CLOSED = "closed"


register_labels(
    AccountStatus,
    {
        AccountStatus.ACTIVE: N_("in use"),
        AccountStatus.DORMANT: N_("dormant"),
        AccountStatus.CLOSED: N_("closed"),
    },
)
