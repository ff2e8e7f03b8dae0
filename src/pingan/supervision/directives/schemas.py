"""Directive request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from pingan.core.schemas import InputModel, SaneDatetime
from pingan.supervision.directives.choices import AnswerState, RequiredAnswer


class DirectiveIn(InputModel):
    """A directive to send: subject, text, the stations it goes to, its deadline and the answer it
    requires. `confirm_duplicate` sends it although the near-duplicate check names earlier ones."""

    subject: str = Field(min_length=2, max_length=200)
    text: str = Field(min_length=2, max_length=8000)
    stations: list[str] = Field(min_length=1, max_length=200)
    deadline: SaneDatetime
    required_answer: RequiredAnswer
    confirm_duplicate: bool = False


class AnswerIn(InputModel):
    """A station's answer, with the minutes the station spent on it."""

    text: str = Field(min_length=1, max_length=8000)
    minutes_spent: int = Field(ge=1, le=60 * 24 * 30)


class SimilarOut(BaseModel):
    """An earlier directive the new one nearly duplicates."""

    directive_id: int
    subject: str
    issuer: str
    issued_at: datetime
    similarity: float
    subject_similarity: float
    reasons: list[str]


class RecipientOut(BaseModel):
    """One station's copy of a directive and its answer."""

    station_code: str
    state: AnswerState
    answered_at: datetime | None
    answered_by: str | None
    answer_text: str
    minutes_spent: int | None


class DirectiveOut(BaseModel):
    """A directive with its stations' answers."""

    id: int
    subject: str
    text: str
    issuer: str
    issued_at: datetime
    deadline: datetime
    required_answer: RequiredAnswer
    duplicate_override: float | None
    similar_to: list[int]
    recipients: list[RecipientOut]


class DuplicateWarningOut(BaseModel):
    """The 409 answer to a directive that nearly duplicates earlier ones and was not confirmed."""

    error: str = "conflict"
    field: str = "confirm_duplicate"
    message: str
    similar: list[SimilarOut]


class StationLoadOut(BaseModel):
    """One station's directives in one week (Monday, Beijing time) and the minutes spent answering."""

    station_code: str
    week: str
    directives: int
    answered: int
    minutes_spent: int


class YearOverYearOut(BaseModel):
    """Directives issued in a calendar year (Beijing time) against the year before."""

    year: int
    directives: int
    previous_year: int
    change_percent: float | None
