"""Directive tables: a directive (指令) from the bureau, and one row per station it goes to, which
holds that station's answer and the minutes spent on it.

A directive is written once and never edited. When its issuer sent it although the near-duplicate
check named earlier directives, `duplicate_override` holds the best similarity and `similar_to` the
ids shown; the override's audit entry holds the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.supervision.directives.choices import RequiredAnswer


class Directive(Base):
    """A directive (指令) from the bureau to one or more stations."""

    __tablename__ = "directive"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    text: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(String(64), index=True)  # the issuing user's username
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    required_answer: Mapped[RequiredAnswer] = mapped_column(str_enum(RequiredAnswer, length=16))
    # Set only when the issuer confirmed sending despite the near-duplicate warning.
    duplicate_override: Mapped[float | None] = mapped_column(Float)
    similar_to: Mapped[str] = mapped_column(String(400), default="")  # comma-separated directive ids

    recipients: Mapped[list[DirectiveRecipient]] = relationship(
        order_by="DirectiveRecipient.station_code", cascade="all, delete-orphan", back_populates="directive"
    )


class DirectiveRecipient(Base):
    """One station a directive goes to, with its answer once given."""

    __tablename__ = "directive_recipient"
    __table_args__ = (UniqueConstraint("directive_id", "station_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    directive_id: Mapped[int] = mapped_column(ForeignKey("directive.id", ondelete="CASCADE"), index=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("station.code"), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answer_text: Mapped[str] = mapped_column(Text, default="")
    minutes_spent: Mapped[int | None] = mapped_column(Integer)  # the station's time on the answer

    directive: Mapped[Directive] = relationship(back_populates="recipients")
