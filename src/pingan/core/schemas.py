"""The base of every request model (`*In`) of the API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator


class InputModel(BaseModel):
    """A request body: unknown fields refused, text stripped of surrounding whitespace, NUL refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL, and SQLite would store what PostgreSQL refuses: refuse it
        # at the door, naming the field, on both engines.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain a NUL character")
        return value
