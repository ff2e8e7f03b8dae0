"""The mapping of a bank's transaction extract (流水) onto the store layout: a TOML file, validated.

A mapping names the extract's columns and says how to read them: the time (a strptime format, seconds
or milliseconds since the epoch, or a count of steps from a start time, as PaySim's `step` counts
hours and AMLSim's `time` counts days), the amount (yuan, fen or cents, times a scale), the channel
(a code table from the extract's codes to the store's channels, or one channel for every row) and the
accounts (payer, payee, their banks or one bank for all). `examples/mappings/` holds the mappings of
the public PaySim and AMLSim schemas.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.core.errors import Invalid
from pingan.sim.normal import CHANNELS

EPOCH_FORMATS = ("epoch_s", "epoch_ms", "epoch_us")
OFFSET_UNITS_US = {"seconds": 10**6, "minutes": 60 * 10**6, "hours": 3_600 * 10**6, "days": 86_400 * 10**6}
# Fen per unit of the extract's amount column, before the mapping's scale. A cent is the hundredth of
# the extract's currency, as a fen is of the yuan: an extract in another currency sets `scale` to the
# exchange rate into yuan.
FEN_PER_UNIT = {"yuan": 100, "fen": 1, "cents": 1}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeMap(_Section):
    """How the time column reads: `format` is a strptime format, an epoch unit, or `offset`."""

    column: str
    format: str
    timezone: str = "Asia/Shanghai"  # the zone of times written without an offset
    unit: Literal["seconds", "minutes", "hours", "days"] | None = None  # offset: what one step is
    start: datetime | None = None  # offset: the time of step 0 (with its UTC offset, or in `timezone`)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _offset_needs_unit_and_start(self) -> TimeMap:
        if self.format == "offset":
            if self.unit is None:
                raise ValueError("format 'offset' needs `unit` (seconds, minutes, hours or days)")
            if self.start is None:
                raise ValueError("format 'offset' needs `start`, the time of step 0")
        elif self.format not in EPOCH_FORMATS and "%" not in self.format:
            raise ValueError(
                f"format {self.format!r} is neither a strptime format (with %-codes), "
                f"{', '.join(EPOCH_FORMATS)} nor 'offset'"
            )
        return self


class AmountMap(_Section):
    """The amount column, its unit and a scale (fen = value x fen per unit x scale)."""

    column: str
    unit: Literal["yuan", "fen", "cents"]
    scale: Decimal = Field(default=Decimal(1), gt=0)


class ChannelMap(_Section):
    """The channel: a column read through a code table, or one channel for every row."""

    column: str | None = None
    codes: dict[str, str] = Field(default_factory=dict)
    constant: str | None = None

    @model_validator(mode="after")
    def _column_or_constant(self) -> ChannelMap:
        if (self.column is None) == (self.constant is None):
            raise ValueError("give either `column` (with `codes`) or `constant`")
        if self.column is not None and not self.codes:
            raise ValueError("a channel column needs `codes`, the table from its codes to channels")
        known = set(CHANNELS)
        for code, channel in [*self.codes.items(), *([("constant", self.constant)] if self.constant else [])]:
            if channel not in known:
                raise ValueError(f"{code} = {channel!r} is not a channel; known: {', '.join(CHANNELS)}")
        return self


class AccountsMap(_Section):
    """Payer and payee columns; each side's bank column (read through `bank_codes`), or one bank for all."""

    payer: str
    payee: str
    payer_bank: str | None = None
    payee_bank: str | None = None
    bank: str | None = None  # the bank of every account whose side has no bank column
    bank_codes: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _banks_known(self) -> AccountsMap:
        if self.bank is None and (self.payer_bank is None or self.payee_bank is None):
            raise ValueError("give `bank`, or both `payer_bank` and `payee_bank`")
        for key, code in [*self.bank_codes.items(), *([("bank", self.bank)] if self.bank else [])]:
            if code not in BANKS_BY_CODE:
                raise ValueError(
                    f"{key} = {code!r} is not a bank code; known: {', '.join(sorted(BANKS_BY_CODE))}"
                )
        return self


class ExtractMapping(_Section):
    """A whole mapping file."""

    description: str = ""
    format: Literal["csv", "parquet"] | None = None  # default: from the file's suffix
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    tx_id: str | None = None  # the extract's transaction id column, if it has one
    time: TimeMap
    amount: AmountMap
    channel: ChannelMap
    accounts: AccountsMap

    def columns(self) -> dict[str, str]:
        """Extract column -> the mapping key that names it."""
        named = {
            "tx_id": self.tx_id,
            "time.column": self.time.column,
            "amount.column": self.amount.column,
            "channel.column": self.channel.column,
            "accounts.payer": self.accounts.payer,
            "accounts.payee": self.accounts.payee,
            "accounts.payer_bank": self.accounts.payer_bank,
            "accounts.payee_bank": self.accounts.payee_bank,
        }
        return {col: key for key, col in named.items() if col is not None}


def load_mapping(path: Path) -> ExtractMapping:
    """Read and validate a mapping file; Invalid names the key that is wrong."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Invalid(f"mapping file {path} not found", field="mapping") from None
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"{path}: not TOML ({exc})", field="mapping") from None
    try:
        return ExtractMapping.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "mapping"
        raise Invalid(f"{path}: {key}: {err['msg']}", field=key) from None
