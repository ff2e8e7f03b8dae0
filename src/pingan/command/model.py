"""Command tables: incidents (警情) with their event log, and units (警力) with their status log.

Coordinates are WGS-84 degrees, as received: the live map and road routing read `incident.lat/lon`
and `unit.lat/lon` (with `unit.fix_at`, the age of the last GPS fix), and station areas are the
`station.area_geojson` polygons of the core.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.command.choices import (
    AreaKind,
    Disposition,
    IncidentEventKind,
    IncidentStatus,
    LocationFlag,
    Priority,
    UnitKind,
    UnitMove,
    UnitState,
)
from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Protected, Sealed, protected, sealed


class Incident(Base):
    """One 110 call and, when it is a new incident, the incident it opened (警情).

    A call attached to an open incident, a hoax and a duplicate are kept too, with their disposition
    and reason, so that every call is accounted for; only a `new` one enters the dispatch queue.
    """

    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_open_queue", "status", "disposition", "priority"),
        # An imported row is stored once per source system: a re-import of the same file finds it.
        UniqueConstraint("source_system", "source_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    caller_phone: Mapped[Protected | None] = protected(
        PiiKind.PHONE, "caller_phone", index=True, nullable=True
    )
    caller_name: Mapped[Sealed | None] = sealed(PiiKind.NAME, "caller_name", masked_length=64, nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    category_code: Mapped[str | None] = mapped_column(String(8), index=True)
    category_version: Mapped[str] = mapped_column(String(16))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, length=2))
    address: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    location_flag: Mapped[LocationFlag] = mapped_column(str_enum(LocationFlag, length=20))
    location_reasons: Mapped[str] = mapped_column(String(255), default="")
    station_code: Mapped[str | None] = mapped_column(ForeignKey("station.code"), index=True)
    area_kind: Mapped[AreaKind] = mapped_column(str_enum(AreaKind, length=10))
    disposition: Mapped[Disposition] = mapped_column(str_enum(Disposition, length=10))
    # The incident an attached or duplicate call is about.
    related_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    disposition_reason: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[IncidentStatus] = mapped_column(str_enum(IncidentStatus, length=10))
    created_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The system an imported incident came from and its id there; both None for a call taken here.
    source_system: Mapped[str | None] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(64))

    events: Mapped[list[IncidentEvent]] = relationship(
        back_populates="incident", order_by="IncidentEvent.id", cascade="all, delete-orphan"
    )


class IncidentEvent(Base):
    """One step of an incident's log, appended and never changed: the clock chain is computed from it."""

    __tablename__ = "incident_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IncidentEventKind] = mapped_column(str_enum(IncidentEventKind, length=20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")

    incident: Mapped[Incident] = relationship(back_populates="events")


class IncidentLoot(Base):
    """One item of a property crime's loot-recovery record (追赃挽损): what was taken, its value, and
    how much of it has been recovered and returned."""

    __tablename__ = "incident_loot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(200))
    value_lost_fen: Mapped[int] = mapped_column(BigInteger)
    value_recovered_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


class Unit(Base):
    """A unit (警力) of a station: a patrol car, foot or e-bike patrol, with its state and last position."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sign: Mapped[str] = mapped_column(String(32), unique=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("station.code"), index=True)
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind, length=20))
    skills: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[UnitState] = mapped_column(str_enum(UnitState, length=20), index=True)
    state_since: Mapped[datetime] = mapped_column(UTCDateTime())
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    fix_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UnitStatusLog(Base):
    """One change of a unit's state, appended and never changed (the unit's log)."""

    __tablename__ = "unit_status_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    move: Mapped[UnitMove | None] = mapped_column(str_enum(UnitMove, length=20))
    from_state: Mapped[UnitState | None] = mapped_column(str_enum(UnitState, length=20))
    to_state: Mapped[UnitState] = mapped_column(str_enum(UnitState, length=20))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
