"""Watchlist tables: one entry per account and source, with evidence, confidence, expiry and delisting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pingan.antifraud.watchlist.choices import WatchSource, WatchStatus
from pingan.core.db import Base, UTCDateTime, str_enum


class WatchlistEntry(Base):
    """A watch-listed account (预警账户). It warns the account's payers; it never triggers an order."""

    __tablename__ = "watchlist_entry"
    __table_args__ = (UniqueConstraint("account_pseudonym", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    account_masked: Mapped[str] = mapped_column(String(32), default="")
    bank: Mapped[str | None] = mapped_column(String(16))
    store_account_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    source: Mapped[WatchSource] = mapped_column(str_enum(WatchSource))
    evidence: Mapped[str] = mapped_column(Text, default="{}")
    confidence: Mapped[float] = mapped_column(Float)
    typology: Mapped[str | None] = mapped_column(String(32))
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[WatchStatus] = mapped_column(str_enum(WatchStatus), default=WatchStatus.ACTIVE, index=True)
    listed_by: Mapped[str] = mapped_column(String(64))
    delisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delisted_by: Mapped[str | None] = mapped_column(String(64))
    delist_reason: Mapped[str | None] = mapped_column(Text)
