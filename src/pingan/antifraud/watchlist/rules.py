"""Watchlist policy: how long an entry lasts and how far it is trusted, by source. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

from pingan.antifraud.watchlist.choices import WatchSource

# A reported payee stays listed for 180 days: stop-payment and freeze windows (48 h, 6 months) are
# the law's own measure of how long an involved account stays of interest. Weaker sources last less,
# and must be renewed by fresh evidence.
LIFETIME = {
    WatchSource.REPORTED_PAYEE: timedelta(days=180),
    WatchSource.HOLDER_LINK: timedelta(days=90),
    WatchSource.TRACED: timedelta(days=90),
    WatchSource.SUSPECTED: timedelta(days=30),
}
DEFAULT_CONFIDENCE = {
    WatchSource.REPORTED_PAYEE: 1.0,
    WatchSource.HOLDER_LINK: 0.8,
    WatchSource.TRACED: 0.7,
    WatchSource.SUSPECTED: 0.6,
}


def expiry(source: WatchSource, listed_at: datetime) -> datetime:
    """When an entry of `source` listed at `listed_at` expires unless renewed."""
    return listed_at + LIFETIME[source]
