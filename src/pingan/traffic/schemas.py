"""Request and response models of traffic safety."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from pingan.core.schemas import InputModel, RowId, SaneDatetime
from pingan.traffic.choices import (
    CampaignOutcome,
    Cause,
    CollisionType,
    CountermeasureKind,
    Injury,
    Lighting,
    PersonRole,
    RacingKind,
    RoadSurface,
    Severity,
    SnapFlag,
    VehicleKind,
    ViolationKind,
    Weather,
)

# A date of this century, as `SaneDatetime` for times: outside it a date is a typing error, and near
# the ends of `date` a window around it would overflow.
SaneDate = Annotated[date, Field(ge=date(2000, 1, 1), lt=date(2100, 1, 1))]


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
    installed_on: SaneDate
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


class RacingReportIn(InputModel):
    """A citizen's report of street racing or a loud exhaust: when, where, what (no reporter identity)."""

    occurred_at: SaneDatetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    kind: RacingKind
    note: str = Field(default="", max_length=2000)


class RacingReportOut(BaseModel):
    id: int
    occurred_at: datetime
    lat: float
    lon: float
    edge_id: int | None
    kind: RacingKind
    note: str


class EnforcementIn(InputModel):
    """An operation against street racing at a segment and what it gave."""

    edge_id: RowId
    started_at: SaneDatetime
    ended_at: SaneDatetime
    stops: int = Field(default=0, ge=0, le=10_000)
    vehicles_seized: int = Field(default=0, ge=0, le=10_000)
    cases: int = Field(default=0, ge=0, le=10_000)
    note: str = Field(default="", max_length=2000)


class EnforcementOut(BaseModel):
    id: int
    edge_id: int
    started_at: datetime
    ended_at: datetime
    stops: int
    vehicles_seized: int
    cases: int
    note: str


class HotSpotOut(BaseModel):
    """A place and hour of the day (Beijing time) of street racing, its score and the reasons."""

    place: str
    hour: int
    score: float
    loud_readings: int
    night_readings: int
    reports: int
    reasons: list[str]


class PatrolPlanOut(BaseModel):
    """A proposed patrol: the place and the hours (Beijing time, end exclusive, may wrap past midnight)."""

    place: str
    start_hour: int
    end_hour: int
    score: float
    reasons: list[str]


class RacingOut(BaseModel):
    hot_spots: list[HotSpotOut]
    patrols: list[PatrolPlanOut]
    readings: int
    reports: int
    refused_media: int


class ViolationIn(InputModel):
    kind: ViolationKind
    occurred_at: SaneDatetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ViolationOut(BaseModel):
    id: int
    kind: ViolationKind
    occurred_at: datetime
    lat: float
    lon: float
    edge_id: int | None


class CampaignIn(InputModel):
    """An enforcement campaign: its period, the segments it covers (none: the whole district), what it targets
    and what it is measured by."""

    name: str = Field(min_length=1, max_length=200)
    target: ViolationKind | None = None
    outcome: CampaignOutcome
    started_on: SaneDate
    ended_on: SaneDate
    edges: list[RowId] = Field(default_factory=list, max_length=500)
    note: str = Field(default="", max_length=2000)


class CampaignOut(BaseModel):
    id: int
    name: str
    target: ViolationKind | None
    outcome: CampaignOutcome
    started_on: date
    ended_on: date
    edges: list[int]
    note: str


class CampaignFiguresOut(BaseModel):
    """A campaign's before–after figures: the EB estimate where accidents are the outcome, plain counts
    with their caveat where violations are."""

    campaign: CampaignOut
    method: str
    caveat: str
    before: int
    during: int
    before_days: int
    during_days: int
    effect: EffectOut | None
