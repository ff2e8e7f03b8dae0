"""Risk events (风险事件) and warning plans (预警劝阻计划) with their steps: the outbox the channels drain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.antifraud.risk.choices import PlanStatus, StepChannel, StepState
from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Protected, protected


class WarningPlan(Base):
    """One plan to warn one person; at most one per person per 24 hours unless new evidence comes."""

    __tablename__ = "warning_plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_key: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[PlanStatus] = mapped_column(str_enum(PlanStatus), default=PlanStatus.PENDING, index=True)
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    evidence_key: Mapped[str] = mapped_column(Text, default="")
    amount_at_risk_fen: Mapped[int] = mapped_column(BigInteger)
    elderly: Mapped[bool] = mapped_column(Boolean, default=False)
    escalate_if_unanswered: Mapped[bool] = mapped_column(Boolean, default=False)
    typology_guess: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[Protected | None] = protected(PiiKind.PHONE, "phone", nullable=True)
    home_station: Mapped[str | None] = mapped_column(String(32))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    steps: Mapped[list[WarningStep]] = relationship(
        back_populates="plan", order_by="WarningStep.seq", cascade="all, delete-orphan"
    )


class WarningStep(Base):
    """One step of a plan: its channel, state, when it is due and what came back."""

    __tablename__ = "warning_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("warning_plan.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    channel: Mapped[StepChannel] = mapped_column(str_enum(StepChannel))
    state: Mapped[StepState] = mapped_column(str_enum(StepState))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detail: Mapped[str] = mapped_column(Text, default="{}")

    plan: Mapped[WarningPlan] = relationship(back_populates="steps")


class RiskEvent(Base):
    """A likely victim found by screening: the transfer, the reasons, the amount at risk and a typology guess."""

    __tablename__ = "risk_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tx_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    person_key: Mapped[str] = mapped_column(String(80), index=True)
    payer_account: Mapped[str] = mapped_column(String(64))
    payee_account: Mapped[str] = mapped_column(String(64), index=True)
    payer_bank: Mapped[str] = mapped_column(String(16))
    payee_bank: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    amount_at_risk_fen: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reasons: Mapped[str] = mapped_column(Text)
    typology_guess: Mapped[str | None] = mapped_column(String(32))
    elderly: Mapped[bool] = mapped_column(Boolean, default=False)
    engine: Mapped[str] = mapped_column(String(16))
    rules_version: Mapped[str] = mapped_column(String(32))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("warning_plan.id"), index=True)
