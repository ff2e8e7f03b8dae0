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
    CrowdAlertKind,
    DeviceKind,
    EventAlertState,
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
    # The tracker's message number: each is kept once (the unique index), whichever ingest process
    # took it, so that a position arriving after a later one of its device is told from a replay.
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (Index("uq_officer_position_device_seq", "device_pk", "seq", unique=True),)


class CrowdEvent(Base):
    """A large event (赛事/展会) whose crowd is watched: its code (the crowd topics' `{event}`) and
    its time."""

    __tablename__ = "crowd_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))


class CrowdZone(Base):
    """A zone of an event: a GeoJSON polygon and its capacity (a crowd zone), or a no-fly geofence
    for drones (capacity 0)."""

    __tablename__ = "crowd_zone"
    __table_args__ = (UniqueConstraint("event_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("crowd_event.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    no_fly: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    polygon: Mapped[str] = mapped_column(Text)  # GeoJSON Polygon coordinates, [lon, lat]
    # The percentages of capacity at which a crowd zone reaches each level (set per venue).
    watch_pct: Mapped[int] = mapped_column(Integer, default=70, server_default="70")
    control_pct: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    over_pct: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    # The last count taken (a crowd zone): its level ('' below watch), the count and its device time.
    level: Mapped[str] = mapped_column(String(10), default="", server_default="")
    last_count: Mapped[int | None] = mapped_column(Integer)
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A retired zone is kept with its alerts' history, off the map, and raises nothing any more.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    retire_note: Mapped[str] = mapped_column(String(255), default="", server_default="")

    @property
    def thresholds(self) -> tuple[int, int, int]:
        """The zone's watch, control and over percentages."""
        return (self.watch_pct, self.control_pct, self.over_pct)


class CrowdAlert(Base):
    """A large event's alert: a crowd zone reaching a level (one active per zone and level), or a drone
    in a no-fly zone (one active per zone while reports keep coming, `DRONE_JOIN_S` apart at most).
    It stays active until a dispatcher or supervisor closes it, saying how it ended and why."""

    __tablename__ = "crowd_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("crowd_event.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("crowd_zone.id"), index=True)
    kind: Mapped[CrowdAlertKind] = mapped_column(str_enum(CrowdAlertKind, length=10))
    level: Mapped[str] = mapped_column(String(10), default="")
    count: Mapped[int | None] = mapped_column(Integer)
    percent: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    device_pk: Mapped[int] = mapped_column(ForeignKey("sensor_device.id"), index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reports: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[EventAlertState] = mapped_column(
        str_enum(EventAlertState, length=12),
        default=EventAlertState.ACTIVE,
        server_default="active",
        index=True,
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    close_note: Mapped[str] = mapped_column(String(255), default="", server_default="")
