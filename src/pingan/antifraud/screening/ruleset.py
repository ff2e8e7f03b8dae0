"""The versioned screening rule set: a TOML file validated at load with Pydantic.

Every rule has an id, a kind, a description and its parameters. A malformed file is refused with
`RulesInvalid` naming the rule id and the field; `RuleBook.reload` then keeps the rules in force.
"""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pingan.core.errors import Invalid

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
KNOWN_CHANNELS = ("mobile_banking", "online_banking", "counter", "atm", "third_party", "qr", "pos")
# Account transfers: the channels on which the pattern rules (a payer's own history of payees) mean
# something. A QR or POS payment goes to a shop's or a collection code's account, where "a payee never
# paid before" is every new shop.
TRANSFER_CHANNELS = ("mobile_banking", "online_banking", "counter", "third_party")


class RulesInvalid(Invalid):
    """A rules file that cannot be put in force; the message names the rule id and the field."""


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WatchlistParams(_Params):
    min_confidence: float = Field(0.0, ge=0.0, le=1.0)
    min_amount_fen: int = Field(0, ge=0)


class FirstLargeParams(_Params):
    min_amount_fen: int = Field(gt=0)


class EscalatingParams(_Params):
    new_payee_days: int = Field(gt=0, le=366)
    min_count: int = Field(ge=2)
    growth: float = Field(ge=1.0)
    min_amount_fen: int = Field(ge=0)


class BurstParams(_Params):
    min_count: int = Field(ge=2)
    window_minutes: int = Field(gt=0, le=24 * 60)
    min_amount_fen: int = Field(ge=0)


class ElderlyNightParams(_Params):
    min_age: int = Field(ge=40, le=120)
    start_hour: int = Field(ge=0, le=23)
    end_hour: int = Field(ge=0, le=23)
    min_amount_fen: int = Field(ge=0)


class MulePayeeParams(_Params):
    min_payers: int = Field(ge=2)
    max_payers: int = Field(ge=2)
    window_days: int = Field(gt=0, le=90)
    min_amount_fen: int = Field(ge=0)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Z][A-Z0-9-]*$")
    description: str = Field(min_length=1)


class WatchlistRule(_Rule):
    kind: Literal["watchlist_payee"]
    params: WatchlistParams = WatchlistParams()


class FirstLargeRule(_Rule):
    kind: Literal["first_large_transfer"]
    params: FirstLargeParams


class EscalatingRule(_Rule):
    kind: Literal["escalating_new_payee"]
    params: EscalatingParams


class BurstRule(_Rule):
    kind: Literal["new_payee_burst"]
    params: BurstParams


class ElderlyNightRule(_Rule):
    kind: Literal["elderly_night"]
    params: ElderlyNightParams


class MulePayeeRule(_Rule):
    kind: Literal["payee_many_new_payers"]
    params: MulePayeeParams


Rule = Annotated[
    WatchlistRule | FirstLargeRule | EscalatingRule | BurstRule | ElderlyNightRule | MulePayeeRule,
    Field(discriminator="kind"),
]


class Suppress(BaseModel):
    """When a flag is not raised although a rule fits: the payer is not a likely victim."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    pass_through_hours: int = Field(ge=0, le=72)
    pass_through_share: float = Field(gt=0.0, le=10.0)
    business_payers: bool = True


class RuleSet(BaseModel):
    """One version of the rules, as loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(min_length=1)
    channels: tuple[str, ...]
    pattern_channels: tuple[str, ...] = TRANSFER_CHANNELS
    suppress: Suppress
    rule: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids_known_channels(self) -> RuleSet:
        seen: set[str] = set()
        for r in self.rule:
            if r.id in seen:
                raise ValueError(f"rule {r.id}: id: duplicate rule id")
            seen.add(r.id)
        for c in self.channels:
            if c not in KNOWN_CHANNELS:
                raise ValueError(f"channels: unknown channel {c!r}")
        for c in self.pattern_channels:
            if c not in self.channels:
                raise ValueError(f"pattern_channels: {c!r} is not one of the screened channels")
        return self

    def of_kind(self, kind: str) -> list[Any]:
        """The rules of one kind, in file order."""
        return [r for r in self.rule if r.kind == kind]

    @property
    def ids(self) -> tuple[str, ...]:
        """Rule ids in file order."""
        return tuple(r.id for r in self.rule)


def _name_error(raw: dict[str, Any], err: ValidationError) -> str:
    e = err.errors()[0]
    loc = list(e["loc"])
    if len(loc) >= 2 and loc[0] == "rule" and isinstance(loc[1], int):
        rules = raw.get("rule", [])
        rid = rules[loc[1]].get("id", f"#{loc[1] + 1}") if loc[1] < len(rules) else f"#{loc[1] + 1}"
        # The discriminated union adds the kind as a path element; it is not a field.
        rest = [str(p) for p in loc[2:] if p not in _KINDS]
        return f"rule {rid}: {'.'.join(rest) or 'rule'}: {e['msg']}"
    return f"{'.'.join(str(p) for p in loc) or 'file'}: {e['msg']}"


_KINDS = {
    "watchlist_payee",
    "first_large_transfer",
    "escalating_new_payee",
    "new_payee_burst",
    "elderly_night",
    "payee_many_new_payers",
}


def parse_rules(text: str, *, source: str = "rules") -> RuleSet:
    """Validate rules given as TOML text; raise `RulesInvalid` naming the rule id and the field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesInvalid(f"{source}: not valid TOML: {exc}", field="rules") from None
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as exc:
        raise RulesInvalid(f"{source}: {_name_error(raw, exc)}", field="rules") from None


def load_rules(path: Path = DEFAULT_RULES) -> RuleSet:
    """Read and validate a rules file."""
    return parse_rules(path.read_text(encoding="utf-8"), source=path.name)


class RuleBook:
    """The rules in force. A reload that fails leaves the previous rules in force and re-raises."""

    def __init__(self, rules: RuleSet) -> None:
        self._rules = rules
        self._lock = threading.Lock()

    @property
    def rules(self) -> RuleSet:
        """The rule set now in force."""
        return self._rules

    def reload(self, path: Path) -> RuleSet:
        """Validate `path` and put it in force; on error the old rules stay and the error propagates."""
        fresh = load_rules(path)
        with self._lock:
            self._rules = fresh
        return fresh
