"""The review queue of mule candidates: one row per account the detector put forward."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingan.antifraud.mules.review.choices import CandidateStatus
from pingan.core.db import Base, UTCDateTime, str_enum


class MuleCandidate(Base):
    """A mule candidate (疑似涉诈账户) awaiting human review, with the model's score and reasons.

    A candidate orders nothing and warns no one: only a reviewer's confirmation lists its account.
    """

    __tablename__ = "mule_candidate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    account_masked: Mapped[str] = mapped_column(String(32), default="")
    bank: Mapped[str | None] = mapped_column(String(16))
    store_account_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of "feature:+contribution"
    model_ref: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[CandidateStatus] = mapped_column(
        str_enum(CandidateStatus, length=16),
        default=CandidateStatus.PENDING,
        index=True,
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    review_note: Mapped[str | None] = mapped_column(Text)
    watchlist_entry_id: Mapped[int | None] = mapped_column(Integer)
