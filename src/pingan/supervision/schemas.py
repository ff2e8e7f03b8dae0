"""Request and response models of the supervision API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from pingan.core.schemas import InputModel, RowId, SaneDatetime
from pingan.supervision.choices import (
    CaseKind,
    CaseStatus,
    DeadlineStatus,
    DeductionKind,
    EventKind,
    MovementKind,
    PartyRole,
    PropertyState,
    RequestKind,
    RequestStanding,
    RequestState,
    Severity,
)


class CaseIn(InputModel):
    """A new case: its number, kind and title, station, case officer and their supervisor."""

    number: str = Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9\-_/]+$")
    kind: CaseKind
    title: str = Field(min_length=2, max_length=200)
    station_code: str = Field(min_length=1, max_length=16)
    officer: str = Field(min_length=1, max_length=64)
    supervisor: str = Field(min_length=1, max_length=64)
    opened_at: SaneDatetime
    incident_id: RowId | None = None
    fraud_report_id: RowId | None = None


class PartyIn(InputModel):
    """A person of the case; the name is sealed and the ID number protected on storage."""

    role: PartyRole
    name: str = Field(min_length=1, max_length=64)
    national_id: str | None = Field(default=None, max_length=18)


class EventIn(InputModel):
    """A measure or step of the case, with its time; an extension names its rule and extension. A step
    that needs approval is not recorded from this: it is requested (`StepRequestIn`) and recorded when
    its approver approves it, with the approver's name."""

    kind: EventKind
    at: SaneDatetime
    party_id: RowId | None = None
    item: str = Field(default="", max_length=64)
    flags: list[str] = Field(default_factory=list, max_length=5)
    rule_id: str | None = Field(default=None, max_length=60)
    extension_id: str | None = Field(default=None, max_length=40)
    amount: int | None = Field(default=None, ge=1, le=366)
    note: str = Field(default="", max_length=2000)


class StepRequestIn(EventIn):
    """A step that needs approval, and the approver (a supervisor or the legal-supervision office, not
    the requester) it goes to."""

    approver: str = Field(min_length=1, max_length=64)


class CloseIn(InputModel):
    """The closure of a case."""

    at: SaneDatetime
    note: str = Field(min_length=2, max_length=2000)


class ExplanationIn(InputModel):
    """Why a deadline was missed."""

    text: str = Field(min_length=5, max_length=2000)


class PartyOut(BaseModel):
    id: int
    role: PartyRole
    name_masked: str
    national_id_masked: str | None


class EventOut(BaseModel):
    id: int
    kind: EventKind
    at: datetime
    party_id: int | None
    item: str
    flags: list[str]
    rule_id: str | None
    extension_id: str | None
    amount: int | None
    requested_by: str
    approved_by: str | None
    note: str


class DeadlineOut(BaseModel):
    case_id: int
    rule_id: str
    title: str
    citation: str
    subject: str
    started_at: datetime
    due_at: datetime
    warn_from: datetime
    met_at: datetime | None
    status: DeadlineStatus
    severity: Severity
    extensions: list[str]
    reasons: list[str]


class BreachOut(BaseModel):
    id: int
    case_id: int
    rule_id: str
    subject: str
    due_at: datetime
    met_at: datetime | None
    severity: Severity
    recorded_at: datetime
    explanation: str | None
    explained_by: str | None
    explained_at: datetime | None


class CaseOut(BaseModel):
    id: int
    number: str
    kind: CaseKind
    title: str
    station_code: str
    officer: str
    supervisor: str
    opened_at: datetime
    status: CaseStatus
    closed_at: datetime | None
    incident_id: int | None
    fraud_report_id: int | None
    pack_version: str
    parties: list[PartyOut] = []
    events: list[EventOut] = []
    deadlines: list[DeadlineOut] = []
    breaches: list[BreachOut] = []


class ExtensionOut(BaseModel):
    id: str
    adds: str
    approver: str
    citation: str
    requires_flag: str | None


class RuleOut(BaseModel):
    id: str
    title_zh: str
    title_en: str
    case_kinds: list[CaseKind]
    citation: str
    verified: bool
    note: str
    effective_from: date
    effective_to: date | None
    trigger: str
    met_by: list[EventKind]
    deadline: str
    warn_before: str
    severity: Severity
    extensions: list[ExtensionOut]


class RulePackOut(BaseModel):
    version: str
    rules: list[RuleOut]


class PropertyIn(InputModel):
    """A seized item registered into the ledger; `label` is the item of the case's seizure step."""

    label: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=2, max_length=200)
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    at: SaneDatetime


class MovementIn(InputModel):
    """A hand-over the current holder starts; the receiver confirms it. A check-out has a due date."""

    kind: MovementKind
    to_user: str = Field(min_length=1, max_length=64)
    due_at: SaneDatetime | None = None
    location: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=2000)


class PropertyStepIn(InputModel):
    """The item found unrelated to the case, released to its owner, or disposed of (the last two only
    on an approved request)."""

    at: SaneDatetime
    note: str = Field(min_length=2, max_length=2000)


class PropertyRequestIn(InputModel):
    """A request to return a seized item to its owner (发还) or dispose of it (处置), to the approver it
    names (a supervisor or the legal-supervision office, neither the requester nor the custodian)."""

    kind: Literal["release", "disposal"]
    approver: str = Field(min_length=1, max_length=64)
    grounds: str = Field(min_length=2, max_length=2000)


class PhotoOut(BaseModel):
    id: int
    sha256: str
    size: int
    content_type: str
    added_by: str
    added_at: datetime


class MovementOut(BaseModel):
    id: int
    kind: MovementKind
    from_user: str
    to_user: str
    requested_at: datetime
    confirmed_at: datetime | None
    due_at: datetime | None
    note: str


class PropertyOut(BaseModel):
    id: int
    case_id: int
    label: str
    description: str
    quantity: int
    state: PropertyState
    holder: str
    custodian: str | None
    location: str
    registered_by: str
    registered_at: datetime
    found_unrelated_at: datetime | None
    closed_at: datetime | None
    photos: list[PhotoOut] = Field(default_factory=list)
    movements: list[MovementOut] = Field(default_factory=list)


class ReconciliationLineOut(BaseModel):
    item_id: int | None
    case_id: int
    case_number: str
    label: str
    problem: str
    holder: str
    since: datetime | None


class QualityEntryOut(BaseModel):
    id: int
    kind: DeductionKind
    source: str
    case_id: int | None
    station_code: str
    officer: str
    rule_id: str
    month: str
    points: int
    reason: str
    appeal_of: int | None
    recorded_by: str
    recorded_at: datetime


class StandingOut(BaseModel):
    key: str
    name: str
    score: int
    reasons: list[tuple[str, int]]


class AppealRequestIn(InputModel):
    """A unit's appeal on a deduction: the points asked back, and the grounds."""

    points: int = Field(ge=1, le=100)
    grounds: str = Field(min_length=5, max_length=2000)


class DecisionIn(InputModel):
    """The approver's decision on a request; a refusal gives its reason."""

    approve: bool
    reason: str = Field(default="", max_length=2000)


class WithdrawalIn(InputModel):
    """The requester withdraws their request, with the reason."""

    reason: str = Field(min_length=2, max_length=2000)


class RequestOut(BaseModel):
    id: int
    kind: RequestKind
    state: RequestState
    case_id: int | None
    entry_id: int | None
    item_id: int | None
    station_code: str
    summary: str
    approver: str | None
    requested_by: str
    requested_at: datetime
    grounds: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    result_event_id: int | None
    result_entry_id: int | None
    expires_at: datetime | None  # an approval to return or dispose of an item is valid through this time
    used_at: datetime | None
    withdrawn_at: datetime | None
    withdrawal_reason: str
    standing: RequestStanding  # the state as read now: `lapsed` once an approval is past `expires_at`

    @classmethod
    def read(cls, req: object, standing: RequestStanding) -> RequestOut:
        """A request row as the API shows it, with how it stands now (`approvals.standing`)."""
        return cls(**{f: getattr(req, f) for f in cls.model_fields if f != "standing"}, standing=standing)
