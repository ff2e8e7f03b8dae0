"""Complaint tables: the complaint (信访投诉) with its protected complainant and subject, its timeline
of steps (append-only), its attachments (files stored under their SHA-256), its links to earlier
complaints, and the breaches of its clocks (never deleted)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Protected, Sealed, protected, sealed
from pingan.supervision.complaints.choices import (
    CallbackResult,
    Channel,
    ComplaintStatus,
    Finding,
    RootCause,
    StepKind,
    SubjectKind,
)


class Complaint(Base):
    """A complaint or petition: who complains (protected), about what, and where its handling stands."""

    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, length=16), index=True)
    external_ref: Mapped[str] = mapped_column(
        String(40), default=""
    )  # a 12345 work-order number, a letter's number
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    complainant_name: Mapped[Sealed] = sealed(PiiKind.NAME, "complainant_name", masked_length=64)
    complainant_phone: Mapped[Protected | None] = protected(
        PiiKind.PHONE, "complainant_phone", index=True, nullable=True
    )
    complainant_id: Mapped[Protected | None] = protected(
        PiiKind.NATIONAL_ID, "complainant_id", index=True, nullable=True
    )
    # The pseudonym that repeat detection compares: the ID number's, else the phone's.
    complainant_key: Mapped[str] = mapped_column(String(64), index=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(str_enum(SubjectKind, length=10))
    subject_ref: Mapped[str] = mapped_column(String(64))  # username, station code, incident id or case id
    station_code: Mapped[str] = mapped_column(ForeignKey("station.code"), index=True)  # the subject's station
    officer: Mapped[str | None] = mapped_column(String(64), index=True)  # the officer concerned, where known
    category: Mapped[str] = mapped_column(String(40))
    suggested_category: Mapped[str] = mapped_column(String(40), default="")
    suggested_confidence: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(str_enum(ComplaintStatus, length=16), index=True)
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_station: Mapped[str | None] = mapped_column(String(32))
    finding: Mapped[Finding | None] = mapped_column(str_enum(Finding, length=20))
    root_cause: Mapped[RootCause | None] = mapped_column(str_enum(RootCause, length=20))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    callback_result: Mapped[CallbackResult | None] = mapped_column(str_enum(CallbackResult, length=20))
    created_by: Mapped[str] = mapped_column(String(64))

    steps: Mapped[list[ComplaintStep]] = relationship(order_by="ComplaintStep.id")


class ComplaintStep(Base):
    """One step of a complaint's timeline, appended and never changed."""

    __tablename__ = "complaint_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    kind: Mapped[StepKind] = mapped_column(str_enum(StepKind, length=20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[str] = mapped_column(String(40), default="")  # a finding, a station, a call-back result
    rule_id: Mapped[str | None] = mapped_column(String(60))  # an extension: the rule it extends
    extension_id: Mapped[str | None] = mapped_column(String(40))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ComplaintAttachment(Base):
    """A file attached to a complaint: stored once under its SHA-256, its hash and path here."""

    __tablename__ = "complaint_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(80))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ComplaintLink(Base):
    """A link from a complaint to an earlier one, with the reasons and the text similarity."""

    __tablename__ = "complaint_link"
    __table_args__ = (UniqueConstraint("complaint_id", "earlier_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    earlier_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    reasons: Mapped[str] = mapped_column(String(60))  # comma-separated LinkReason values
    similarity: Mapped[float] = mapped_column(Float)
    repeat: Mapped[bool] = mapped_column(Boolean)


class ComplaintBreach(Base):
    """A clock of a complaint breached: kept for good; a late step is noted in `met_at`."""

    __tablename__ = "complaint_breach"
    __table_args__ = (UniqueConstraint("complaint_id", "rule_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    station_code: Mapped[str] = mapped_column(String(32), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
