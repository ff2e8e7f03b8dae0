"""Read side of the watchlist, for pages, APIs and other packages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.watchlist.choices import WatchStatus
from pingan.antifraud.watchlist.model import WatchlistEntry
from pingan.core import clock


def recent_entries(session: Session, *, limit: int) -> list[WatchlistEntry]:
    """The newest `limit` entries, newest first, whatever their status."""
    return list(
        session.execute(select(WatchlistEntry).order_by(WatchlistEntry.id.desc()).limit(limit)).scalars()
    )


def live_entries(session: Session, *, now: datetime | None = None) -> list[WatchlistEntry]:
    """Entries now warning payers: active and unexpired."""
    at = now or clock.now()
    return list(
        session.execute(
            select(WatchlistEntry).where(
                WatchlistEntry.status == WatchStatus.ACTIVE, WatchlistEntry.expires_at > at
            )
        ).scalars()
    )
