"""Call-back tables: each week's draw (the stated rate, the seed and the population it drew from) and
the call-back tasks it made, one per sampled incident, with the outcome once recorded."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.supervision.callbacks.choices import CallbackOutcome, TaskState


class CallbackDraw(Base):
    """One week's sample of closed 110 incidents: drawn once, with what makes it reproducible."""

    __tablename__ = "callback_draw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, unique=True)  # the Monday, Beijing time
    rate: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    eligible: Mapped[int] = mapped_column(Integer)  # closed incidents that a call-back could reach
    drawn: Mapped[int] = mapped_column(Integer)
    drawn_by: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CallbackTask(Base):
    """A call-back to the caller of one sampled incident (回访), and its outcome once made."""

    __tablename__ = "callback_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("callback_draw.id"), index=True)
    # An incident is called back once: the unique index refuses a second task for it.
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), unique=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("station.code"), index=True)
    incident_closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[TaskState] = mapped_column(str_enum(TaskState, length=10), index=True)
    outcome: Mapped[CallbackOutcome | None] = mapped_column(str_enum(CallbackOutcome, length=16))
    note: Mapped[str] = mapped_column(Text, default="")
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    called_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaint.id")
    )  # a dissatisfied call's complaint
