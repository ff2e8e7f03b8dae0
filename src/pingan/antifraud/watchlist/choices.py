"""Sources and statuses of watch-list entries: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class WatchSource(StrEnum):
    """Why an account is on the watchlist."""

    REPORTED_PAYEE = "reported_payee"  # named as payee in a registered fraud report
    HOLDER_LINK = "holder_link"  # another account of a reported payee's holder
    TRACED = "traced"  # stolen money traced into it (tracing engine)
    SUSPECTED = "suspected"  # a confirmed model suspicion (mule detector, after human review)


register_labels(
    WatchSource,
    {
        WatchSource.REPORTED_PAYEE: N_("reported payee"),
        WatchSource.HOLDER_LINK: N_("holder's other account"),
        WatchSource.TRACED: N_("traced funds"),
        WatchSource.SUSPECTED: N_("confirmed suspicion"),
    },
)


class WatchStatus(StrEnum):
    """An entry is active until it expires or is delisted."""

    ACTIVE = "active"
    DELISTED = "delisted"


register_labels(
    WatchStatus,
    {
        WatchStatus.ACTIVE: N_("active"),
        WatchStatus.DELISTED: N_("delisted"),
    },
)
