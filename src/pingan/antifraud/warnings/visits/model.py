"""Home-visit tasks (上门劝阻): a warning that did not reach its person goes to the home station."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingan.antifraud.warnings.visits.choices import VisitKind, VisitOutcome, VisitState
from pingan.core.db import Base, UTCDateTime, str_enum


class HomeVisitTask(Base):
    """A task for the payer's home station, with a deadline (上门劝阻任务)."""

    __tablename__ = "home_visit_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("warning_delivery.id"), index=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[VisitKind] = mapped_column(str_enum(VisitKind))
    station_code: Mapped[str] = mapped_column(String(32), index=True)
    person_pseudonym: Mapped[str] = mapped_column(String(80))
    typology: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    elderly: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[VisitState] = mapped_column(str_enum(VisitState), index=True)
    accepted_by: Mapped[str | None] = mapped_column(String(64))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[VisitOutcome | None] = mapped_column(str_enum(VisitOutcome))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue_alert_id: Mapped[int | None] = mapped_column(ForeignKey("warning_alert.id"))
    # The report a report-intake task is for (opened from the call, awaiting this officer's confirmation).
    report_id: Mapped[int | None] = mapped_column(ForeignKey("fraud_report.id"), index=True)
