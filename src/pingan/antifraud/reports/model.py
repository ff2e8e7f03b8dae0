"""Anti-fraud tables: fraud reports (报案), their transfers and suspect identifiers, and linked-case clusters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.antifraud.reports.choices import Channel, LinkKind, ReportIntake, SuspectKind, Typology
from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Protected, Sealed, protected, sealed


class FraudCluster(Base):
    """A set of reports linked by a shared payee account, suspect phone or URL (串并案)."""

    __tablename__ = "fraud_cluster"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("fraud_cluster.id"))


class FraudReport(Base):
    """A registered fraud report (报案 / 受案登记). Personal identifiers are pseudonymised and encrypted."""

    __tablename__ = "fraud_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_ref: Mapped[str] = mapped_column(String(64), unique=True)
    victim_name: Mapped[Sealed] = sealed(PiiKind.NAME, "victim_name", masked_length=64)
    victim_id: Mapped[Protected] = protected(PiiKind.NATIONAL_ID, "victim_id", index=True)
    victim_phone: Mapped[Protected] = protected(PiiKind.PHONE, "victim_phone", index=True)
    fraud_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("station.code"), index=True)
    officer: Mapped[str] = mapped_column(String(64))
    typology: Mapped[Typology] = mapped_column(str_enum(Typology), index=True)
    narrative: Mapped[str] = mapped_column(Text, default="")
    total_amount_fen: Mapped[int] = mapped_column(BigInteger)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("fraud_cluster.id"), index=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    intake: Mapped[ReportIntake] = mapped_column(
        str_enum(ReportIntake, length=20),
        default=ReportIntake.REGISTERED,
        server_default="registered",
        index=True,
    )
    # Who or what opened the report when it was not an officer at a station, e.g.
    # "warning_call:risk:12:voice:1 key 2" (the call record and the key pressed).
    source: Mapped[str] = mapped_column(String(160), default="", server_default="")
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    transfers: Mapped[list[ReportTransfer]] = relationship(
        back_populates="report", order_by="ReportTransfer.seq", cascade="all, delete-orphan"
    )
    suspects: Mapped[list[SuspectIdentifier]] = relationship(
        back_populates="report", order_by="SuspectIdentifier.id", cascade="all, delete-orphan"
    )


class ReportTransfer(Base):
    """One payment the victim made: who paid, to which account, how much (fen) and when."""

    __tablename__ = "report_transfer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("fraud_report.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payer_card: Mapped[Protected] = protected(PiiKind.CARD, "payer_card", index=True)
    payer_bank: Mapped[str] = mapped_column(String(16))
    payee_account: Mapped[Protected] = protected(PiiKind.CARD, "payee_account", index=True)
    payee_bank: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))

    report: Mapped[FraudReport] = relationship(back_populates="transfers")


class SuspectIdentifier(Base):
    """A suspect's phone, URL, app or social account. Phones are personal data and stored protected."""

    __tablename__ = "suspect_identifier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("fraud_report.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SuspectKind] = mapped_column(str_enum(SuspectKind))
    link_key: Mapped[str] = mapped_column(String(255))
    display: Mapped[str] = mapped_column(String(255))
    value_cipher: Mapped[str | None] = mapped_column(String(512))

    report: Mapped[FraudReport] = relationship(back_populates="suspects")


class ReportLink(Base):
    """An identifier that links this report to others; `key` is a pseudonym or a normalised URL."""

    __tablename__ = "report_link"
    __table_args__ = (
        UniqueConstraint("report_id", "kind", "key", name="uq_report_link_report_kind_key"),
        Index("ix_report_link_kind_key", "kind", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("fraud_report.id", ondelete="CASCADE"), index=True)
    kind: Mapped[LinkKind] = mapped_column(str_enum(LinkKind))
    key: Mapped[str] = mapped_column(String(255))
    display: Mapped[str] = mapped_column(String(255))


class IdempotencyRecord(Base):
    """A client's Idempotency-Key with the hash of the body it came with and the report it created."""

    __tablename__ = "idempotency_record"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    body_hash: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
