"""Warning-delivery tables: one delivery per warning plan, its messages (SMS, calls), receipts and alerts.

A delivery is keyed by the plan id of the early-warning outbox (issue "Early warning I"); it does not
reference that domain's tables. Each message carries a stable `message_key`: the idempotent id that is
sent to the gateway (in Kannel's dlr-url) and that every receipt names.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.antifraud.warnings.choices import (
    AlertKind,
    ChannelKind,
    DeliveryState,
    MessageState,
    Priority,
    Urgency,
)
from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Sealed, sealed


class WarningDelivery(Base):
    """The delivery of one warning plan (预警劝阻) to one person, over every channel."""

    __tablename__ = "warning_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64), unique=True)
    person_pseudonym: Mapped[str] = mapped_column(String(80), index=True)
    phone: Mapped[Sealed | None] = sealed(PiiKind.PHONE, "phone", text=True, nullable=True)
    typology: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    elderly: Mapped[bool] = mapped_column(Boolean)
    home_station_code: Mapped[str] = mapped_column(String(32), index=True)
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    risk_event_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState), index=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.NORMAL)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_contact_channel: Mapped[ChannelKind | None] = mapped_column(str_enum(ChannelKind))
    digit: Mapped[str | None] = mapped_column(String(4))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    messages: Mapped[list[WarningMessage]] = relationship(
        back_populates="delivery", order_by="WarningMessage.id", lazy="selectin"
    )


class WarningMessage(Base):
    """One SMS or one call attempt of a delivery."""

    __tablename__ = "warning_message"
    __table_args__ = (Index("ix_warning_message_kind_state_due", "kind", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(96), unique=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("warning_delivery.id"), index=True)
    kind: Mapped[ChannelKind] = mapped_column(str_enum(ChannelKind))
    channel: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[MessageState] = mapped_column(str_enum(MessageState))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    transport_tries: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    audio_path: Mapped[str | None] = mapped_column(String(255))
    digit: Mapped[str | None] = mapped_column(String(4))
    call_flow: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    delivery: Mapped[WarningDelivery] = relationship(back_populates="messages")


class WarningReceipt(Base):
    """A delivery report (DLR) or call result received for a message."""

    __tablename__ = "warning_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("warning_message.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(16))
    state: Mapped[MessageState] = mapped_column(str_enum(MessageState))
    detail: Mapped[str] = mapped_column(Text, default="")


class WarningCallbackRejection(Base):
    """A refused gateway callback (bad signature, unknown id, malformed) with its reason."""

    __tablename__ = "warning_callback_rejection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    path: Mapped[str] = mapped_column(String(255))
    message_key: Mapped[str | None] = mapped_column(String(96))
    remote: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(255))


class WarningAlert(Base):
    """An operational alert: a gateway down, a home visit overdue. Closed when the cause clears."""

    __tablename__ = "warning_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind), index=True)
    subject: Mapped[str] = mapped_column(String(64))
    station_code: Mapped[str | None] = mapped_column(String(32), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[str] = mapped_column(Text, default="")
