"""Risk, plan and watchlist request and response models."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from pingan.antifraud.watchlist.choices import WatchSource


class RiskEventOut(BaseModel):
    """A risk event as listed: identities are pseudonyms."""

    id: int
    tx_id: int
    person_key: str
    amount_fen: int
    amount_at_risk_fen: int
    occurred_at: datetime
    detected_at: datetime
    reasons: list[str]
    typology_guess: str | None
    elderly: bool
    engine: str
    plan_id: int | None

    @field_validator("reasons", mode="before")
    @classmethod
    def _json(cls, v: object) -> object:
        return json.loads(v) if isinstance(v, str) else v


class StepOut(BaseModel):
    """A plan step."""

    seq: int
    channel: str
    state: str
    due_at: datetime | None


class PlanOut(BaseModel):
    """A warning plan with its steps; the phone only masked."""

    id: int
    person_key: str
    created_at: datetime
    status: str
    reasons: list[str]
    amount_at_risk_fen: int
    elderly: bool
    escalate_if_unanswered: bool
    typology_guess: str | None
    phone_masked: str | None
    home_station: str | None
    steps: list[StepOut]

    @field_validator("reasons", mode="before")
    @classmethod
    def _json(cls, v: object) -> object:
        return json.loads(v) if isinstance(v, str) else v


class WatchlistIn(BaseModel):
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


class DelistIn(BaseModel):
    """Why an entry leaves the watchlist."""

    reason: str = Field(min_length=5, max_length=1000)
