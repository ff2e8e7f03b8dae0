"""The base of every request model (`*In`) of the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, field_validator

# The span of times an operational record can have: telecom fraud, payments and incidents of this
# century. Outside it a date is a typing error (a transfer in 9999, a fraud begun in year 1), and
# near the ends of `datetime` a change of zone would overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _sane(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"a time between {EARLIEST:%Y} and {LATEST:%Y} is expected, not {value.isoformat()}")
    return value


SaneDatetime = Annotated[AwareDatetime, AfterValidator(_sane)]


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
