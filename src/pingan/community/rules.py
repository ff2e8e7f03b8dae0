"""Pure decisions of community mediation: the risk grade with every factor's contribution, the
clocks a dispute runs against, and repeat detection. The clock is passed in; there is no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pingan.community.choices import ClockKind, ClockState, DisputeStatus, Grade
from pingan.core.settings import CommunitySettings


@dataclass(frozen=True)
class Factor:
    """One row of the factor table: a yes/no flag, or a count weighted per unit up to `cap`."""

    name: str
    kind: str  # "flag" or "count"
    weight: int
    source: str
    cap: int | None = None


@dataclass(frozen=True)
class FactorTable:
    """The versioned factor table (`factors.toml`) and its grade thresholds."""

    version: str
    factors: tuple[Factor, ...]
    red: int
    orange: int
    yellow: int
    red_if_all: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The factor names, in table order."""
        return tuple(f.name for f in self.factors)


@dataclass(frozen=True)
class Contribution:
    """What one factor added to the score: its input value and the points it gave."""

    name: str
    value: int
    points: int


@dataclass(frozen=True)
class RiskGrade:
    """A grade with every factor's contribution (zero ones included) and the reasons that set it."""

    grade: Grade
    score: int
    version: str
    contributions: tuple[Contribution, ...]
    reasons: tuple[str, ...]


def grade(table: FactorTable, inputs: Mapping[str, int | bool]) -> RiskGrade:
    """Grade a dispute from its factor inputs: the weighted sum against the thresholds, red when every
    `red_if_all` factor is present. An input the table does not know is a ValueError."""
    unknown = sorted(set(inputs) - set(table.names))
    if unknown:
        raise ValueError(f"unknown risk factor {unknown[0]!r}")
    contributions = []
    for f in table.factors:
        raw = int(inputs.get(f.name, 0))
        if raw < 0:
            raise ValueError(f"risk factor {f.name!r} is negative")
        if f.kind == "flag":
            value = 1 if raw else 0
            points = f.weight * value
        else:
            value = raw
            points = f.weight * (min(raw, f.cap) if f.cap is not None else raw)
        contributions.append(Contribution(f.name, value, points))
    score = sum(c.points for c in contributions)
    present = {c.name for c in contributions if c.value}
    reasons = [f"score:{score}"]
    if table.red_if_all and set(table.red_if_all) <= present:
        result, why = Grade.RED, "all_of:" + "+".join(table.red_if_all)
    elif score >= table.red:
        result, why = Grade.RED, f"score>={table.red}"
    elif score >= table.orange:
        result, why = Grade.ORANGE, f"score>={table.orange}"
    elif score >= table.yellow:
        result, why = Grade.YELLOW, f"score>={table.yellow}"
    else:
        result, why = Grade.BLUE, f"score<{table.yellow}"
    reasons.append(why)
    return RiskGrade(result, score, table.version, tuple(contributions), tuple(reasons))


# ---------------------------------------------------------------------------------------------------
# Clocks


@dataclass(frozen=True)
class ClockRules:
    """How long each clock runs and how early it warns (from the settings; defaults in `DEFAULT_CLOCKS`)."""

    # The anchor: mediation finished within a month of intake. Counted as 30 days.
    mediation: timedelta
    # A follow-up visit after the agreement (人民调解法 art. 31: the committee supervises how the
    # agreement is carried out). The 15 days are an assumption of this project.
    follow_up: timedelta
    # 人民调解法 art. 33: judicial confirmation applied for within 30 days of the agreement taking effect.
    confirmation: timedelta
    # A written warning (告诫书, 反家庭暴力法 art. 16) in a domestic-violence case. The law sets no
    # hours; 72 h from intake is the project's assumption, as the anchor asks.
    dv_warning: timedelta
    # 反家庭暴力法 art. 28: the court decides on a protection order within 72 h of the application,
    # within 24 h when urgent.
    protection_order: timedelta
    protection_order_urgent: timedelta
    # Warning leads: a clock shows `warning` this long before its deadline.
    lead_days: timedelta
    lead_hours: timedelta


def clock_rules(s: CommunitySettings) -> ClockRules:
    """The clocks' lengths from the settings (validated positive there)."""
    return ClockRules(
        mediation=timedelta(days=s.mediation_days),
        follow_up=timedelta(days=s.follow_up_days),
        confirmation=timedelta(days=s.confirmation_days),
        dv_warning=timedelta(hours=s.dv_warning_hours),
        protection_order=timedelta(hours=s.protection_order_hours),
        protection_order_urgent=timedelta(hours=s.protection_order_urgent_hours),
        lead_days=timedelta(days=s.warn_days),
        lead_hours=timedelta(hours=s.warn_hours),
    )


DEFAULT_CLOCKS = clock_rules(CommunitySettings())  # the defaults of `PINGAN_COMMUNITY_*`


@dataclass(frozen=True)
class DisputeTimes:
    """The moments of a dispute that its clocks read."""

    taken_in_at: datetime
    status: DisputeStatus
    domestic_violence: bool
    closed_at: datetime | None = None  # when it was agreed, failed or escalated
    agreed_at: datetime | None = None
    follow_up_at: datetime | None = None
    confirmation_applied_at: datetime | None = None
    dv_warning_at: datetime | None = None
    protection_order_applied_at: datetime | None = None
    protection_order_urgent: bool = False
    protection_order_decided_at: datetime | None = None


@dataclass(frozen=True)
class Clock:
    """One clock: its deadline, when it was met (if it was), and its state now."""

    kind: ClockKind
    started_at: datetime
    deadline: datetime
    warn_at: datetime
    met_at: datetime | None
    state: ClockState


# The parties' windows, not duties of the police: judicial confirmation is for the parties to apply for
# (人民调解法 art. 33). Past its end unused, the window lapses; nobody breached anything.
PARTIES_WINDOWS = frozenset({ClockKind.CONFIRMATION})


def _clock(
    kind: ClockKind, start: datetime, span: timedelta, lead: timedelta, met: datetime | None, now: datetime
) -> Clock:
    deadline = start + span
    warn_at = deadline - lead
    if met is not None and met <= deadline:
        state = ClockState.MET
    elif (met is not None and met > deadline) or now > deadline:
        # Met late is a breach too: the deadline passed first. A window of the parties lapses.
        state = ClockState.LAPSED if kind in PARTIES_WINDOWS else ClockState.BREACHED
    elif now >= warn_at:
        state = ClockState.WARNING
    else:
        state = ClockState.RUNNING
    return Clock(kind, start, deadline, warn_at, met, state)


def clocks(t: DisputeTimes, rules: ClockRules, *, now: datetime) -> list[Clock]:
    """The clocks that apply to a dispute now. A deadline is met at or before it, breached after it;
    `warning` from `lead` before it. Mediation stops when the dispute ends (agreed, failed, escalated)."""
    out = [_clock(ClockKind.MEDIATION, t.taken_in_at, rules.mediation, rules.lead_days, t.closed_at, now)]
    if t.agreed_at is not None:
        out.append(
            _clock(ClockKind.FOLLOW_UP, t.agreed_at, rules.follow_up, rules.lead_days, t.follow_up_at, now)
        )
        out.append(
            _clock(
                ClockKind.CONFIRMATION,
                t.agreed_at,
                rules.confirmation,
                rules.lead_days,
                t.confirmation_applied_at,
                now,
            )
        )
    if t.domestic_violence:
        out.append(
            _clock(
                ClockKind.DV_WARNING, t.taken_in_at, rules.dv_warning, rules.lead_hours, t.dv_warning_at, now
            )
        )
        if t.protection_order_applied_at is not None:
            span = rules.protection_order_urgent if t.protection_order_urgent else rules.protection_order
            out.append(
                _clock(
                    ClockKind.PROTECTION_ORDER,
                    t.protection_order_applied_at,
                    span,
                    rules.lead_hours,
                    t.protection_order_decided_at,
                    now,
                )
            )
    return out


# ---------------------------------------------------------------------------------------------------
# Repeats


@dataclass(frozen=True)
class Earlier:
    """An earlier dispute as the repeat rule reads it: its party pseudonyms and normalised address."""

    dispute_id: int
    taken_in_at: datetime
    party_keys: frozenset[str]
    address_key: str


@dataclass(frozen=True)
class Repeat:
    """An earlier dispute that the new one repeats, with why."""

    dispute_id: int
    reasons: tuple[str, ...]


def address_key(address: str) -> str:
    """An address compared for repeats: without spaces and punctuation, lower-cased."""
    return "".join(ch for ch in address.lower() if ch.isalnum())


def find_repeats(
    *,
    taken_in_at: datetime,
    party_keys: Iterable[str],
    address: str,
    earlier: Sequence[Earlier],
    window: timedelta,
) -> list[Repeat]:
    """Earlier disputes within `window` before `taken_in_at` sharing a party (by pseudonym) or the
    address. An empty address never matches; a dispute at the window's edge is inside it."""
    keys = frozenset(party_keys)
    addr = address_key(address)
    out = []
    for e in earlier:
        if not (taken_in_at - window <= e.taken_in_at <= taken_in_at):
            continue
        reasons = []
        if keys & e.party_keys:
            reasons.append("same_party")
        if addr and addr == e.address_key:
            reasons.append("same_address")
        if reasons:
            out.append(Repeat(e.dispute_id, tuple(reasons)))
    return sorted(out, key=lambda r: r.dispute_id)
