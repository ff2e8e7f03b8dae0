"""The complaint clocks' rule pack: `rules/*.yaml`, validated on load like supervision's pack.

A complaint rule has the same parts as a case rule (citation, effective dates, deadline with its
calendar rule, extensions with their approver, warning lead time, severity) and reuses their models
from `pingan.supervision.pack`; its trigger and satisfying events are the steps of a complaint's
timeline (`StepKind`) instead of a case's measures. A rule with `duty: false` is the complainant's
window (a review request), which closes rather than breaches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pingan.supervision.choices import Calendar, Severity
from pingan.supervision.complaints.choices import StepKind
from pingan.supervision.pack import Citation, Duration, Extension, RulePackError

RULES_DIR = Path(__file__).resolve().parent / "rules"


class ComplaintRule(BaseModel):
    """One statutory period of complaint handling."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_.]*$", max_length=60)
    title_zh: str = Field(min_length=2, max_length=80)
    title_en: str = Field(min_length=2, max_length=160)
    citation: Citation
    effective_from: date
    effective_to: date | None = None
    trigger: StepKind
    met_by: tuple[StepKind, ...] = Field(min_length=1)
    deadline: Duration
    extensions: tuple[Extension, ...] = ()
    warn_before: Duration
    severity: Severity
    duty: bool = True  # False: the complainant's window, which closes without a breach

    @model_validator(mode="after")
    def _coherent(self) -> ComplaintRule:
        if self.trigger in self.met_by:
            raise ValueError("the trigger step cannot also satisfy the rule")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        if self.warn_before.unit is Calendar.MONTHS:
            raise ValueError("warn_before is given in hours or days")
        if any(e.up_to_total is not None for e in self.extensions):
            raise ValueError("a complaint extension adds a period ('by'), never a total")
        return self

    def in_force(self, day: date) -> bool:
        """Whether this rule applies to a clock started on `day` (Beijing date)."""
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def extension(self, extension_id: str) -> Extension | None:
        return next((e for e in self.extensions if e.id == extension_id), None)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack: str
    version: str
    rules: list[dict[str, Any]]


@dataclass(frozen=True)
class ComplaintPack:
    """The complaint rules in force, with their version."""

    rules: tuple[ComplaintRule, ...]
    version: str

    def by_id(self, rule_id: str) -> ComplaintRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def load_texts(texts: Mapping[str, str]) -> ComplaintPack:
    """Build the pack from file texts keyed by name; a bad rule is refused naming file, rule and field."""
    rules: list[ComplaintRule] = []
    versions = []
    digest = hashlib.sha256()
    for name in sorted(texts):
        digest.update(name.encode() + b"\0" + texts[name].encode())
        try:
            head = _File.model_validate(yaml.safe_load(texts[name]))
        except (yaml.YAMLError, ValidationError) as exc:
            raise RulePackError(f"not a rule file: {exc}".splitlines()[0], source=name) from exc
        versions.append(f"{head.pack}@{head.version}")
        for index, entry in enumerate(head.rules):
            label = str(entry.get("id") or f"#{index + 1}")
            try:
                rules.append(ComplaintRule.model_validate(entry))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "(rule)"
                raise RulePackError(str(first["msg"]), source=name, rule_id=label, field=where) from exc
    ids = [r.id for r in rules]
    for rule_id in ids:
        if ids.count(rule_id) > 1:
            raise RulePackError("two rules share this id", rule_id=rule_id, field="id")
    if not rules:
        raise RulePackError("the pack holds no rules")
    return ComplaintPack(tuple(rules), f"{'+'.join(versions)}#{digest.hexdigest()[:8]}")


@lru_cache(maxsize=1)
def in_force() -> ComplaintPack:
    """The platform's complaint pack, loaded once."""
    return load_texts({p.name: p.read_text(encoding="utf-8") for p in sorted(RULES_DIR.glob("*.yaml"))})
