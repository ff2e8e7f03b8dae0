"""Outcome records: for each warning plan, later transfers to watch-listed accounts and later reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pingan.core.db import Base, UTCDateTime


class WarningOutcome(Base):
    """What followed one plan within 30 days: transfers to listed accounts, and any report by the person."""

    __tablename__ = "warning_outcome"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("warning_plan.id", ondelete="CASCADE"), unique=True)
    person_key: Mapped[str] = mapped_column(String(80), index=True)
    reached: Mapped[bool] = mapped_column(Boolean)
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    later_listed_transfers: Mapped[int] = mapped_column(Integer, default=0)
    later_listed_amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    later_report: Mapped[bool] = mapped_column(Boolean, default=False)
    amount_at_risk_fen: Mapped[int] = mapped_column(BigInteger)
    observed_until: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
