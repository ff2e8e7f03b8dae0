"""The base of every request model (`*In`) of the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

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

# The largest row id: ids are `integer` columns, 32-bit on PostgreSQL. A request naming a larger one
# gets 422 naming the field on both databases, not a database overflow.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
# Amounts in fen: at most 2^53, which JSON numbers and the banks' messages carry exactly.
MAX_FEN = 2**53


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
