"""Traffic tables: accidents (交通事故) with their vehicles and people, segment volumes, countermeasures;
street racing and loud exhausts (reports, noise levels, enforcement); violations and campaigns.

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
    CampaignOutcome,
    CollisionType,
    CountermeasureKind,
    Injury,
    Lighting,
    NoiseRefusal,
    PersonRole,
    RacingKind,
    RoadSurface,
    Severity,
    SnapFlag,
    VehicleKind,
    ViolationKind,
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


class RacingReport(Base):
    """A citizen's report of street racing or a loud exhaust (飙车炸街): when, where, what. No reporter
    identity is kept here (the call or the app that took it holds who they are)."""

    __tablename__ = "traffic_racing_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    edge_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[RacingKind] = mapped_column(str_enum(RacingKind, length=16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))


class NoiseReading(Base):
    """One noise sensor's aggregate level over a window (LAeq and LAmax, dB(A)); never audio."""

    __tablename__ = "traffic_noise_reading"
    __table_args__ = (UniqueConstraint("sensor", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sensor: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    edge_id: Mapped[int | None] = mapped_column(Integer, index=True)
    laeq_db: Mapped[float] = mapped_column(Float)
    lmax_db: Mapped[float] = mapped_column(Float)
    window_s: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoiseDeadLetter(Base):
    """A refused noise message and why. One refused for audio, pictures or video keeps only the names
    of the offending fields, never the content."""

    __tablename__ = "traffic_noise_dead_letter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    topic: Mapped[str] = mapped_column(String(255))
    sensor: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[NoiseRefusal] = mapped_column(str_enum(NoiseRefusal, length=20), index=True)
    detail: Mapped[str] = mapped_column(String(255), default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")


class RacingEnforcement(Base):
    """An operation against street racing at a segment: when, and what it gave (stops, seizures, cases)."""

    __tablename__ = "traffic_racing_enforcement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edge_id: Mapped[int] = mapped_column(Integer, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stops: Mapped[int] = mapped_column(Integer, default=0)
    vehicles_seized: Mapped[int] = mapped_column(Integer, default=0)
    cases: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))


class Violation(Base):
    """A traffic violation found (a tricycle carrying passengers, a rider without a helmet): kind, time, place."""

    __tablename__ = "traffic_violation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ViolationKind] = mapped_column(str_enum(ViolationKind, length=16), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    edge_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_by: Mapped[str] = mapped_column(String(64))


class Campaign(Base):
    """An enforcement campaign (专项整治) over a period, on some segments (none: the whole district),
    measured by accidents or by violations."""

    __tablename__ = "traffic_campaign"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    target: Mapped[ViolationKind | None] = mapped_column(str_enum(ViolationKind, length=16), nullable=True)
    outcome: Mapped[CampaignOutcome] = mapped_column(str_enum(CampaignOutcome, length=12))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date] = mapped_column(Date)
    # The segments it covers, edge ids separated by commas; empty for the whole district.
    edges: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
