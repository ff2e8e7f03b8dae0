"""Request and response models of the sensor API (the MQTT messages are in docs/mqtt.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from pingan.core.schemas import InputModel
from pingan.sensors.choices import AlarmDecision, AlarmType, AlertState, DeviceKind, Outcome, Refusal

Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS-84 latitude, degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS-84 longitude, degrees")]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


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
