"""Sources and statuses of watch-list entries: what other packages may import."""

from __future__ import annotations

from enum import StrEnum


class WatchSource(StrEnum):
    """Why an account is on the watchlist."""

    REPORTED_PAYEE = "reported_payee"  # named as payee in a registered fraud report
    HOLDER_LINK = "holder_link"  # another account of a reported payee's holder
    TRACED = "traced"  # stolen money traced into it (tracing engine)
    SUSPECTED = "suspected"  # a confirmed model suspicion (mule detector, after human review)


class WatchStatus(StrEnum):
    """An entry is active until it expires or is delisted."""

    ACTIVE = "active"
    DELISTED = "delisted"
