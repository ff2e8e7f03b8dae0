"""Traffic tables: accidents (交通事故) with their vehicles and people, segment volumes, countermeasures.

An accident's place is kept as given (WGS-84); the road segment it lies on (`edge_id`, an id of the
command platform's road graph) and the distance to it are recorded beside it, or the flag says why not.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Protected, protected
from pingan.traffic.choices import (
    CollisionType,
    CountermeasureKind,
    Injury,
    Lighting,
    PersonRole,
    RoadSurface,
    Severity,
    SnapFlag,
    VehicleKind,
    Weather,
)


class Accident(Base):
    """One road traffic accident (道路交通事故), with its place, conditions and the finding clock."""

    __tablename__ = "traffic_accident"
    __table_args__ = (UniqueConstraint("source_system", "source_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(255), default="")
    # The road graph's segment the point lies on, and how far from it (metres); None when flagged.
    edge_id: Mapped[int | None] = mapped_column(Integer, index=True)
    snap_m: Mapped[float | None] = mapped_column(Float)
    snap_flag: Mapped[SnapFlag] = mapped_column(str_enum(SnapFlag, length=12))
    collision: Mapped[CollisionType] = mapped_column(str_enum(CollisionType, length=16))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, length=12), index=True)
    weather: Mapped[Weather] = mapped_column(str_enum(Weather, length=12))
    lighting: Mapped[Lighting] = mapped_column(str_enum(Lighting, length=12))
    surface: Mapped[RoadSurface] = mapped_column(str_enum(RoadSurface, length=12))
    # Contributory factors, `Cause` values separated by commas, in the order recorded.
    causes: Mapped[str] = mapped_column(String(255), default="")
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    serious_injuries: Mapped[int] = mapped_column(Integer, default=0)
    slight_injuries: Mapped[int] = mapped_column(Integer, default=0)
    major: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # The finding clock (事故认定): the scene investigation, the test results if tests were ordered,
    # and the finding's issue.
    scene_investigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tests_ordered: Mapped[bool] = mapped_column(Boolean, default=False)
    tests_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finding_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    source_system: Mapped[str | None] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(64))

    vehicles: Mapped[list[AccidentVehicle]] = relationship(
        back_populates="accident", order_by="AccidentVehicle.id", cascade="all, delete-orphan"
    )
    people: Mapped[list[AccidentPerson]] = relationship(
        back_populates="accident", order_by="AccidentPerson.id", cascade="all, delete-orphan"
    )


class AccidentVehicle(Base):
    """A vehicle in an accident; its plate is protected (pseudonym, ciphertext, masked form)."""

    __tablename__ = "traffic_vehicle"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accident_id: Mapped[int] = mapped_column(
        ForeignKey("traffic_accident.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[VehicleKind] = mapped_column(str_enum(VehicleKind, length=12))
    plate: Mapped[Protected | None] = protected(PiiKind.PLATE, "plate", index=True, nullable=True)

    accident: Mapped[Accident] = relationship(back_populates="vehicles")


class AccidentPerson(Base):
    """A person in an accident: role and injury only, no name (the case file holds who they are)."""

    __tablename__ = "traffic_person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accident_id: Mapped[int] = mapped_column(
        ForeignKey("traffic_accident.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[PersonRole] = mapped_column(str_enum(PersonRole, length=12))
    injury: Mapped[Injury] = mapped_column(str_enum(Injury, length=12))
    # Which vehicle they were in or on, by its place in the record (1-based); None for a pedestrian.
    vehicle_no: Mapped[int | None] = mapped_column(Integer)

    accident: Mapped[Accident] = relationship(back_populates="people")


class SegmentVolume(Base):
    """A segment's traffic volume (AADT, vehicles a day) where counted or estimated."""

    __tablename__ = "traffic_segment_volume"

    edge_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aadt: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(64), default="")


class Countermeasure(Base):
    """A safety measure put in at a segment on a date (a camera, a signal change, a patrol, a speed table)."""

    __tablename__ = "traffic_countermeasure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[CountermeasureKind] = mapped_column(str_enum(CountermeasureKind, length=16))
    edge_id: Mapped[int] = mapped_column(Integer, index=True)
    installed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
