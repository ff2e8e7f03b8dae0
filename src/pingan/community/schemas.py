"""Request and response models of the community mediation API. The API keeps UTC and fen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from pingan.community.choices import (
    ClockKind,
    ClockState,
    DisputeStatus,
    DisputeType,
    EventKind,
    Grade,
    Mediator,
    PartyRole,
    TaskKind,
)
from pingan.core.schemas import MAX_FEN, InputModel, RowId, SaneDatetime

Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="amount in fen")]


class PartyIn(InputModel):
    """A party: the name is required; the phone or ID number lets repeats be found by pseudonym."""

    role: PartyRole
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    national_id: str | None = Field(default=None, max_length=32)


class MediatorIn(InputModel):
    """The named mediator of one of the four parties of 四方联动."""

    side: Mediator
    name: str = Field(min_length=1, max_length=64)


class RiskIn(InputModel):
    """The factor inputs a mediator records at intake (`factors.toml`); the repeat count is computed."""

    threats: bool = False
    violence_history: bool = False
    weapons: bool = False
    alcohol_or_drugs: bool = False
    separation: bool = False
    economic_stress: bool = False
    vulnerable_party: bool = False
    repeated_calls: int = Field(default=0, ge=0, le=1000, description="earlier 110 calls about these parties")


class DisputeIn(InputModel):
    """A dispute taken in: type, parties, address, the 110 incident it came from, mediators, risk.

    `agreed_at` with `agreement_terms` records a dispute settled at intake; it may not precede
    `taken_in_at`.
    """

    kind: DisputeType
    station_code: str = Field(min_length=1, max_length=32)
    taken_in_at: SaneDatetime | None = Field(default=None, description="now if omitted")
    summary: str = Field(default="", max_length=4000)
    address: str = Field(default="", max_length=255)
    incident_id: RowId | None = None
    earlier_dispute_ids: list[RowId] = Field(default_factory=list, max_length=20)
    domestic_violence: bool = False
    parties: list[PartyIn] = Field(min_length=2, max_length=20)
    mediators: list[MediatorIn] = Field(default_factory=list, max_length=4)
    risk: RiskIn = Field(default_factory=RiskIn)
    employer: str = Field(default="", max_length=128)
    owed_fen: Fen = 0
    agreed_at: SaneDatetime | None = None
    agreement_terms: str = Field(default="", max_length=4000)


class AgreementIn(InputModel):
    """The agreement that ends a mediation, with its terms."""

    agreed_at: SaneDatetime | None = Field(default=None, description="now if omitted")
    terms: str = Field(min_length=1, max_length=4000)
    recovered_fen: Fen | None = Field(default=None, description="wages recovered under the agreement")


class StepIn(InputModel):
    """A step after intake: a follow-up visit, a confirmation applied for, a written warning, a
    protection order applied for or decided, failure or escalation, wages recovered."""

    kind: EventKind
    at: SaneDatetime | None = Field(default=None, description="now if omitted")
    note: str = Field(default="", max_length=2000)
    urgent: bool = Field(default=False, description="a protection order applied for as urgent (24 h)")
    recovered_fen: Fen | None = None


class PartyOut(BaseModel):
    """A party, masked."""

    role: PartyRole
    name_masked: str
    phone_masked: str | None


class MediatorOut(BaseModel):
    side: Mediator
    name: str


class ContributionOut(BaseModel):
    """One factor's input and the points it added."""

    name: str
    value: int
    points: int


class ClockOut(BaseModel):
    kind: ClockKind
    deadline: datetime
    warn_at: datetime
    met_at: datetime | None
    state: ClockState


class EventOut(BaseModel):
    kind: EventKind
    at: datetime
    actor: str
    note: str


class TaskOut(BaseModel):
    kind: TaskKind
    due_at: datetime
    done_at: datetime | None


class DisputeOut(BaseModel):
    """A dispute as the API shows it: parties masked."""

    id: int
    kind: DisputeType
    status: DisputeStatus
    station_code: str
    taken_in_at: datetime
    summary: str
    address: str
    incident_id: int | None
    domestic_violence: bool
    grade: Grade
    score: int
    factor_version: str
    contributions: list[ContributionOut]
    repeat_count: int
    earlier_dispute_ids: list[int]
    agreed_at: datetime | None
    agreement_terms: str
    employer: str
    owed_fen: int
    recovered_fen: int
    parties: list[PartyOut]
    mediators: list[MediatorOut]
    clocks: list[ClockOut]
    tasks: list[TaskOut]
    events: list[EventOut]
