"""Community mediation tables: disputes with their parties, mediators, timeline, grades, station
tasks and recorded clock breaches. Timeline rows, grades and breaches are appended and never changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.community.choices import (
    ClockKind,
    DisputeStatus,
    DisputeType,
    EventKind,
    Grade,
    Mediator,
    PartyRole,
    TaskKind,
)
from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Protected, Sealed, protected, sealed


class Dispute(Base):
    """One dispute (矛盾纠纷) taken in by a station for mediation."""

    __tablename__ = "dispute"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[DisputeType] = mapped_column(str_enum(DisputeType, length=24), index=True)
    status: Mapped[DisputeStatus] = mapped_column(str_enum(DisputeStatus, length=12), index=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("station.code"), index=True)
    taken_in_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    address_key: Mapped[str] = mapped_column(String(255), default="", index=True)
    # The 110 incident it came from (command's id; read through command's actions, never its table).
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    domestic_violence: Mapped[bool] = mapped_column(Boolean, default=False)
    # The factor inputs given at intake (JSON object of name → 0/1 or a count), and the latest grade.
    factor_inputs: Mapped[str] = mapped_column(Text, default="{}")
    grade: Mapped[Grade] = mapped_column(str_enum(Grade, length=8), index=True)
    score: Mapped[int] = mapped_column(Integer, default=0)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    agreement_terms: Mapped[str] = mapped_column(Text, default="")
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmation_applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dv_warning_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    protection_order_applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    protection_order_urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    protection_order_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Wage arrears: the employer (a business, not a person) and the amounts in fen.
    employer: Mapped[str] = mapped_column(String(128), default="", index=True)
    owed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    recovered_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(64))

    parties: Mapped[list[DisputeParty]] = relationship(
        back_populates="dispute", order_by="DisputeParty.id", cascade="all, delete-orphan"
    )
    mediators: Mapped[list[DisputeMediator]] = relationship(
        back_populates="dispute", order_by="DisputeMediator.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[DisputeEvent]] = relationship(
        back_populates="dispute", order_by="DisputeEvent.id", cascade="all, delete-orphan"
    )


class DisputeParty(Base):
    """A party of a dispute: the name sealed, the phone and ID number protected (pseudonym for repeats)."""

    __tablename__ = "dispute_party"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    role: Mapped[PartyRole] = mapped_column(str_enum(PartyRole, length=12))
    name: Mapped[Sealed] = sealed(PiiKind.NAME, "name", masked_length=64)
    phone: Mapped[Protected | None] = protected(PiiKind.PHONE, "phone", index=True, nullable=True)
    national_id: Mapped[Protected | None] = protected(
        PiiKind.NATIONAL_ID, "national_id", index=True, nullable=True
    )

    dispute: Mapped[Dispute] = relationship(back_populates="parties")


class DisputeMediator(Base):
    """The named mediator of one of the four parties of 四方联动 on a dispute."""

    __tablename__ = "dispute_mediator"
    __table_args__ = (UniqueConstraint("dispute_id", "side"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    side: Mapped[Mediator] = mapped_column(str_enum(Mediator, length=16))
    name: Mapped[str] = mapped_column(String(64))

    dispute: Mapped[Dispute] = relationship(back_populates="mediators")


class DisputeLink(Base):
    """An earlier dispute that this one repeats or was linked to, with why."""

    __tablename__ = "dispute_link"
    __table_args__ = (UniqueConstraint("dispute_id", "earlier_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    earlier_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    reasons: Mapped[str] = mapped_column(String(128), default="")


class DisputeEvent(Base):
    """One step of a dispute's timeline, appended and never changed."""

    __tablename__ = "dispute_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, length=32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")

    dispute: Mapped[Dispute] = relationship(back_populates="events")


class DisputeGrade(Base):
    """One grading of a dispute: the grade, the table version and every factor's contribution (JSON)."""

    __tablename__ = "dispute_grade"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    grade: Mapped[Grade] = mapped_column(str_enum(Grade, length=8))
    score: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    contributions: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(String(255), default="")


class StationTask(Base):
    """Work the station must do for a dispute (a red grade's home visit and art. 25 report)."""

    __tablename__ = "dispute_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("station.code"), index=True)
    kind: Mapped[TaskKind] = mapped_column(str_enum(TaskKind, length=24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClockBreach(Base):
    """A deadline a dispute missed, recorded once by the sweep and never deleted."""

    __tablename__ = "dispute_breach"
    __table_args__ = (UniqueConstraint("dispute_id", "clock"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    clock: Mapped[ClockKind] = mapped_column(str_enum(ClockKind, length=20))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
