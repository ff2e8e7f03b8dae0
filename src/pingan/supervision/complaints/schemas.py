"""Request and response models of the complaints API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from pingan.core.schemas import InputModel, SaneDatetime
from pingan.supervision.choices import DeadlineStatus
from pingan.supervision.complaints.choices import (
    CallbackResult,
    Channel,
    ComplaintStatus,
    Finding,
    ReviewOutcome,
    RootCause,
    StepKind,
    SubjectKind,
)


class ComplaintIn(InputModel):
    """A new complaint: how it came, who complains (protected on storage), about what, and the text.

    The subject is an officer (username), a unit (station code), a 110 incident (id) or a case (id).
    The category may be left empty: the classifier's suggestion is then taken.
    """

    channel: Channel
    received_at: SaneDatetime
    external_ref: str = Field(default="", max_length=40)
    complainant_name: str = Field(min_length=1, max_length=64)
    complainant_phone: str | None = Field(default=None, max_length=20)
    complainant_id_number: str | None = Field(default=None, max_length=18)
    subject_kind: SubjectKind
    subject_ref: str = Field(min_length=1, max_length=64)
    category: str = Field(default="", max_length=40)
    text: str = Field(min_length=5, max_length=8000)


class AcceptIn(InputModel):
    """The decision to accept the complaint (受理) or not (不予受理, with the reason)."""

    accept: bool
    at: SaneDatetime
    note: str = Field(default="", max_length=2000)


class AssignIn(InputModel):
    station_code: str = Field(min_length=1, max_length=16)
    at: SaneDatetime
    note: str = Field(default="", max_length=2000)


class NoteIn(InputModel):
    at: SaneDatetime
    note: str = Field(min_length=1, max_length=8000)


class FindingIn(InputModel):
    """The investigation's finding and root cause; `officer` names who is responsible, where anyone is."""

    finding: Finding
    root_cause: RootCause
    officer: str | None = Field(default=None, max_length=64)
    at: SaneDatetime
    note: str = Field(default="", max_length=4000)


class ExtensionRequestIn(InputModel):
    """A request to extend the handling period by 30 days, to the approver it names (a supervisor or
    the legal-supervision office, not the requester), who decides it in the approvals queue."""

    approver: str | None = Field(default=None, max_length=64)
    reason: str = Field(min_length=2, max_length=2000)


class AnswerIn(InputModel):
    at: SaneDatetime
    text: str = Field(min_length=5, max_length=8000)


class CallbackIn(InputModel):
    at: SaneDatetime
    result: CallbackResult
    note: str = Field(default="", max_length=2000)


class ReviewRequestIn(InputModel):
    at: SaneDatetime
    note: str = Field(default="", max_length=2000)


class ReviewDecisionIn(InputModel):
    at: SaneDatetime
    outcome: ReviewOutcome
    note: str = Field(min_length=2, max_length=4000)


class ClockOut(BaseModel):
    rule_id: str
    title_en: str
    citation: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    status: DeadlineStatus
    window: bool
    extensions: list[str]


class StepOut(BaseModel):
    id: int
    kind: StepKind
    at: datetime
    actor: str
    value: str
    note: str
    approved_by: str | None


class LinkOut(BaseModel):
    complaint_id: int
    reasons: list[str]
    similarity: float
    repeat: bool


class AttachmentOut(BaseModel):
    id: int
    filename: str
    sha256: str
    size: int
    content_type: str


class ComplaintOut(BaseModel):
    """A complaint as the API shows it: the complainant masked, its clocks at the request time."""

    id: int
    channel: Channel
    external_ref: str
    received_at: datetime
    complainant_name_masked: str
    complainant_phone_masked: str | None
    subject_kind: SubjectKind
    subject_ref: str
    station_code: str
    officer: str | None
    category: str
    suggested_category: str
    suggested_confidence: float | None
    text: str
    status: ComplaintStatus
    is_repeat: bool
    assigned_station: str | None
    finding: Finding | None
    root_cause: RootCause | None
    accepted_at: datetime | None
    answered_at: datetime | None
    answer: str
    callback_result: CallbackResult | None
    clocks: list[ClockOut] = []
    steps: list[StepOut] = []
    links: list[LinkOut] = []
    attachments: list[AttachmentOut] = []


class SatisfactionOut(BaseModel):
    """A station's satisfaction: satisfied among those reached, with the sample size and 95% interval."""

    station_code: str
    satisfied: int
    n: int
    low: float
    high: float
