"""The deadline engine: a case's events and the rule pack in, its deadlines, warnings and breaches out.

Pure: the evaluation time is passed in and nothing is read or written. Each clock follows the rule
version in force on the Beijing date its trigger happened (`Rule.in_force`), so a questioning begun on
2025-12-31 keeps the 2012 text's limits after the 2026 revision takes over.

Counting (CPL art. 105, and the same rule in the administrative procedure): the hour and the day a
period begins are not counted. An `hours` period ends exactly n hours on; a `days` period ends at
24:00 Beijing time of the n-th day after the start day; a `months` period ends at 24:00 of the same
date n months on, or of that month's last day when it has no such date (a start on a month's last day
ends on the last day of the target month). A deadline is met by a satisfying event at or before its
due time; the warning starts `warn_before` ahead of it.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pingan.supervision.choices import Calendar, CaseKind, DeadlineStatus, EventKind, Severity
from pingan.supervision.pack import Duration, Extension, Rule, RulePack

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CaseEvent:
    """One step of a case's log, as the engine reads it.

    `subject` names whom or what a clock runs for (a party, a seized item); "" is the case itself. An
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


@dataclass(frozen=True)
class Deadline:
    """One clock of a case: which rule, for whom, when it started and falls due, and where it stands."""

    rule: Rule
    subject: str
    started_at: datetime
    due_at: datetime
    warn_from: datetime
    met_at: datetime | None
    status: DeadlineStatus
    extensions: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, datetime]:
        """What identifies this clock across evaluations: its rule, subject and start."""
        return (self.rule.id, self.subject, self.started_at)

    @property
    def severity(self) -> Severity:
        return self.rule.severity


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


@dataclass
class _Clock:
    rule: Rule
    subject: str
    started_at: datetime
    due_at: datetime
    trigger_flags: frozenset[str]
    met_at: datetime | None = None
    extensions: list[str] = field(default_factory=list)


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
    clock.extensions.append(ext.id)


def _applies(rule: Rule, case_kind: CaseKind, day: date, flags: frozenset[str]) -> bool:
    trigger = rule.trigger
    if case_kind not in rule.case_kinds or not rule.in_force(day):
        return False
    if trigger.when_flag is not None and trigger.when_flag not in flags:
        return False
    return not (trigger.unless_flags and not flags.isdisjoint(trigger.unless_flags))


def _status(clock: _Clock, warn_from: datetime, at: datetime) -> DeadlineStatus:
    if clock.met_at is not None:
        return DeadlineStatus.MET if clock.met_at <= clock.due_at else DeadlineStatus.BREACHED
    if at > clock.due_at:
        return DeadlineStatus.BREACHED
    if at >= warn_from:
        return DeadlineStatus.WARNING
    return DeadlineStatus.RUNNING


def evaluate(case_kind: CaseKind, events: Iterable[CaseEvent], pack: RulePack, *, at: datetime) -> Evaluation:
    """Every deadline of a case whose log is `events`, as it stands at `at`.

    Events later than `at` are not read. Events are taken in time order (stable for equal times).
    """
    ordered = sorted((e for e in events if e.at <= at), key=lambda e: e.at)
    clocks: list[_Clock] = []
    running: dict[tuple[str, str], _Clock] = {}  # (rule id, subject) → the clock not yet met
    ignored: list[str] = []
    by_trigger = pack.by_trigger
    for event in ordered:
        # Satisfy first: an event at the same instant as a trigger does not satisfy the clock it starts.
        met = [
            c
            for (rid, subject), c in running.items()
            if subject == event.subject and event.kind in c.rule.met_by
        ]
        for clock in met:
            clock.met_at = event.at
            del running[(clock.rule.id, clock.subject)]
            _start_followers(clock, pack, case_kind, clocks, running)
        if event.kind is EventKind.EXTENSION:
            target = running.get((event.rule_id or "", event.subject))
            if target is None:
                ignored.append(
                    f"extension of {event.rule_id} for {event.subject or 'the case'}: no running clock"
                )
                continue
            why = check_extension(target.rule, target.extensions, event, target.trigger_flags)
            ext = target.rule.extension(event.extension_id or "")
            if why is not None or ext is None:
                ignored.append(why or "unknown extension")
                continue
            _apply_extension(target, ext, event.amount)
            continue
        rules = by_trigger.get(event.kind)
        if not rules:
            continue
        day = beijing_day(event.at)
        for rule in rules:
            if not _applies(rule, case_kind, day, event.flags):
                continue
            key = (rule.id, event.subject)
            if key in running:  # a clock already runs for this subject: the earlier start governs
                continue
            clock = _Clock(rule, event.subject, event.at, due_after(event.at, rule.deadline), event.flags)
            clocks.append(clock)
            running[key] = clock
    return Evaluation(at=at, deadlines=tuple(_deadline(c, at) for c in clocks), ignored=tuple(ignored))


def _start_followers(
    met: _Clock,
    pack: RulePack,
    case_kind: CaseKind,
    clocks: list[_Clock],
    running: dict[tuple[str, str], _Clock],
) -> None:
    """Start the clocks of rules that follow `met` (`trigger.after`), at the time it was met."""
    assert met.met_at is not None
    for rule in pack.by_after.get(met.rule.id, ()):
        if not _applies(rule, case_kind, beijing_day(met.met_at), met.trigger_flags):
            continue
        key = (rule.id, met.subject)
        if key in running:
            continue
        clock = _Clock(rule, met.subject, met.met_at, due_after(met.met_at, rule.deadline), met.trigger_flags)
        clocks.append(clock)
        running[key] = clock


def _deadline(clock: _Clock, at: datetime) -> Deadline:
    warn_from = clock.due_at - lead_time(clock.rule.warn_before)
    status = _status(clock, warn_from, at)
    rule = clock.rule
    reasons = [f"{rule.id}: {rule.deadline} ({rule.deadline.unit.value} rule), {rule.citation.short()}"]
    for ext_id in clock.extensions:
        ext = rule.extension(ext_id)
        if ext is not None:
            reasons.append(f"extension {ext_id} approved ({ext.approver.value}), {ext.citation.short()}")
    if status is DeadlineStatus.BREACHED:
        late = "met late" if clock.met_at is not None else "not met"
        reasons.append(f"{late}: due {clock.due_at.isoformat()}")
    return Deadline(
        rule=rule,
        subject=clock.subject,
        started_at=clock.started_at,
        due_at=clock.due_at,
        warn_from=warn_from,
        met_at=clock.met_at,
        status=status,
        extensions=tuple(clock.extensions),
        reasons=tuple(reasons),
    )


def evaluate_naive(
    case_kind: CaseKind, events: Iterable[CaseEvent], pack: RulePack, *, at: datetime
) -> Evaluation:
    """The same evaluation without the pack's indexes: every event scans every rule (the benchmark's baseline).

    It must agree with `evaluate` on every case; the tests hold them to it.
    """
    unindexed = RulePack(
        rules=pack.rules,
        version=pack.version,
        by_id=pack.by_id,
        by_trigger={kind: tuple(r for r in pack.rules if r.trigger.event is kind) for kind in EventKind},
        by_after={r.id: tuple(f for f in pack.rules if f.trigger.after == r.id) for r in pack.rules},
    )
    return evaluate(case_kind, events, unindexed, at=at)
