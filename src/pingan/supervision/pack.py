"""The statutory-deadline rule pack: YAML files under `rules/`, validated on load.

Each file holds a `pack` name, a `version` and a list of `rules`. A rule names the article it
enforces, when it is in force, the event that starts its clock and the events that satisfy it, its
deadline (a duration and a calendar rule), the extensions that may be approved and by whom, its
warning lead time and its severity. A file that breaks any of this is refused with the rule id and
field named; so is a pack whose `after` references form a cycle or name an unknown rule. A failed
reload keeps the pack in force (`RulePackHolder.reload`).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pingan.supervision.choices import Approver, Calendar, CaseKind, EventKind, Severity

RULES_DIR = Path(__file__).resolve().parent / "rules"
_ID = r"^[a-z][a-z0-9_.]*$"
_DURATION = re.compile(r"^\s*(\d+)\s+(hours?|days?|months?)\s*$")


class RulePackError(ValueError):
    """A rule file that cannot be used: the message names the file, the rule and the field."""

    def __init__(
        self, message: str, *, source: str = "", rule_id: str | None = None, field: str | None = None
    ):
        where = " ".join(
            part
            for part in (
                source,
                f"rule {rule_id!r}" if rule_id else "",
                f"field {field!r}" if field else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.rule_id = rule_id
        self.field = field
        self.message = message


class Duration(BaseModel):
    """An amount of hours, days or months, written `24 hours`, `3 days` or `2 months` in the files."""

    model_config = ConfigDict(frozen=True)

    amount: int = Field(ge=1, le=10_000)
    unit: Calendar

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            m = _DURATION.match(value)
            if m is None:
                raise ValueError(f"{value!r} is not a duration such as '24 hours', '3 days' or '2 months'")
            unit = m.group(2).rstrip("s") + "s"
            return {"amount": int(m.group(1)), "unit": unit}
        return value

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}"


class Citation(BaseModel):
    """The provision a rule enforces. `article` is None where the number is not yet confirmed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    law: str = Field(min_length=2, max_length=16)  # a short code: CPL, PSAPL, ACL, MPS-PROPERTY
    title_zh: str = Field(min_length=2, max_length=80)
    title_en: str = Field(min_length=2, max_length=160)
    article: int | None = Field(default=None, ge=1, le=1000)
    paragraph: int | None = Field(default=None, ge=1, le=20)
    item: int | None = Field(default=None, ge=1, le=20)
    verified: bool = True  # False: the article number or wording still needs a lawyer's check
    note: str = ""

    def short(self) -> str:
        """`CPL art. 91 para. 1`, or `PSAPL (article to be confirmed)`."""
        if self.article is None:
            return f"{self.law} (article to be confirmed)"
        text = f"{self.law} art. {self.article}"
        if self.paragraph is not None:
            text += f" para. {self.paragraph}"
        if self.item is not None:
            text += f" item {self.item}"
        return text if self.verified else text + " (unverified)"


class Extension(BaseModel):
    """An extension of a rule's deadline: by a duration, or up to a total, once approved."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID, max_length=40)
    by: Duration | None = None  # the most it adds
    min_by: Duration | None = None  # the least it adds, where the law gives a range (1 to 4 days)
    up_to_total: Duration | None = None  # or: the whole deadline may run to this, counted from the start
    approver: Approver
    requires_flag: str | None = None  # a ground the trigger or the extension must carry
    requires_extension: str | None = None  # an extension that must have been granted first
    citation: Citation

    @model_validator(mode="after")
    def _one_kind(self) -> Extension:
        if (self.by is None) == (self.up_to_total is None):
            raise ValueError("give exactly one of 'by' and 'up_to_total'")
        if self.min_by is not None and (self.by is None or self.min_by.unit is not self.by.unit):
            raise ValueError("'min_by' needs 'by' in the same unit")
        if self.min_by is not None and self.by is not None and self.min_by.amount > self.by.amount:
            raise ValueError("'min_by' exceeds 'by'")
        return self


class Trigger(BaseModel):
    """What starts a rule's clock: an event, or another rule being met (`after`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: EventKind | None = None
    after: str | None = None
    when_flag: str | None = None  # only when the trigger carries this flag
    unless_flags: tuple[str, ...] = ()  # not when it carries any of these

    @model_validator(mode="after")
    def _one_kind(self) -> Trigger:
        if (self.event is None) == (self.after is None):
            raise ValueError("give exactly one of 'event' and 'after'")
        return self


class Rule(BaseModel):
    """One statutory deadline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID, max_length=60)
    title_zh: str = Field(min_length=2, max_length=80)
    title_en: str = Field(min_length=2, max_length=160)
    case_kinds: tuple[CaseKind, ...] = Field(min_length=1)
    citation: Citation
    effective_from: date
    effective_to: date | None = None  # exclusive: the day a revision takes over
    trigger: Trigger
    met_by: tuple[EventKind, ...] = Field(min_length=1)
    deadline: Duration
    extensions: tuple[Extension, ...] = ()
    warn_before: Duration
    severity: Severity
    # CPL art. 105 para. 4: a last day on a holiday moves to the first working day after it (holidays.py).
    # Not for custody periods, which the same paragraph excepts, nor for hours.
    holiday_shift: bool = False

    @field_validator("met_by")
    @classmethod
    def _distinct(cls, value: tuple[EventKind, ...]) -> tuple[EventKind, ...]:
        if len(set(value)) != len(value):
            raise ValueError("lists an event twice")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        if self.trigger.event is not None and self.trigger.event in self.met_by:
            raise ValueError("the trigger event cannot also satisfy the rule")
        ids = [e.id for e in self.extensions]
        if len(set(ids)) != len(ids):
            raise ValueError("two extensions share an id")
        for ext in self.extensions:
            if ext.requires_extension is not None and ext.requires_extension not in ids:
                raise ValueError(
                    f"extension {ext.id!r} requires unknown extension {ext.requires_extension!r}"
                )
        if self.warn_before.unit is Calendar.MONTHS:
            raise ValueError("warn_before is given in hours or days")
        if self.holiday_shift and self.deadline.unit is Calendar.HOURS:
            raise ValueError("holiday_shift applies to a deadline in days or months, not hours")
        return self

    def in_force(self, day: date) -> bool:
        """Whether this rule applies to a clock started on `day` (Beijing date)."""
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def extension(self, extension_id: str) -> Extension | None:
        """The named extension, if this rule has it."""
        return next((e for e in self.extensions if e.id == extension_id), None)


class PackFile(BaseModel):
    """The head of one rule file."""

    model_config = ConfigDict(extra="forbid")

    pack: str = Field(pattern=_ID, max_length=40)
    version: str = Field(min_length=1, max_length=32)
    rules: list[dict[str, Any]]


@dataclass(frozen=True)
class RulePack:
    """The rules in force, indexed for the engine: by trigger event, by the rule they follow, by satisfying event."""

    rules: tuple[Rule, ...]
    version: str  # the files' versions and a digest of their text
    by_id: Mapping[str, Rule] = field(repr=False)
    by_trigger: Mapping[EventKind, tuple[Rule, ...]] = field(repr=False)
    by_after: Mapping[str, tuple[Rule, ...]] = field(repr=False)

    @classmethod
    def of(cls, rules: Sequence[Rule], version: str = "test") -> RulePack:
        """Index `rules`, refusing duplicates, unknown `after` references and cycles."""
        by_id: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in by_id:
                raise RulePackError("two rules share this id", rule_id=rule.id, field="id")
            by_id[rule.id] = rule
        for rule in rules:
            after = rule.trigger.after
            if after is not None and after not in by_id:
                raise RulePackError(
                    f"'after' names unknown rule {after!r}", rule_id=rule.id, field="trigger.after"
                )
        _refuse_cycles(by_id)
        by_trigger: dict[EventKind, list[Rule]] = {}
        by_after: dict[str, list[Rule]] = {}
        for rule in rules:
            if rule.trigger.event is not None:
                by_trigger.setdefault(rule.trigger.event, []).append(rule)
            elif rule.trigger.after is not None:
                by_after.setdefault(rule.trigger.after, []).append(rule)
        return cls(
            rules=tuple(rules),
            version=version,
            by_id=by_id,
            by_trigger={k: tuple(v) for k, v in by_trigger.items()},
            by_after={k: tuple(v) for k, v in by_after.items()},
        )


def _refuse_cycles(by_id: Mapping[str, Rule]) -> None:
    """Refuse a pack in which rules start each other in a ring (a → b → a): no clock would ever start."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(rule_id: str, path: list[str]) -> None:
        state[rule_id] = 1
        after = by_id[rule_id].trigger.after
        if after is not None:
            if state.get(after) == 1:
                ring = " → ".join([*path[path.index(after) :], after]) if after in path else after
                raise RulePackError(
                    f"the rules start each other in a cycle: {ring}", rule_id=rule_id, field="trigger.after"
                )
            if state.get(after) is None:
                visit(after, [*path, after])
        state[rule_id] = 2

    for rule_id in by_id:
        if state.get(rule_id) is None:
            visit(rule_id, [rule_id])


def _field_of(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(rule)"


def parse_rules(raw: Iterable[Mapping[str, Any]], *, source: str) -> list[Rule]:
    """Validate the rule entries of one file; the first bad one is refused with its id and field."""
    rules = []
    for index, entry in enumerate(raw):
        rule_id = entry.get("id") if isinstance(entry, Mapping) else None
        label = str(rule_id) if rule_id else f"#{index + 1}"
        if not isinstance(entry, Mapping):
            raise RulePackError("a rule must be a mapping", source=source, rule_id=label)
        try:
            rules.append(Rule.model_validate(dict(entry)))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise RulePackError(
                str(first["msg"]), source=source, rule_id=label, field=_field_of(first)
            ) from exc
    return rules


def load_texts(texts: Mapping[str, str]) -> RulePack:
    """Build a pack from file texts keyed by file name (the loader's core, also used by the tests)."""
    rules: list[Rule] = []
    versions = []
    digest = hashlib.sha256()
    for name in sorted(texts):
        text = texts[name]
        digest.update(name.encode() + b"\0" + text.encode())
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark is not None else ""
            raise RulePackError(f"not valid YAML{line}", source=name) from exc
        try:
            head = PackFile.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise RulePackError(str(first["msg"]), source=name, field=_field_of(first)) from exc
        versions.append(f"{head.pack}@{head.version}")
        rules.extend(parse_rules(head.rules, source=name))
    if not rules:
        raise RulePackError("the pack holds no rules")
    return RulePack.of(rules, version=f"{'+'.join(versions)}#{digest.hexdigest()[:8]}")


def load_dir(directory: Path = RULES_DIR) -> RulePack:
    """Load every `*.yaml` file of `directory`."""
    return load_texts({p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.yaml"))})


class RulePackHolder:
    """The pack in force. A reload that fails raises and leaves the previous pack in force."""

    def __init__(self, directory: Path = RULES_DIR) -> None:
        self.directory = directory
        self._pack: RulePack | None = None
        self._lock = threading.Lock()

    def current(self) -> RulePack:
        """The pack in force, loaded on first use."""
        with self._lock:
            if self._pack is None:
                self._pack = load_dir(self.directory)
            return self._pack

    def reload(self) -> RulePack:
        """Load the files again; on any error keep the pack in force and raise `RulePackError`."""
        fresh = load_dir(self.directory)  # raises before anything is replaced
        with self._lock:
            self._pack = fresh
        return fresh


IN_FORCE = RulePackHolder()


def in_force() -> RulePack:
    """The platform's pack in force."""
    return IN_FORCE.current()
