"""Request and response models of the warnings API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from pingan.antifraud.warnings.choices import Urgency
from pingan.antifraud.warnings.rules import MANUAL_REASON_MIN
from pingan.core.schemas import MAX_FEN, InputModel, RowId, SaneDatetime


class PlanIn(InputModel):
    """A warning plan to deliver. The phone is given in clear once and stored only protected.

    A plan rests on a stored risk event (`risk_event_id`), or on an analyst's stated reason
    (`manual_reason`, recorded in the audit entry); a plan with neither is refused.
    """

    plan_id: str = Field(min_length=1, max_length=64)
    person_pseudonym: str = Field(min_length=1, max_length=80)
    phone: str | None = None
    typology: str = Field(min_length=1, max_length=32)
    amount_fen: int = Field(ge=0, le=MAX_FEN)
    elderly: bool = False
    home_station_code: str = Field(min_length=1, max_length=32)
    urgency: Urgency = Urgency.URGENT
    risk_event_at: SaneDatetime
    reasons: list[str] = Field(default_factory=list, max_length=50)
    risk_event_id: RowId | None = None
    manual_reason: str | None = Field(default=None, min_length=MANUAL_REASON_MIN, max_length=500)


class MessageOut(BaseModel):
    """One SMS or call attempt, as the timeline shows it."""

    message_key: str
    kind: str
    channel: str
    attempt: int
    state: str
    due_at: datetime
    digit: str | None
    body: str
    last_error: str | None


class DeliveryOut(BaseModel):
    """A plan's delivery with its messages; the phone is masked."""

    plan_id: str
    person_pseudonym: str
    phone: str | None
    typology: str
    amount_fen: int
    elderly: bool
    home_station_code: str
    state: str
    priority: str
    first_contact_at: datetime | None
    messages: list[MessageOut]


class VisitOut(BaseModel):
    """A home-visit task."""

    id: int
    plan_id: str
    kind: str
    station_code: str
    state: str
    deadline_at: datetime
    accepted_by: str | None
    outcome: str | None


class OutcomeIn(BaseModel):
    """The outcome an officer records."""

    model_config = ConfigDict(extra="forbid")

    outcome: str
    note: str = Field(default="", max_length=2000)
