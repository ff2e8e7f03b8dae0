"""Request and response models of the sensor API (the MQTT messages are in docs/mqtt.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator, model_validator

from pingan.core.schemas import InputModel
from pingan.sensors import rules
from pingan.sensors.choices import (
    AlarmDecision,
    AlarmType,
    AlertState,
    CrowdAlertKind,
    DeviceKind,
    EventAlertState,
    Outcome,
    Refusal,
)

Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS-84 latitude, degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS-84 longitude, degrees")]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Percent = Annotated[
    int, Field(ge=1, le=rules.MAX_THRESHOLD_PCT, description="percent of capacity at which the level starts")
]


def _zone_polygon(value: list[Any]) -> list[Any]:
    problem = rules.polygon_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class DeviceIn(InputModel):
    """A device to register (whitelist). `key` is its HMAC key in hex; one is made when omitted."""

    device_id: Name
    kind: DeviceKind
    community: Name = Field(description="the smart community's code; `units`/`holster` for officer devices")
    location: str = Field(default="", max_length=255)
    lat: Latitude | None = None
    lon: Longitude | None = None
    owner: str = Field(default="", max_length=128, description="who runs the device (property company)")
    officer: str = Field(default="", max_length=64, description="a holster's officer (username)")
    unit_call_sign: str = Field(default="", max_length=32, description="a holster's or tracker's unit")
    key: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32,128}$")


class ActiveIn(InputModel):
    """Whether the device is on the whitelist."""

    active: bool


class DeviceOut(BaseModel):
    """A registered device, with its false-alarm score (never its key)."""

    id: int
    device_id: str
    kind: DeviceKind
    community: str
    location: str
    lat: float | None
    lon: float | None
    owner: str
    officer: str
    unit_call_sign: str
    active: bool
    false_alarm_score: float
    outcomes: int


class DeviceCreated(DeviceOut):
    """The registered device and its key, shown this once: it is stored only encrypted."""

    key: str


class AlarmOut(BaseModel):
    """An accepted alarm and what the rules made of it."""

    id: int
    device_id: str
    community: str
    alarm_type: AlarmType
    received_at: datetime
    decision: AlarmDecision
    priority: str
    reasons: list[str]
    incident_id: int | None
    outcome: Outcome


class OutcomeIn(InputModel):
    """What a closed alarm turned out to be."""

    outcome: Outcome
    reason: str = Field(default="", max_length=255)


class DeadLetterOut(BaseModel):
    """A refused message and why."""

    id: int
    received_at: datetime
    topic: str
    device_id: str
    reason: Refusal
    detail: str


class AlertOut(BaseModel):
    """An officer-safety alert."""

    id: int
    officer: str
    unit_call_sign: str
    state: AlertState
    opened_at: datetime
    lat: float | None
    lon: float | None
    incident_id: int | None
    linked_incident_id: int | None
    events: list[str]
    backup: list[dict[str, object]]
    closed_at: datetime | None
    close_reason: str


class AlertCloseIn(InputModel):
    """Close an alert: resolved (the officer is safe) or false (a false alarm), with the reason."""

    state: AlertState
    reason: str = Field(min_length=1, max_length=255)


class PositionOut(BaseModel):
    """One reported position of a unit."""

    unit_call_sign: str
    lat: float
    lon: float
    fix_at: datetime


class CrowdEventIn(InputModel):
    """A large event to watch: its code (the crowd topics' `{event}`), name and time."""

    code: Name
    name: str = Field(min_length=1, max_length=128)
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _ends_after_start(self) -> CrowdEventIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CrowdZoneIn(InputModel):
    """A zone of an event: a GeoJSON Polygon's coordinates ([lon, lat], one closed outer ring) with
    its capacity in people, or a no-fly geofence for drones (`no_fly`, no capacity)."""

    code: Name
    name: str = Field(min_length=1, max_length=128)
    polygon: list[Any] = Field(description="GeoJSON Polygon coordinates: [[[lon, lat], ...]]")
    no_fly: bool = False
    capacity: int = Field(default=0, ge=0, le=10_000_000, description="people; 0 for a no-fly zone")
    watch_pct: Percent = rules.DEFAULT_THRESHOLDS[0]
    control_pct: Percent = rules.DEFAULT_THRESHOLDS[1]
    over_pct: Percent = rules.DEFAULT_THRESHOLDS[2]

    @field_validator("polygon")
    @classmethod
    def _a_zone_polygon(cls, value: list[Any]) -> list[Any]:
        return _zone_polygon(value)

    @field_validator("capacity")
    @classmethod
    def _capacity_of_a_crowd_zone(cls, value: int, info: ValidationInfo) -> int:
        if not info.data.get("no_fly") and value <= 0:
            raise ValueError("a crowd zone holds at least one person")
        return value


class CrowdZoneEdit(InputModel):
    """A zone's change: what is given is changed, the rest kept. The code (the counters' topic) and
    the kind stay; a no-fly zone has no capacity or thresholds. The thresholds are checked together,
    as they will stand (watch < control < over)."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    polygon: list[Any] | None = Field(
        default=None, description="GeoJSON Polygon coordinates: [[[lon, lat], ...]]"
    )
    capacity: int | None = Field(default=None, ge=1, le=10_000_000, description="people (a crowd zone)")
    watch_pct: Percent | None = None
    control_pct: Percent | None = None
    over_pct: Percent | None = None

    @field_validator("polygon")
    @classmethod
    def _a_zone_polygon(cls, value: list[Any] | None) -> list[Any] | None:
        return None if value is None else _zone_polygon(value)


class ZoneRetireIn(InputModel):
    """Retire a zone: why, required (kept with the zone and in the audit log)."""

    note: str = Field(min_length=1, max_length=255, description="why the zone is no longer watched")


class CrowdZoneOut(BaseModel):
    """A zone as the API shows it: a retired one with who retired it, when and why."""

    id: int
    code: str
    name: str
    polygon: list[Any]
    capacity: int
    no_fly: bool
    watch_pct: int
    control_pct: int
    over_pct: int
    level: str
    last_count: int | None
    counted_at: datetime | None
    retired_at: datetime | None
    retired_by: str
    retire_note: str


class CrowdEventOut(BaseModel):
    """An event with its zones."""

    id: int
    code: str
    name: str
    starts_at: datetime
    ends_at: datetime
    zones: list[CrowdZoneOut]


class EventAlertCloseIn(InputModel):
    """Close a large event's alert: how it ended (resolved, false_alarm or handed_over) and a note
    saying what was done, both required."""

    reason: EventAlertState = Field(description="resolved, false_alarm or handed_over")
    note: str = Field(min_length=1, max_length=255, description="what was done, to whom it was handed")


class EventAlertOut(BaseModel):
    """A large event's alert as the API shows it, with who closed it, when and why."""

    id: int
    event_id: int
    zone_id: int
    zone_code: str
    kind: CrowdAlertKind
    level: str
    count: int | None
    percent: float | None
    lat: float | None
    lon: float | None
    raised_at: datetime
    last_at: datetime
    reports: int
    state: EventAlertState
    closed_at: datetime | None
    closed_by: str
    close_note: str
