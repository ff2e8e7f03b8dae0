"""Read side of the watchlist, for pages, APIs and other packages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.watchlist.model import WatchlistEntry


def recent_entries(session: Session, *, limit: int) -> list[WatchlistEntry]:
    """The newest `limit` entries, newest first, whatever their status."""
    return list(
        session.execute(select(WatchlistEntry).order_by(WatchlistEntry.id.desc()).limit(limit)).scalars()
    )
