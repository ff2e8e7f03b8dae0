"""Sensor tables: the device registry, accepted alarms with their acknowledgements, refused messages
(dead letters), holster events with the officer-safety alerts they raise, and officer positions.

Incidents and units are the command package's: these tables keep their ids only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.sensors.choices import (
    AckState,
    AlarmDecision,
    AlarmType,
    AlertState,
    DeviceKind,
    HolsterEvent,
    Outcome,
    Refusal,
)


class Device(Base):
    """A registered device (感知源): its community and place, its owner, and its signing key, encrypted.

    Only a registered, active device is heard (the whitelist). `last_seq` is the highest message
    number accepted from it: a message at or below it is a replay.
    """

    __tablename__ = "sensor_device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[DeviceKind] = mapped_column(str_enum(DeviceKind, length=20))
    community: Mapped[str] = mapped_column(String(64), index=True)
    location: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    owner: Mapped[str] = mapped_column(String(128), default="")
    # A holster's officer (username) and the unit they ride with; a tracker's unit.
    officer: Mapped[str] = mapped_column(String(64), default="")
    unit_call_sign: Mapped[str] = mapped_column(String(32), default="")
    key_cipher: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SensorAlarm(Base):
    """One accepted smart-community alarm, what the rules made of it, and its outcome once closed."""

    __tablename__ = "sensor_alarm"
    __table_args__ = (Index("ix_sensor_alarm_device_type_at", "device_pk", "alarm_type", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_pk: Mapped[int] = mapped_column(ForeignKey("sensor_device.id"), index=True)
    community: Mapped[str] = mapped_column(String(64), index=True)
    alarm_type: Mapped[AlarmType] = mapped_column(str_enum(AlarmType, length=20))
    seq: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    decision: Mapped[AlarmDecision] = mapped_column(str_enum(AlarmDecision, length=20))
    reasons: Mapped[str] = mapped_column(String(255), default="")
    priority: Mapped[str] = mapped_column(String(2))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, length=10), default=Outcome.UNKNOWN)
    outcome_reason: Mapped[str] = mapped_column(String(255), default="")


class SensorAck(Base):
    """An acknowledgement to publish on the device's `…/ack` topic; the ingest sends it and stamps it."""

    __tablename__ = "sensor_ack"
    __table_args__ = (UniqueConstraint("alarm_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("sensor_alarm.id"), index=True)
    state: Mapped[AckState] = mapped_column(str_enum(AckState, length=12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class DeadLetter(Base):
    """A refused message and why. A message refused for image, video or biometric content keeps
    only the names of the offending fields, never the content."""

    __tablename__ = "sensor_dead_letter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    topic: Mapped[str] = mapped_column(String(255))
    device_id: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[Refusal] = mapped_column(str_enum(Refusal, length=20), index=True)
    detail: Mapped[str] = mapped_column(String(255), default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")


class SafetyAlert(Base):
    """An officer-safety alert (警员安全): one per danger, fusing its draw, trigger and shot events,
    with its incident, the officer's current incident, and the backup units recommended."""

    __tablename__ = "safety_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_pk: Mapped[int] = mapped_column(ForeignKey("sensor_device.id"), index=True)
    officer: Mapped[str] = mapped_column(String(64))
    unit_call_sign: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[AlertState] = mapped_column(str_enum(AlertState, length=12), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    linked_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    events: Mapped[str] = mapped_column(String(255), default="")
    # JSON list of {"unit_id", "call_sign", "travel_s"}: the nearest backup by road travel time.
    backup: Mapped[str] = mapped_column(Text, default="[]")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str] = mapped_column(String(64), default="")
    close_reason: Mapped[str] = mapped_column(String(255), default="")


class HolsterLog(Base):
    """Every accepted holster event, appended: the alert's history and the battery's."""

    __tablename__ = "holster_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_pk: Mapped[int] = mapped_column(ForeignKey("sensor_device.id"), index=True)
    event: Mapped[HolsterEvent] = mapped_column(str_enum(HolsterEvent, length=20))
    seq: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("safety_alert.id"), index=True)


class OfficerPosition(Base):
    """A unit's reported position, kept `PINGAN_SENSORS_POSITION_RETENTION_DAYS` and read only audited."""

    __tablename__ = "officer_position"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_pk: Mapped[int] = mapped_column(ForeignKey("sensor_device.id"), index=True)
    unit_call_sign: Mapped[str] = mapped_column(String(32), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    fix_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
