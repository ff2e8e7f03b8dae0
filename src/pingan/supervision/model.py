"""Supervision tables: cases (案件) with their parties and their event log, the deadlines the rule
pack computes from that log, and the breaches recorded when a deadline passes.

The event log (`supervision_event`) is appended and never changed. Deadlines are derived: each
evaluation of a case replaces its rows. Breaches are kept for good: a new evaluation may add one or
note that a late step came, never remove one; an explanation is written once, with its audit entry.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Protected, Sealed, protected, sealed
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
    RequestState,
    Severity,
)


class SupervisionCase(Base):
    """A criminal or administrative case under supervision, with its case officer and their supervisor."""

    __tablename__ = "supervision_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 案件编号
    kind: Mapped[CaseKind] = mapped_column(str_enum(CaseKind, length=16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    station_code: Mapped[str] = mapped_column(ForeignKey("station.code"), index=True)
    officer: Mapped[str] = mapped_column(String(64), index=True)  # the case officer's username
    supervisor: Mapped[str] = mapped_column(String(64), index=True)  # who is warned beside them
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, length=10), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closure_note: Mapped[str] = mapped_column(Text, default="")
    # The 110 incident or fraud report the case came from, where there is one (read through their queries).
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    fraud_report_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    pack_version: Mapped[str] = mapped_column(String(80), default="")  # the pack of the last evaluation

    parties: Mapped[list[CaseParty]] = relationship(order_by="CaseParty.id", cascade="all, delete-orphan")
    events: Mapped[list[CaseEventRow]] = relationship(
        order_by="CaseEventRow.id", cascade="all, delete-orphan"
    )


class CaseParty(Base):
    """A person in a case: the name sealed, the ID number protected (searchable by pseudonym)."""

    __tablename__ = "supervision_party"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_case.id", ondelete="CASCADE"), index=True)
    role: Mapped[PartyRole] = mapped_column(str_enum(PartyRole, length=10))
    name: Mapped[Sealed] = sealed(PiiKind.NAME, "name", masked_length=64)
    national_id: Mapped[Protected | None] = protected(
        PiiKind.NATIONAL_ID, "national_id", index=True, nullable=True
    )
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseEventRow(Base):
    """One step of a case's log: a measure with its start time and approval, or a step that ends one."""

    __tablename__ = "supervision_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, length=32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_party.id"))
    item: Mapped[str] = mapped_column(String(64), default="")  # a seized item's label
    flags: Mapped[str] = mapped_column(String(128), default="")  # grounds, comma-separated: complex, …
    rule_id: Mapped[str | None] = mapped_column(String(60))  # an extension's rule
    extension_id: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseDeadline(Base):
    """A deadline of a case as last evaluated: the warnings page reads it against the clock."""

    __tablename__ = "supervision_deadline"
    __table_args__ = (Index("ix_supervision_deadline_open_due", "met_at", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_case.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(80), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warn_from: Mapped[datetime] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[DeadlineStatus] = mapped_column(str_enum(DeadlineStatus, length=10))  # as at evaluation
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, length=10))
    extensions: Mapped[str] = mapped_column(String(128), default="")
    reasons: Mapped[str] = mapped_column(Text, default="")


class CaseBreach(Base):
    """A deadline that passed unmet, or was met late. Never deleted; explained once, with an audit entry."""

    __tablename__ = "supervision_breach"
    __table_args__ = (UniqueConstraint("case_id", "rule_id", "subject", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_case.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(80), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, length=10))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the late step came
    reasons: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[str | None] = mapped_column(Text)
    explained_by: Mapped[str | None] = mapped_column(String(64))
    explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PropertyItem(Base):
    """A seized item (涉案财物) in the ledger: who holds it now, and where it stands.

    Its label is the `item` of the case's seizure step, so the rule pack's clocks (registration within
    24 hours, release within 3 days once found unrelated) run for it from the case's log.
    """

    __tablename__ = "supervision_property"
    __table_args__ = (UniqueConstraint("case_id", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_case.id"), index=True)
    label: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[PropertyState] = mapped_column(str_enum(PropertyState, length=16), index=True)
    holder: Mapped[str] = mapped_column(String(64))  # who has it in hand now
    custodian: Mapped[str | None] = mapped_column(String(64))  # the store's keeper, once received
    location: Mapped[str] = mapped_column(String(100), default="")
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    found_unrelated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # released or disposed
    closure_note: Mapped[str] = mapped_column(Text, default="")


class PropertyPhoto(Base):
    """A photo of a seized item: the file lives in the configured directory; its hash and path here."""

    __tablename__ = "supervision_property_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("supervision_property.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(300))  # relative to the photo directory
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(40))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PropertyMovement(Base):
    """A hand-over of an item: requested by the handing user, confirmed by the receiving one."""

    __tablename__ = "supervision_property_movement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("supervision_property.id"), index=True)
    kind: Mapped[MovementKind] = mapped_column(str_enum(MovementKind, length=16))
    from_user: Mapped[str] = mapped_column(String(64))
    to_user: Mapped[str] = mapped_column(String(64), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the receiver's signature
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a check-out's return date
    location: Mapped[str] = mapped_column(String(100), default="")  # where the custodian shelves it
    note: Mapped[str] = mapped_column(Text, default="")


class QualityEntry(Base):
    """An entry of the quality ledger (执法质量考评), appended and never changed.

    A deduction cites its rule and the event that moved it (`source`: the breached clock, or the
    check-out returned late); an appeal is a new entry that gives points back (`appeal_of`).
    """

    __tablename__ = "supervision_quality_entry"
    __table_args__ = (UniqueConstraint("kind", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[DeductionKind] = mapped_column(str_enum(DeductionKind, length=10))
    source: Mapped[str] = mapped_column(String(200))  # what it derives from; an appeal: appeal:<id>
    # None for a deduction not tied to a case (a substantiated complaint about an officer or a unit).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_case.id"), index=True)
    station_code: Mapped[str] = mapped_column(String(32), index=True)
    officer: Mapped[str] = mapped_column(String(64), index=True)
    rule_id: Mapped[str] = mapped_column(String(60))
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM, Beijing time, of the event
    points: Mapped[int] = mapped_column(Integer)  # negative: a deduction; positive: given back on appeal
    reason: Mapped[str] = mapped_column(Text, default="")
    appeal_of: Mapped[int | None] = mapped_column(ForeignKey("supervision_quality_entry.id"))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApprovalRequest(Base):
    """A request for approval (审批): filed by one user, decided once by another with the approver's
    role. A step is recorded in the case's log only when approved; a seized item is returned or disposed
    of only on an approved request; an appeal's points come back only by the quality ledger's new entry.
    A refusal keeps its reason. Nothing here is deleted."""

    __tablename__ = "supervision_request"
    __table_args__ = (Index("ix_supervision_request_queue", "state", "approver"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[RequestKind] = mapped_column(str_enum(RequestKind, length=24))
    state: Mapped[RequestState] = mapped_column(str_enum(RequestState, length=10))
    # None only for an appeal on a deduction no case carries (a substantiated complaint's).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_case.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_quality_entry.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_property.id"), index=True)
    # What a request of a kind another package owns is about (`complaint:12`): the queue hands it to
    # that package's registered handler (`approvals.register_kind`) and never reads its tables.
    ref: Mapped[str | None] = mapped_column(String(40), index=True)
    station_code: Mapped[str] = mapped_column(String(32), index=True)
    payload: Mapped[str] = mapped_column(Text)  # the step (EventIn), the item's label or the points, as JSON
    summary: Mapped[str] = mapped_column(String(200))  # what is asked, for the queue
    approver: Mapped[str | None] = mapped_column(String(64))  # a step's named approver; none: the office
    requested_by: Mapped[str] = mapped_column(String(64), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    grounds: Mapped[str] = mapped_column(Text, default="")  # the requester's reasons
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    result_event_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_event.id"))
    result_entry_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_quality_entry.id"))
    # An approval to return or dispose of seized property is valid until this time (inclusive), set when
    # approved from the validity in force then; past it the custodian's step is refused (409).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the custodian carried it out
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # by its requester
    withdrawal_reason: Mapped[str] = mapped_column(Text, default="")


class DigestLineRow(Base):
    """One line of a recipient's daily digest as it was sent (`pingan supervision digest`): a deadline
    of one of their cases due soon or passed that morning. The case officer and their supervisor each
    get their own lines; the warnings page shows a user their latest digest, `/supervision/digests`
    the ones before."""

    __tablename__ = "supervision_digest_line"
    __table_args__ = (
        UniqueConstraint("day", "recipient", "case_id", "rule_id", "subject"),
        Index("ix_supervision_digest_line_recipient_day", "recipient", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # the digest's day, Beijing time
    recipient: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_case.id", ondelete="CASCADE"))
    case_number: Mapped[str] = mapped_column(String(40))
    rule_id: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(80), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[DeadlineStatus] = mapped_column(str_enum(DeadlineStatus, length=10))  # as sent
