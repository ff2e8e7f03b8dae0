"""Request and response models of the command API. The API keeps UTC; pages show Beijing time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

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
from pingan.core.schemas import InputModel, RowId, SaneDatetime

Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS-84 latitude, degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS-84 longitude, degrees")]


class IncidentIn(InputModel):
    """One 110 call as the call-taker records it. It needs `text` or `category_code`.

    `disposition` says how the call ends: `new` (the default), `attached` to the open incident
    `related_incident_id`, or `hoax` / `duplicate` with a `disposition_reason`.
    """

    received_at: SaneDatetime | None = Field(
        default=None, description="when the call came in; now if omitted"
    )
    caller_phone: str | None = Field(default=None, max_length=32)
    caller_name: str | None = Field(default=None, max_length=64)
    text: str = Field(default="", max_length=4000, description="the caller's account, in Chinese")
    category_code: str | None = Field(default=None, max_length=8, description="类别/类型/细类 code")
    priority: Priority | None = Field(
        default=None, description="1 most urgent; the category's usual one if omitted"
    )
    address: str = Field(default="", max_length=255)
    lat: Latitude | None = None
    lon: Longitude | None = None
    station_code: str | None = Field(
        default=None, max_length=32, description="overrides the station found by place"
    )
    disposition: Disposition = Disposition.NEW
    related_incident_id: RowId | None = None
    disposition_reason: str = Field(default="", max_length=255)


class IncidentEventOut(BaseModel):
    """One step of the incident's log."""

    kind: IncidentEventKind
    at: datetime
    unit_id: int | None
    actor: str
    note: str


class MeasureOut(BaseModel):
    """One measured interval of the 110 chain."""

    name: str
    target_s: int
    seconds: float | None
    running: bool
    breached: bool
    deadline: datetime | None


class ClockChainOut(BaseModel):
    """The 110 chain of an incident, computed from its event log."""

    steps: dict[str, datetime | None]
    measures: list[MeasureOut]
    breached: bool
    reasons: list[str]


class IncidentOut(BaseModel):
    """An incident as the API shows it: the caller masked."""

    id: int
    received_at: datetime
    caller_phone_masked: str | None
    caller_name_masked: str | None
    text: str
    category_code: str | None
    category_version: str
    priority: Priority
    address: str
    lat: float | None
    lon: float | None
    location_flag: LocationFlag
    location_reasons: list[str]
    station_code: str | None
    area_kind: AreaKind
    disposition: Disposition
    related_incident_id: int | None
    disposition_reason: str
    status: IncidentStatus
    attach_suggestion: AttachSuggestionOut | None = None
    clock_chain: ClockChainOut | None = None
    events: list[IncidentEventOut] = []


class AttachSuggestionOut(BaseModel):
    """The open incident a call is likely about (None: none), and why."""

    incident_id: int | None
    reasons: list[str]


class CaseSolvedIn(InputModel):
    """A property crime's case solved (破案): what solved it."""

    note: str = Field(min_length=1, max_length=2000)


class LootIn(InputModel):
    """An item taken in a property crime, with its value in fen."""

    item: str = Field(min_length=1, max_length=200)
    value_lost_fen: int = Field(ge=1, le=10**12)
    note: str = Field(default="", max_length=2000)


class RecoveryIn(InputModel):
    """Value recovered of a loot item, in fen (added to what was recovered before)."""

    value_recovered_fen: int = Field(ge=1, le=10**12)


class LootOut(BaseModel):
    id: int
    item: str
    value_lost_fen: int
    value_recovered_fen: int
    recorded_by: str
    recorded_at: datetime
    recovered_at: datetime | None
    note: str


class CaseClockOut(BaseModel):
    """A property crime's 24-hour case clock and its loot-recovery record."""

    started_at: datetime
    due_at: datetime
    solved_at: datetime | None
    seconds: float
    running: bool
    breached: bool
    reason: str
    loot: list[LootOut]
    value_lost_fen: int
    value_recovered_fen: int


class UnitIn(InputModel):
    """A unit to create."""

    call_sign: str = Field(min_length=1, max_length=32)
    station_code: str = Field(min_length=1, max_length=32)
    kind: UnitKind = UnitKind.PATROL_CAR
    skills: str = Field(default="", max_length=255)


class UnitOut(BaseModel):
    """A unit, its state and last position."""

    id: int
    call_sign: str
    station_code: str
    kind: UnitKind
    skills: str
    state: UnitState
    state_since: datetime
    incident_id: int | None
    lat: float | None
    lon: float | None
    fix_at: datetime | None


class UnitMoveIn(InputModel):
    """A move of a unit's state machine. `assign` names the incident; `clear` carries the feedback."""

    move: UnitMove
    incident_id: RowId | None = None
    note: str = Field(default="", max_length=2000, description="the feedback, for `clear`")


class PositionIn(InputModel):
    """A unit's GPS fix (WGS-84)."""

    lat: Latitude
    lon: Longitude
    fix_at: SaneDatetime | None = None


class ShareOut(BaseModel):
    """`within` of `total` met the target."""

    within: int
    total: int
    percent: float | None


class SlowUnitOut(BaseModel):
    """A unit's mean assigned-to-arrival time over the week."""

    call_sign: str
    mean_s: float
    responses: int


class BulletinOut(BaseModel):
    """A station's weekly 110 bulletin."""

    station_code: str
    week_start: str
    incidents: int
    sign_off: ShareOut
    on_scene: ShareOut
    feedback: ShareOut
    slowest_units: list[SlowUnitOut]
