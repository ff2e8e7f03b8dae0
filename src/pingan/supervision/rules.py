"""The deadline engine: a case's events and the rule pack in, its deadlines, warnings and breaches out.

Pure: the evaluation time is passed in and nothing is read or written. Each clock follows the rule
version in force on the Beijing date its trigger happened (`Rule.in_force`), so a questioning begun on
2025-12-31 keeps the 2012 text's limits after the 2026 revision takes over.

Counting (CPL art. 105, and the same rule in the administrative procedure): the hour and the day a
period begins are not counted. An `hours` period ends exactly n hours on; a `days` period ends at
24:00 Beijing time of the n-th day after the start day; a `months` period ends at 24:00 of the same
date n months on, or of that month's last day when it has no such date (a start on a month's last day
ends on the last day of the target month). A rule with `holiday_shift` ends instead on the first working
day after a last day that is a holiday (CPL art. 105 para. 4, the packaged `holidays.toml`); custody
periods never do. A deadline is met by a satisfying event at or before its
due time; the warning starts `warn_before` ahead of it.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pingan.supervision import holidays
from pingan.supervision.choices import Calendar, CaseKind, DeadlineStatus, EventKind, Severity
from pingan.supervision.pack import Duration, Extension, Rule, RulePack

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CaseEvent:
    """One step of a case's log, as the engine reads it.

    `subject` names whom or what a clock runs for (a party, a seized item); "" is the case itself, and
    a step of the case itself meets the clocks of every subject that its kind meets. An
    extension names the rule and extension it applies (`rule_id`, `extension_id`) and, for a ranged
    extension, how much it adds (`amount`, in the extension's unit).
    """

    kind: EventKind
    at: datetime
    subject: str = ""
    flags: frozenset[str] = frozenset()
    rule_id: str | None = None
    extension_id: str | None = None
    amount: int | None = None
    approved_by: str | None = None
    event_id: int | None = None


class Deadline(NamedTuple):
    """One clock of a case: which rule, for whom, when it started and falls due, and where it stands.

    A named tuple rather than a frozen dataclass: a full re-evaluation builds millions of them.
    """

    rule: Rule
    subject: str
    started_at: datetime
    due_at: datetime
    warn_from: datetime
    met_at: datetime | None
    status: DeadlineStatus
    extensions: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, datetime]:
        """What identifies this clock across evaluations: its rule, subject and start."""
        return (self.rule.id, self.subject, self.started_at)

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it stands where it does: the rule and article, each extension and its approver, any breach."""
        rule = self.rule
        out = [f"{rule.id}: {rule.deadline} ({rule.deadline.unit.value} rule), {rule.citation.short()}"]
        for ext_id in self.extensions:
            ext = rule.extension(ext_id)
            if ext is not None:
                out.append(f"extension {ext_id} approved ({ext.approver.value}), {ext.citation.short()}")
        if self.status is DeadlineStatus.BREACHED:
            late = "met late" if self.met_at is not None else "not met"
            out.append(f"{late}: due {self.due_at.isoformat()}")
        return tuple(out)


@dataclass(frozen=True)
class Evaluation:
    """Every clock of a case at `at`, with the warnings and breaches picked out."""

    at: datetime
    deadlines: tuple[Deadline, ...]
    ignored: tuple[str, ...] = ()  # events the engine could not apply, with why (an extension for no clock)

    @property
    def warnings(self) -> tuple[Deadline, ...]:
        return tuple(d for d in self.deadlines if d.status is DeadlineStatus.WARNING)

    @property
    def breaches(self) -> tuple[Deadline, ...]:
        return tuple(d for d in self.deadlines if d.status is DeadlineStatus.BREACHED)

    @property
    def open(self) -> tuple[Deadline, ...]:
        return tuple(d for d in self.deadlines if d.met_at is None)


def beijing_day(at: datetime) -> date:
    """The Beijing calendar date of a UTC instant."""
    return at.astimezone(BEIJING).date()


def _end_of(day: date) -> datetime:
    """24:00 Beijing time of `day`, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BEIJING).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """The same date `months` on; the month's last day when there is none, or when `day` is a last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if day.day == calendar.monthrange(day.year, day.month)[1]:
        return date(year, month, last)
    return date(year, month, min(day.day, last))


def due_after(start: datetime, duration: Duration) -> datetime:
    """When a period of `duration` begun at `start` ends (the counting rule of the module docstring)."""
    if duration.unit is Calendar.HOURS:
        return start + timedelta(hours=duration.amount)
    day = beijing_day(start)
    if duration.unit is Calendar.DAYS:
        return _end_of(day + timedelta(days=duration.amount))
    return _end_of(add_months(day, duration.amount))


def extend_due(due: datetime, duration: Duration) -> datetime:
    """A due time pushed on by an extension: hours exactly, days and months by calendar from the due day."""
    if duration.unit is Calendar.HOURS:
        return due + timedelta(hours=duration.amount)
    # The due time is 24:00 of its last day, which is 00:00 of the next: count on from that last day.
    last_day = beijing_day(due - timedelta(microseconds=1))
    if duration.unit is Calendar.DAYS:
        return _end_of(last_day + timedelta(days=duration.amount))
    return _end_of(add_months(last_day, duration.amount))


def lead_time(duration: Duration) -> timedelta:
    """A warning lead time as a span (hours or whole days of 24 hours)."""
    return (
        timedelta(hours=duration.amount)
        if duration.unit is Calendar.HOURS
        else timedelta(days=duration.amount)
    )


@dataclass(slots=True)
class _Clock:
    rule: Rule
    subject: str
    started_at: datetime
    due_at: datetime
    trigger_flags: frozenset[str]
    met_at: datetime | None = None
    extensions: tuple[str, ...] = ()


def check_extension(
    rule: Rule, granted: Sequence[str], event: CaseEvent, trigger_flags: frozenset[str]
) -> str | None:
    """Why an extension event cannot extend a clock of `rule`, or None when it can."""
    ext = rule.extension(event.extension_id or "")
    if ext is None:
        return f"rule {rule.id} has no extension {event.extension_id!r}"
    if not event.approved_by:
        return f"extension {ext.id} of {rule.id} has no approval"
    if ext.id in granted:
        return f"extension {ext.id} of {rule.id} was already granted"
    if ext.requires_extension is not None and ext.requires_extension not in granted:
        return f"extension {ext.id} of {rule.id} needs extension {ext.requires_extension} first"
    if ext.requires_flag is not None and ext.requires_flag not in (trigger_flags | event.flags):
        return f"extension {ext.id} of {rule.id} needs the ground {ext.requires_flag!r}"
    if ext.by is not None and event.amount is not None:
        low = ext.min_by.amount if ext.min_by is not None else 1
        if not low <= event.amount <= ext.by.amount:
            return f"extension {ext.id} of {rule.id} adds {low} to {ext.by.amount} {ext.by.unit.value}"
    return None


def _apply_extension(clock: _Clock, ext: Extension, amount: int | None) -> None:
    if ext.up_to_total is not None:
        clock.due_at = max(clock.due_at, due_after(clock.started_at, ext.up_to_total))
    elif ext.by is not None:
        step = ext.by if amount is None else Duration(amount=amount, unit=ext.by.unit)
        clock.due_at = extend_due(clock.due_at, step)
    clock.extensions = (*clock.extensions, ext.id)


def _applies(rule: Rule, case_kind: CaseKind, day: date, flags: frozenset[str]) -> bool:
    trigger = rule.trigger
    if case_kind not in rule.case_kinds or not rule.in_force(day):
        return False
    if trigger.when_flag is not None and trigger.when_flag not in flags:
        return False
    return not (trigger.unless_flags and not flags.isdisjoint(trigger.unless_flags))


@lru_cache(maxsize=4096)
def holiday_shifted(due_at: datetime) -> datetime:
    """A day-counted due time whose last day is a holiday, moved to 24:00 of the first working day
    after it (CPL art. 105 para. 4; the calendar is `holidays.toml`)."""
    last_day = beijing_day(due_at) - timedelta(days=1)  # due at 24:00 of the last day
    return _end_of(holidays.calendar().next_working_day(last_day))


def _deadline(clock: _Clock, at: datetime, lead: timedelta) -> Deadline:
    due_at = clock.due_at
    if clock.rule.holiday_shift:
        due_at = holiday_shifted(due_at)
    warn_from = due_at - lead
    met_at = clock.met_at
    if met_at is not None:
        status = DeadlineStatus.MET if met_at <= due_at else DeadlineStatus.BREACHED
    elif at > due_at:
        status = DeadlineStatus.BREACHED
    else:
        status = DeadlineStatus.WARNING if at >= warn_from else DeadlineStatus.RUNNING
    return Deadline(
        clock.rule, clock.subject, clock.started_at, due_at, warn_from, met_at, status, clock.extensions
    )


def _extend(clock: _Clock, event: CaseEvent, ignored: list[str]) -> None:
    """Apply an extension event to its clock, or say why it was ignored."""
    why = check_extension(clock.rule, clock.extensions, event, clock.trigger_flags)
    ext = clock.rule.extension(event.extension_id or "")
    if why is not None or ext is None:
        ignored.append(why or "unknown extension")
        return
    _apply_extension(clock, ext, event.amount)


def _no_clock(event: CaseEvent) -> str:
    return f"extension of {event.rule_id} for {event.subject or 'the case'}: no running clock"


def _clock_order(c: _Clock) -> tuple[datetime, str, str]:
    return (c.started_at, c.rule.id, c.subject)


def _finish(
    clocks: list[_Clock], at: datetime, ignored: list[str], leads: Mapping[str, timedelta]
) -> Evaluation:
    if len(clocks) > 1:
        clocks.sort(key=_clock_order)
    return Evaluation(
        at=at, deadlines=tuple(_deadline(c, at, leads[c.rule.id]) for c in clocks), ignored=tuple(ignored)
    )


# ------------------------------------------------------------------------------ the reference engine


def evaluate_naive(
    case_kind: CaseKind, events: Iterable[CaseEvent], pack: RulePack, *, at: datetime
) -> Evaluation:
    """The evaluation written plainly, without indexes: every event scans every rule and every running
    clock, and due times go through `due_after`. It is the benchmark's baseline, and the tests hold
    `evaluate` to agree with it."""
    ordered = sorted((e for e in events if e.at <= at), key=lambda e: e.at)
    clocks: list[_Clock] = []
    running: dict[tuple[str, str], _Clock] = {}  # (rule id, subject) → the clock not yet met
    ignored: list[str] = []
    for event in ordered:
        # Satisfy first: an event at the same instant as a trigger does not satisfy the clock it starts.
        met = [
            c
            for (_, subject), c in running.items()
            if event.subject in ("", subject) and event.kind in c.rule.met_by
        ]
        for clock in met:
            clock.met_at = event.at
            del running[(clock.rule.id, clock.subject)]
            assert clock.met_at is not None
            for rule in pack.rules:
                if rule.trigger.after == clock.rule.id and _applies(
                    rule, case_kind, beijing_day(clock.met_at), clock.trigger_flags
                ):
                    key = (rule.id, clock.subject)
                    if key not in running:
                        follower = _Clock(
                            rule,
                            clock.subject,
                            clock.met_at,
                            due_after(clock.met_at, rule.deadline),
                            clock.trigger_flags,
                        )
                        clocks.append(follower)
                        running[key] = follower
        if event.kind is EventKind.EXTENSION:
            target = running.get((event.rule_id or "", event.subject))
            if target is None:
                ignored.append(_no_clock(event))
            else:
                _extend(target, event, ignored)
            continue
        for rule in pack.rules:
            if rule.trigger.event is not event.kind or not _applies(
                rule, case_kind, beijing_day(event.at), event.flags
            ):
                continue
            key = (rule.id, event.subject)
            if key in running:  # a clock already runs for this subject: the earlier start governs
                continue
            clock = _Clock(rule, event.subject, event.at, due_after(event.at, rule.deadline), event.flags)
            clocks.append(clock)
            running[key] = clock
    return _finish(clocks, at, ignored, {r.id: lead_time(r.warn_before) for r in pack.rules})


# ------------------------------------------------------------------------------ the indexed engine

_EIGHT_HOURS = timedelta(hours=8)  # Beijing time has been UTC+8 without summer time since 1992
_END_OF_DAY: dict[int, datetime] = {}


def _end_of_ordinal(ordinal: int) -> datetime:
    """24:00 Beijing time of the day with this proleptic ordinal, in UTC (cached: few distinct days)."""
    found = _END_OF_DAY.get(ordinal)
    if found is None:
        found = _END_OF_DAY[ordinal] = datetime.fromordinal(ordinal + 1).replace(tzinfo=UTC) - _EIGHT_HOURS
    return found


def _day_ordinal(at: datetime) -> int:
    """The Beijing date's ordinal of an instant (its fields are UTC for any zero-offset zone)."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return (at + _EIGHT_HOURS).toordinal()


class _Compiled:
    """A rule reduced to what the hot loop compares."""

    __slots__ = ("amount", "from_ordinal", "hours", "id", "rule", "to_ordinal", "unit", "unless", "when")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.id = rule.id
        self.from_ordinal = rule.effective_from.toordinal()
        self.to_ordinal = rule.effective_to.toordinal() if rule.effective_to is not None else 10**9
        self.when = rule.trigger.when_flag
        self.unless = frozenset(rule.trigger.unless_flags)
        self.unit = rule.deadline.unit
        self.amount = rule.deadline.amount
        self.hours = timedelta(hours=rule.deadline.amount)

    def due(self, start: datetime, ordinal: int) -> datetime:
        if self.unit is Calendar.HOURS:
            return start + self.hours
        if self.unit is Calendar.DAYS:
            return _end_of_ordinal(ordinal + self.amount)
        return _end_of_ordinal(add_months(date.fromordinal(ordinal), self.amount).toordinal())

    def applies(self, ordinal: int, flags: frozenset[str]) -> bool:
        if ordinal < self.from_ordinal or ordinal >= self.to_ordinal:
            return False
        if self.when is not None and self.when not in flags:
            return False
        return not (self.unless and not self.unless.isdisjoint(flags))


@dataclass(frozen=True)
class _Index:
    by_trigger: Mapping[tuple[CaseKind, EventKind], tuple[_Compiled, ...]]
    met_by: Mapping[EventKind, tuple[str, ...]]
    by_after: Mapping[tuple[CaseKind, str], tuple[_Compiled, ...]]
    leads: Mapping[str, timedelta]


_INDEXES: dict[int, tuple[RulePack, _Index]] = {}


def _index(pack: RulePack) -> _Index:
    """The pack's engine index, built once per pack."""
    cached = _INDEXES.get(id(pack))
    if cached is not None and cached[0] is pack:
        return cached[1]
    compiled = {r.id: _Compiled(r) for r in pack.rules}
    by_trigger: dict[tuple[CaseKind, EventKind], list[_Compiled]] = {}
    by_after: dict[tuple[CaseKind, str], list[_Compiled]] = {}
    met_by: dict[EventKind, list[str]] = {}
    for rule in pack.rules:
        for kind in rule.case_kinds:
            if rule.trigger.event is not None:
                by_trigger.setdefault((kind, rule.trigger.event), []).append(compiled[rule.id])
            elif rule.trigger.after is not None:
                by_after.setdefault((kind, rule.trigger.after), []).append(compiled[rule.id])
        for event_kind in rule.met_by:
            met_by.setdefault(event_kind, []).append(rule.id)
    index = _Index(
        by_trigger={k: tuple(v) for k, v in by_trigger.items()},
        met_by={k: tuple(v) for k, v in met_by.items()},
        by_after={k: tuple(v) for k, v in by_after.items()},
        leads={r.id: lead_time(r.warn_before) for r in pack.rules},
    )
    if len(_INDEXES) > 16:
        _INDEXES.clear()
    _INDEXES[id(pack)] = (pack, index)
    return index


def evaluate(case_kind: CaseKind, events: Iterable[CaseEvent], pack: RulePack, *, at: datetime) -> Evaluation:
    """Every deadline of a case whose log is `events`, as it stands at `at`.

    Events later than `at` are not read; events are taken in time order (stable for equal times). An
    event first satisfies the clocks it meets, then starts those it triggers, so that an event never
    satisfies the clock it starts. The pack's index picks the rules of each event kind and case kind.
    """
    index = _index(pack)
    ordered = [e for e in events if e.at <= at]
    ordered.sort(key=_at)
    clocks: list[_Clock] = []
    running: dict[tuple[str, str], _Clock] = {}
    ignored: list[str] = []
    met_by = index.met_by
    by_trigger = index.by_trigger
    for event in ordered:
        kind = event.kind
        subject = event.subject
        if running:
            for rule_id in met_by.get(kind, ()):
                # A step of the case itself meets the rule's clocks of every subject (a decision ends
                # the seizure of each item); a step about a person or an item meets only its own.
                keys = [k for k in running if k[0] == rule_id] if not subject else [(rule_id, subject)]
                for key in keys:
                    clock = running.pop(key, None)
                    if clock is not None:
                        clock.met_at = event.at
                        if index.by_after:
                            _follow(clock, event.at, index, case_kind, clocks, running)
        if kind is EventKind.EXTENSION:
            target = running.get((event.rule_id or "", subject))
            if target is None:
                ignored.append(_no_clock(event))
            else:
                _extend(target, event, ignored)
            continue
        candidates = by_trigger.get((case_kind, kind))
        if not candidates:
            continue
        ordinal = _day_ordinal(event.at)
        flags = event.flags
        for c in candidates:
            if not c.applies(ordinal, flags):
                continue
            key = (c.id, subject)
            if key in running:  # a clock already runs for this subject: the earlier start governs
                continue
            clock = _Clock(c.rule, subject, event.at, c.due(event.at, ordinal), flags)
            clocks.append(clock)
            running[key] = clock
    return _finish(clocks, at, ignored, index.leads)


def _at(event: CaseEvent) -> datetime:
    return event.at


def _follow(
    met: _Clock,
    met_at: datetime,
    index: _Index,
    case_kind: CaseKind,
    clocks: list[_Clock],
    running: dict[tuple[str, str], _Clock],
) -> None:
    """Start the clocks of rules that follow `met` (`trigger.after`), at the time it was met."""
    ordinal = _day_ordinal(met_at)
    for c in index.by_after.get((case_kind, met.rule.id), ()):
        if not c.applies(ordinal, met.trigger_flags):
            continue
        key = (c.id, met.subject)
        if key not in running:
            clock = _Clock(c.rule, met.subject, met_at, c.due(met_at, ordinal), met.trigger_flags)
            clocks.append(clock)
            running[key] = clock
