"""The engine against the hand-labelled fixture (data/fixture_scenarios.yaml): 37 scenarios written by
hand, each turned into 6 cases at and around its focus deadline's boundaries; every clock of every
case must come out exactly as labelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from pingan.supervision.choices import CaseKind, DeadlineStatus, EventKind
from pingan.supervision.pack import in_force
from pingan.supervision.rules import CaseEvent, evaluate

FIXTURE = Path(__file__).parent / "data" / "fixture_scenarios.yaml"
SECOND = timedelta(seconds=1)


def beijing(text: str) -> datetime:
    """A Beijing wall time of the fixture, `24:00` meaning the end of that day, as UTC."""
    day, _, clock = text.partition(" ")
    if clock == "24:00":
        return (
            datetime.fromisoformat(f"{day} 00:00").replace(tzinfo=UTC)
            + timedelta(days=1)
            - timedelta(hours=8)
        )
    return datetime.fromisoformat(text).replace(tzinfo=UTC) - timedelta(hours=8)


@dataclass(frozen=True)
class Clock:
    rule_id: str
    subject: str
    start: datetime
    due: datetime
    warn: datetime
    met: datetime | str | None

    def expected(
        self, at: datetime, focus_met: datetime | None, *, is_focus: bool
    ) -> tuple[str, str, str, str] | None:
        """(rule, subject, due, status) at `at` by the fixture's definition; None before it starts."""
        if self.start > at:
            return None
        met = focus_met if self.met == "focus" or (is_focus and focus_met is not None) else self.met
        assert met is None or isinstance(met, datetime)
        if met is not None and met <= at:
            status = DeadlineStatus.MET if met <= self.due else DeadlineStatus.BREACHED
        elif at > self.due:
            status = DeadlineStatus.BREACHED
        elif at >= self.warn:
            status = DeadlineStatus.WARNING
        else:
            status = DeadlineStatus.RUNNING
        return (self.rule_id, self.subject, self.due.isoformat(), status.value)


def event_of(row: list[Any]) -> CaseEvent:
    kind, at, subject = row[:3]
    extra: dict[str, Any] = row[3] if len(row) > 3 else {}
    return CaseEvent(
        EventKind(kind),
        beijing(at),
        subject,
        frozenset(extra.get("flags", ())),
        rule_id=extra.get("rule"),
        extension_id=extra.get("ext"),
        amount=extra.get("amount"),
        approved_by="chief_zhao" if "ext" in extra else None,
    )


def cases() -> list[tuple[str, CaseKind, list[CaseEvent], datetime, list[Clock], datetime | None]]:
    """Each scenario's 6 cases: (name, kind, events, evaluation time, clocks, focus met time)."""
    out = []
    for s in yaml.safe_load(FIXTURE.read_text(encoding="utf-8")):
        kind = CaseKind(s["kind"])
        events = [event_of(row) for row in s["events"]]
        clocks = [
            Clock(
                r,
                subj,
                beijing(start),
                beijing(due),
                beijing(warn),
                None if met is None else ("focus" if met == "focus" else beijing(met)),
            )
            for r, subj, start, due, warn, met in s["clocks"]
        ]
        focus = clocks[0]
        satisfier, subject = s["satisfy"]
        for label, at in (
            ("1 s before the warning", focus.warn - SECOND),
            ("at the warning", focus.warn),
            ("at the due time", focus.due),
            ("1 s after the due time", focus.due + SECOND),
        ):
            out.append((f"{s['id']}: unmet, {label}", kind, events, at, clocks, None))
        for label, met in (("met at the due time", focus.due), ("met 1 s late", focus.due + SECOND)):
            late = [*events, CaseEvent(EventKind(satisfier), met, subject)]
            out.append((f"{s['id']}: {label}", kind, late, focus.due + timedelta(days=1), clocks, met))
    return out


CASES = cases()


def test_the_fixture_holds_two_hundred_cases_or_more() -> None:
    assert len(CASES) >= 200


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_engine_agrees_with_the_hand_labels(case: tuple[Any, ...]) -> None:
    _, kind, events, at, clocks, focus_met = case
    expected = sorted(
        e for i, c in enumerate(clocks) if (e := c.expected(at, focus_met, is_focus=i == 0)) is not None
    )
    got = sorted(
        (d.rule.id, d.subject, d.due_at.isoformat(), d.status.value)
        for d in evaluate(kind, events, in_force(), at=at).deadlines
    )
    assert got == expected
