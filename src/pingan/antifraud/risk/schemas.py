"""Risk, plan and watchlist request and response models."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, field_validator


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
