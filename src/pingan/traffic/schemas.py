"""Request and response models of traffic safety."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from pingan.core.schemas import InputModel, RowId, SaneDatetime
from pingan.traffic.choices import (
    Cause,
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


class VehicleIn(InputModel):
    kind: VehicleKind
    plate: str | None = Field(default=None, max_length=16)


class PersonIn(InputModel):
    role: PersonRole
    injury: Injury
    vehicle_no: int | None = Field(default=None, ge=1, le=50)


class AccidentIn(InputModel):
    """An accident as recorded. With `people` listed, the casualty counts come from them; without,
    give the counts and `people_count` (an imported summary row)."""

    occurred_at: SaneDatetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: str = Field(default="", max_length=255)
    collision: CollisionType
    weather: Weather = Weather.UNKNOWN
    lighting: Lighting = Lighting.UNKNOWN
    surface: RoadSurface = RoadSurface.UNKNOWN
    causes: list[Cause] = Field(default_factory=list, max_length=10)
    vehicles: list[VehicleIn] = Field(default_factory=list, max_length=50)
    people: list[PersonIn] = Field(default_factory=list, max_length=200)
    people_count: int | None = Field(default=None, ge=0, le=10_000)
    deaths: int | None = Field(default=None, ge=0, le=10_000)
    serious_injuries: int | None = Field(default=None, ge=0, le=10_000)
    slight_injuries: int | None = Field(default=None, ge=0, le=10_000)
    scene_investigated_at: SaneDatetime | None = None
    tests_ordered: bool = False
    tests_reported_at: SaneDatetime | None = None
    finding_issued_at: SaneDatetime | None = None


class VehicleOut(BaseModel):
    kind: VehicleKind
    plate_masked: str | None


class PersonOut(BaseModel):
    role: PersonRole
    injury: Injury
    vehicle_no: int | None


class FindingClockOut(BaseModel):
    deadline: datetime | None
    reason: str
    overdue: bool
    done: bool


class AccidentOut(BaseModel):
    id: int
    occurred_at: datetime
    lat: float
    lon: float
    address: str
    edge_id: int | None
    snap_m: float | None
    snap_flag: SnapFlag
    collision: CollisionType
    severity: Severity
    weather: Weather
    lighting: Lighting
    surface: RoadSurface
    causes: list[Cause]
    deaths: int
    serious_injuries: int
    slight_injuries: int
    major: bool
    vehicles: list[VehicleOut]
    people: list[PersonOut]
    finding: FindingClockOut


class CountermeasureIn(InputModel):
    kind: CountermeasureKind
    edge_id: RowId
    installed_on: date
    note: str = Field(default="", max_length=2000)


class CountermeasureOut(BaseModel):
    id: int
    kind: CountermeasureKind
    edge_id: int
    installed_on: date
    note: str


class BlackSpotOut(BaseModel):
    """A segment's EB estimate over the period: expected by the SPF, observed, EB, excess and its interval."""

    rank: int
    edge_id: int
    road_class: str
    length_m: float
    observed: int
    predicted: float
    eb: float
    excess: float
    excess_low: float
    excess_high: float
    severity_weighted: float


class EffectOut(BaseModel):
    """An EB before–after estimate (Hauer): the index of effectiveness θ with its 95% interval."""

    method: str
    sites: int
    observed_after: int
    expected_after: float
    theta: float
    theta_low: float
    theta_high: float
    naive_ratio: float | None
