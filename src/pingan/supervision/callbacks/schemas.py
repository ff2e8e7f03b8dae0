"""Request and response models of the call-backs API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from pingan.core.schemas import InputModel, SaneDatetime
from pingan.supervision.callbacks.choices import CallbackOutcome, TaskState
from pingan.supervision.callbacks.rules import DEFAULT_RATE, DEFAULT_SEED


class DrawIn(InputModel):
    """Draw a week's sample: the week by its Monday (Beijing), the stated rate and the seed."""

    week_start: date
    rate: float = Field(default=DEFAULT_RATE, gt=0, le=1)
    seed: int = Field(default=DEFAULT_SEED, ge=0, le=2**31 - 1)


class OutcomeIn(InputModel):
    """What the call-back found, when it was made, and the officer's note."""

    outcome: CallbackOutcome
    at: SaneDatetime
    note: str = Field(default="", max_length=4000)


class ToComplaintIn(InputModel):
    """Turn a dissatisfied call-back into a complaint. The caller's name is taken from the incident
    when the call-taker recorded it; the text defaults to the call-back's note."""

    complainant_name: str | None = Field(default=None, min_length=1, max_length=64)
    text: str | None = Field(default=None, min_length=5, max_length=8000)
    category: str = Field(default="", max_length=40)


class DrawOut(BaseModel):
    id: int
    week_start: date
    rate: float
    seed: int
    eligible: int
    drawn: int
    drawn_by: str
    drawn_at: datetime


class TaskOut(BaseModel):
    id: int
    draw_id: int
    incident_id: int
    station_code: str
    state: TaskState
    outcome: CallbackOutcome | None
    note: str
    called_at: datetime | None
    called_by: str | None
    complaint_id: int | None
    caller_phone_masked: str | None = None


class ShareOut(BaseModel):
    count: int
    n: int
    low: float
    high: float


class StationFiguresOut(BaseModel):
    station_code: str
    drawn: int
    called: int
    reach_rate: ShareOut
    satisfaction: ShareOut


class FiguresOut(BaseModel):
    """The period's call-back figures: each a count with its base and its 95% Wilson interval."""

    month: str
    weeks_drawn: int
    eligible: int
    drawn: int
    callback_rate: ShareOut
    reach_rate: ShareOut
    satisfaction: ShareOut
    by_station: list[StationFiguresOut]
