"""Watchlist request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from pingan.antifraud.watchlist.choices import WatchSource
from pingan.core.schemas import InputModel


class WatchlistIn(InputModel):
    """A manual listing by an analyst: traced or confirmed-suspected accounts, with evidence."""

    card_number: str = Field(min_length=16, max_length=19)
    bank: str = Field(min_length=2, max_length=16)
    source: WatchSource
    evidence: dict[str, str | int | float] = Field(min_length=1)
    confidence: float | None = Field(None, ge=0.0, le=1.0)


class WatchlistOut(BaseModel):
    """A watchlist entry; the account only masked."""

    id: int
    account_masked: str
    bank: str | None
    source: str
    confidence: float
    typology: str | None
    listed_at: datetime
    expires_at: datetime
    status: str
    delist_reason: str | None


class DelistIn(InputModel):
    """Why an entry leaves the watchlist."""

    reason: str = Field(min_length=5, max_length=1000)
