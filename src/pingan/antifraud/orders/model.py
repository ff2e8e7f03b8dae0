"""Tables of restriction orders, police findings, appeals, the bank outbox and robot alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.antifraud.orders.choices import (
    AlertKind,
    AppealStatus,
    BasisKind,
    FindingKind,
    FindingStatus,
    MessageType,
    OrderKind,
    OrderReason,
    OrderState,
    OutboxStatus,
)
from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Protected, Sealed, protected, sealed


class PoliceFinding(Base):
    """A police finding (认定) that accounts are involved in a case: the basis of holder-linked stops and freezes."""

    __tablename__ = "police_finding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("fraud_report.id"), index=True)
    case_ref: Mapped[str] = mapped_column(String(64))
    legal_basis: Mapped[str] = mapped_column(String(255))
    evidence: Mapped[str] = mapped_column(Text)
    # What approval issues: holder-linked stops (report), and freezes too (trace).
    kind: Mapped[FindingKind] = mapped_column(
        str_enum(FindingKind), default=FindingKind.REPORT, server_default=FindingKind.REPORT.value
    )
    # Marked by the drafter with its reason, seen by the approver: a freeze then runs 1 year, not 6 months.
    major_case: Mapped[bool] = mapped_column(Boolean, default=False)
    major_case_reason: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[FindingStatus] = mapped_column(str_enum(FindingStatus), index=True)
    drafted_by: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(String(255))

    accounts: Mapped[list[FindingAccount]] = relationship(
        back_populates="finding", order_by="FindingAccount.id", cascade="all, delete-orphan"
    )


class FindingAccount(Base):
    """An account a finding names as involved, with the amount traced into it when known."""

    __tablename__ = "finding_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("police_finding.id", ondelete="CASCADE"), index=True)
    bank_code: Mapped[str] = mapped_column(String(16))
    account: Mapped[Protected] = protected(PiiKind.CARD, "account", index=True)
    traced_amount_fen: Mapped[int | None] = mapped_column(BigInteger)

    finding: Mapped[PoliceFinding] = relationship(back_populates="accounts")


class RestrictionOrder(Base):
    """A stop-payment (止付) or freeze (冻结) order on one account at one bank, with its legal basis."""

    __tablename__ = "restriction_order"
    __table_args__ = (Index("ix_restriction_order_account", "bank_code", "account_pseudonym"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[OrderKind] = mapped_column(str_enum(OrderKind))
    state: Mapped[OrderState] = mapped_column(str_enum(OrderState), index=True)
    reason: Mapped[OrderReason] = mapped_column(str_enum(OrderReason))
    basis_kind: Mapped[BasisKind] = mapped_column(str_enum(BasisKind))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("fraud_report.id"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("police_finding.id"), index=True)
    bank_code: Mapped[str] = mapped_column(String(16))
    # Looked up by bank and pseudonym together: `ix_restriction_order_account`.
    account: Mapped[Protected] = protected(PiiKind.CARD, "account")
    # Set to "bank:pseudonym" while the order is live and NULL after: the unique index makes the
    # database itself refuse a second live order on one account (the law forbids duplicate freezes).
    live_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    traced_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    held_amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    major_case: Mapped[bool] = mapped_column(Boolean, default=False)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    renews_order_id: Mapped[int | None] = mapped_column(ForeignKey("restriction_order.id"))
    bank_ref: Mapped[str | None] = mapped_column(String(64))
    reject_code: Mapped[str | None] = mapped_column(String(32))
    reject_reason: Mapped[str | None] = mapped_column(String(255))
    # The moment the clock started for this order: report registered, or finding approved.
    origin_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    release_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list[OrderEvent]] = relationship(order_by="OrderEvent.id", cascade="all, delete-orphan")


class OrderEvent(Base):
    """One step in an order's timeline: a state change or a bank message, with its detail."""

    __tablename__ = "order_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("restriction_order.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    # Text, not a bounded string: a note carries the reason a user gave (bounded by its form and
    # schema) after a prefix ("release: ..."), and is never cut to fit a column.
    note: Mapped[str] = mapped_column(Text, default="")


class BankOutbox(Base):
    """A message to a bank, written in the same transaction as the order change it carries (transactional outbox)."""

    __tablename__ = "bank_outbox"
    __table_args__ = (Index("ix_bank_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("restriction_order.id"), index=True)
    message_type: Mapped[MessageType] = mapped_column(str_enum(MessageType))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    bank_code: Mapped[str] = mapped_column(String(16))
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    inquiries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(255))
    # The sender holding an in-flight message, and until when: a sender killed mid-batch leaves its
    # claims to the others once the lease runs out (`do_requeue_in_flight`).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OrderAppeal(Base):
    """An appeal (申诉) by an account holder against an order, with its decision deadline."""

    __tablename__ = "order_appeal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("restriction_order.id"), index=True)
    # The appellant's name is personal data like the account it appeals for: encrypted and masked.
    appellant: Mapped[Sealed] = sealed(PiiKind.NAME, "appellant")
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(str_enum(AppealStatus))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    filed_by: Mapped[str] = mapped_column(String(64))
    decision_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str | None] = mapped_column(String(255))


class RobotAlert(Base):
    """Something an analyst must look at: a bank down, renewals used up, a freeze or release deadline."""

    __tablename__ = "robot_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind), index=True)
    subject: Mapped[str] = mapped_column(String(96))
    message: Mapped[str] = mapped_column(String(255))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RobotIntake(Base):
    """A report the robot has turned into orders, so that a restarted robot does not do it twice."""

    __tablename__ = "robot_intake"

    report_id: Mapped[int] = mapped_column(ForeignKey("fraud_report.id"), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BankInboundRejection(Base):
    """A message from a bank that failed verification or validation, with the reason; it changed nothing."""

    __tablename__ = "bank_inbound_rejection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    bank_code: Mapped[str | None] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(255))


class BankNonce(Base):
    """A nonce of an accepted bank message; the primary key refuses a replay across server processes."""

    __tablename__ = "bank_nonce"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
