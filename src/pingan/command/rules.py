"""Pure decisions of the command platform: data in, a decision with its reasons out. No I/O; the
clock is passed in and every datetime is UTC-aware."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pingan.command.categories import Catalogue
from pingan.command.choices import AreaKind, IncidentEventKind, LocationFlag, Priority, UnitMove, UnitState

EARTH_RADIUS_M = 6_371_008.8

# ---------------------------------------------------------------------------------------------------
# Intake


@dataclass(frozen=True)
class Problem:
    """A refusal of an input, naming its field."""

    field: str
    message: str


def intake_problems(*, text: str, category_code: str | None, catalogue: Catalogue) -> list[Problem]:
    """Why a call cannot be taken as given: it needs a description or a category, and a known code."""
    problems = []
    if not text.strip() and not category_code:
        problems.append(
            Problem("text", "an incident needs a description (text) or a category (category_code)")
        )
    if category_code and catalogue.get(category_code) is None:
        problems.append(
            Problem("category_code", f"unknown category {category_code!r} (catalogue {catalogue.version})")
        )
    return problems


# ---------------------------------------------------------------------------------------------------
# Place: which station is responsible, and whether a human must look at the coordinates


@dataclass(frozen=True)
class StationArea:
    """A station's centre and, where it has one, its area as a ring of (lon, lat) points (GeoJSON order)."""

    code: str
    lat: float
    lon: float
    ring: tuple[tuple[float, float], ...] | None
    area_kind: AreaKind = AreaKind.URBAN


@dataclass(frozen=True)
class Placement:
    """The responsible station for a place, the flag for a human, and why."""

    station_code: str | None
    flag: LocationFlag
    area_kind: AreaKind
    reasons: tuple[str, ...]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def in_ring(lat: float, lon: float, ring: Sequence[tuple[float, float]]) -> bool:
    """Whether the point lies inside the ring (even-odd rule; a point on the west or south edge is inside)."""
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        if (y1 <= lat < y2) or (y2 <= lat < y1):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_cross:
                inside = not inside
    return inside


def place(lat: float | None, lon: float | None, stations: Sequence[StationArea]) -> Placement:
    """The station responsible for a WGS-84 point: the one whose area holds it, else the nearest.

    A point inside no station's area is outside the district: it is kept exactly as given and flagged
    for a human, never moved to the nearest boundary, since a wrong point sends a unit to the wrong
    place and a corrected one must be a person's decision. Without areas the nearest centre decides.
    """
    if lat is None or lon is None:
        return Placement(None, LocationFlag.NO_COORDINATES, AreaKind.URBAN, ("no_coordinates",))
    if not stations:
        return Placement(None, LocationFlag.NONE, AreaKind.URBAN, ("no_stations",))
    for s in stations:
        if s.ring and in_ring(lat, lon, s.ring):
            return Placement(s.code, LocationFlag.NONE, s.area_kind, (f"in_area:{s.code}",))
    nearest = min(stations, key=lambda s: distance_m(lat, lon, s.lat, s.lon))
    metres = round(distance_m(lat, lon, nearest.lat, nearest.lon))
    if any(s.ring for s in stations):
        return Placement(
            nearest.code,
            LocationFlag.OUTSIDE_DISTRICT,
            nearest.area_kind,
            ("outside_district", f"nearest_station:{nearest.code}:{metres}m"),
        )
    return Placement(
        nearest.code, LocationFlag.NONE, nearest.area_kind, (f"nearest_station:{nearest.code}:{metres}m",)
    )


# ---------------------------------------------------------------------------------------------------
# Attaching a call to an incident already open


@dataclass(frozen=True)
class OpenIncident:
    """What the attach rule needs of an open incident."""

    id: int
    type_code: str | None
    lat: float | None
    lon: float | None
    received_at: datetime


@dataclass(frozen=True)
class AttachSuggestion:
    """The open incident a call is likely about (None: a new one), and why."""

    incident_id: int | None
    reasons: tuple[str, ...]


def suggest_attach(
    *,
    type_code: str | None,
    lat: float | None,
    lon: float | None,
    received_at: datetime,
    open_incidents: Iterable[OpenIncident],
    radius_m: float,
    window: timedelta,
) -> AttachSuggestion:
    """Suggest the open incident of the same 类型 within `radius_m` and `window` of this call, the nearest.

    Several callers often report one fight or one accident; the call-taker confirms the suggestion,
    because two thefts in one street an hour apart are two incidents.
    """
    if type_code is None:
        return AttachSuggestion(None, ("no_category",))
    if lat is None or lon is None:
        return AttachSuggestion(None, ("no_coordinates",))
    best: tuple[float, OpenIncident] | None = None
    for inc in open_incidents:
        if inc.type_code != type_code or inc.lat is None or inc.lon is None:
            continue
        if abs(received_at - inc.received_at) > window:
            continue
        metres = distance_m(lat, lon, inc.lat, inc.lon)
        if metres <= radius_m and (best is None or metres < best[0]):
            best = (metres, inc)
    if best is None:
        minutes = int(window.total_seconds() // 60)
        return AttachSuggestion(
            None, (f"no_open_incident:type={type_code}:within={radius_m:g}m:{minutes}min",)
        )
    metres, inc = best
    apart = int(abs(received_at - inc.received_at).total_seconds() // 60)
    return AttachSuggestion(
        inc.id, (f"same_type:{type_code}", f"distance_m:{round(metres)}", f"minutes_apart:{apart}")
    )


# ---------------------------------------------------------------------------------------------------
# The unit state machine

UNIT_TRANSITIONS: dict[UnitState, dict[UnitMove, UnitState]] = {
    UnitState.AVAILABLE: {UnitMove.ASSIGN: UnitState.ASSIGNED, UnitMove.GO_OFF_DUTY: UnitState.OFF_DUTY},
    UnitState.ASSIGNED: {UnitMove.ACKNOWLEDGE: UnitState.DISPATCHED, UnitMove.RELEASE: UnitState.AVAILABLE},
    UnitState.DISPATCHED: {UnitMove.DEPART: UnitState.EN_ROUTE, UnitMove.RELEASE: UnitState.AVAILABLE},
    UnitState.EN_ROUTE: {UnitMove.ARRIVE: UnitState.ON_SCENE, UnitMove.RELEASE: UnitState.AVAILABLE},
    # A unit on scene is not released: it leaves by clearing, with its feedback.
    UnitState.ON_SCENE: {UnitMove.CLEAR: UnitState.AVAILABLE},
    UnitState.OFF_DUTY: {UnitMove.COME_ON_DUTY: UnitState.AVAILABLE},
}

# The step of the incident's event log that each move of its unit records.
MOVE_EVENTS: dict[UnitMove, IncidentEventKind] = {
    UnitMove.ASSIGN: IncidentEventKind.DISPATCHED,
    UnitMove.ACKNOWLEDGE: IncidentEventKind.ACKNOWLEDGED,
    UnitMove.DEPART: IncidentEventKind.EN_ROUTE,
    UnitMove.ARRIVE: IncidentEventKind.ON_SCENE,
    UnitMove.CLEAR: IncidentEventKind.FEEDBACK,
    UnitMove.RELEASE: IncidentEventKind.UNIT_RELEASED,
}


@dataclass(frozen=True)
class MoveDecision:
    """Whether a unit may make a move from its state, the state it lands in, and why not."""

    allowed: bool
    to_state: UnitState | None
    reason: str


def decide_move(state: UnitState, move: UnitMove) -> MoveDecision:
    """Look the move up in the transition table."""
    to_state = UNIT_TRANSITIONS[state].get(move)
    if to_state is None:
        allowed = ", ".join(m.value for m in UNIT_TRANSITIONS[state]) or "none"
        return MoveDecision(
            False,
            None,
            f"a unit that is {state.value} cannot {move.value} (allowed from {state.value}: {allowed})",
        )
    return MoveDecision(True, to_state, f"{state.value}->{to_state.value}")


# ---------------------------------------------------------------------------------------------------
# The 110 clock chain

CHAIN: tuple[IncidentEventKind, ...] = (
    IncidentEventKind.CALL_RECEIVED,
    IncidentEventKind.SIGNED_OFF,
    IncidentEventKind.DISPATCHED,
    IncidentEventKind.ACKNOWLEDGED,
    IncidentEventKind.EN_ROUTE,
    IncidentEventKind.ON_SCENE,
    IncidentEventKind.FEEDBACK,
)


@dataclass(frozen=True)
class Targets:
    """The 110 targets that apply to one incident, in seconds."""

    sign_off_s: int
    on_scene_s: int
    feedback_s: int


@dataclass(frozen=True)
class Measure:
    """One measured interval with its target: `name` runs from `start` to `end`."""

    name: str  # "sign_off", "on_scene", "feedback"
    start: IncidentEventKind
    end: IncidentEventKind
    target_s: int
    started_at: datetime | None
    ended_at: datetime | None
    seconds: float | None  # elapsed: to the end, or to `now` while running
    running: bool
    breached: bool

    @property
    def deadline(self) -> datetime | None:
        """When the target runs out (None until the interval has started)."""
        return self.started_at + timedelta(seconds=self.target_s) if self.started_at else None


@dataclass(frozen=True)
class ChainStep:
    """A step of the chain and when it was first reached (None: not yet)."""

    kind: IncidentEventKind
    at: datetime | None
    since_previous_s: float | None


@dataclass(frozen=True)
class ClockChain:
    """The incident's 110 chain: its steps, the three measured intervals, and the breaches with reasons."""

    steps: tuple[ChainStep, ...]
    measures: tuple[Measure, ...]
    reasons: tuple[str, ...]

    @property
    def breached(self) -> bool:
        """Whether any target is missed (or running past its deadline)."""
        return any(m.breached for m in self.measures)

    def measure(self, name: str) -> Measure:
        """The measured interval called `name`."""
        return next(m for m in self.measures if m.name == name)

    @property
    def next_deadline(self) -> Measure | None:
        """The running interval whose deadline comes first: the queue's countdown."""
        running = [(m.deadline, m) for m in self.measures if m.running and m.deadline is not None]
        return min(running, key=lambda pair: pair[0])[1] if running else None


def targets_for(
    priority: Priority,
    area: AreaKind,
    *,
    sign_off_s: dict[str, int],
    on_scene_urban_s: dict[str, int],
    on_scene_suburban_s: dict[str, int],
    feedback_s: dict[str, int],
) -> Targets:
    """The targets of one incident from the settings' tables, keyed by priority code."""
    on_scene = on_scene_urban_s if area is AreaKind.URBAN else on_scene_suburban_s
    return Targets(sign_off_s[priority.value], on_scene[priority.value], feedback_s[priority.value])


def clock_chain(
    events: Iterable[tuple[IncidentEventKind, datetime]], targets: Targets, *, now: datetime
) -> ClockChain:
    """Compute the chain from the incident's event log: the first time each step was reached, and the
    three intervals the 110 rules measure.

    - sign-off: call received → signed off (签收), within `sign_off_s` (30 s);
    - on scene: call received → first unit on scene, within `on_scene_s` (5 min urban, 10 suburban);
    - feedback: on scene → feedback, within `feedback_s` (30 min).

    An interval not yet ended runs against `now`, and is a breach once past its deadline.
    """
    first: dict[IncidentEventKind, datetime] = {}
    for kind, at in events:
        if kind not in first or at < first[kind]:
            first[kind] = at
    steps: list[ChainStep] = []
    previous: datetime | None = None
    for step in CHAIN:
        reached = first.get(step)
        since = (reached - previous).total_seconds() if reached is not None and previous is not None else None
        steps.append(ChainStep(step, reached, since))
        if reached is not None:
            previous = reached

    def measure(name: str, start: IncidentEventKind, end: IncidentEventKind, target_s: int) -> Measure:
        started, ended = first.get(start), first.get(end)
        if started is None:
            return Measure(name, start, end, target_s, None, None, None, False, False)
        until = ended if ended is not None else now
        seconds = max(0.0, (until - started).total_seconds())
        return Measure(name, start, end, target_s, started, ended, seconds, ended is None, seconds > target_s)

    measures = (
        measure(
            "sign_off", IncidentEventKind.CALL_RECEIVED, IncidentEventKind.SIGNED_OFF, targets.sign_off_s
        ),
        measure("on_scene", IncidentEventKind.CALL_RECEIVED, IncidentEventKind.ON_SCENE, targets.on_scene_s),
        measure("feedback", IncidentEventKind.ON_SCENE, IncidentEventKind.FEEDBACK, targets.feedback_s),
    )
    reasons = tuple(
        f"{m.name}:{'running ' if m.running else ''}{round(m.seconds or 0)}s>{m.target_s}s"
        for m in measures
        if m.breached
    )
    return ClockChain(tuple(steps), measures, reasons)


# ---------------------------------------------------------------------------------------------------
# The 24-hour case clock of property crime (24小时破案)

# Property crime: theft (0101), robbery and snatching (0102) and face-to-face fraud (010302). Telecom
# and online fraud (010301) goes to the anti-fraud loop, whose clock is the card stop, not this one.
PROPERTY_CRIME_PREFIXES = ("0101", "0102", "010302")
# The stations' "24-hour case solving" drive (24小时破案): a property crime reported to 110 is to be
# solved within 24 hours of the call. A working target of the bureau, not a statute.
CASE_CLOCK_S = 24 * 3600


def is_property_crime(category_code: str | None) -> bool:
    """Whether the category starts the 24-hour case clock (see `PROPERTY_CRIME_PREFIXES`)."""
    return bool(category_code) and any(str(category_code).startswith(p) for p in PROPERTY_CRIME_PREFIXES)


@dataclass(frozen=True)
class CaseClock:
    """A property crime's 24-hour case clock: from the call to the case solved (破案)."""

    started_at: datetime
    due_at: datetime
    solved_at: datetime | None
    seconds: float
    running: bool
    breached: bool
    reason: str


def case_clock(
    category_code: str | None,
    events: Iterable[tuple[IncidentEventKind, datetime]],
    *,
    now: datetime,
    limit_s: int = CASE_CLOCK_S,
) -> CaseClock | None:
    """The clock of a property crime from its event log (None for any other incident): it starts at the
    call, stops at the first `case_solved`, and is breached once it has run past `limit_s`."""
    if not is_property_crime(category_code):
        return None
    first: dict[IncidentEventKind, datetime] = {}
    for kind, at in events:
        if kind not in first or at < first[kind]:
            first[kind] = at
    started = first.get(IncidentEventKind.CALL_RECEIVED)
    if started is None:
        return None
    solved = first.get(IncidentEventKind.CASE_SOLVED)
    seconds = max(0.0, ((solved or now) - started).total_seconds())
    breached = seconds > limit_s
    if solved is not None:
        reason = f"solved_in:{seconds / 3600:.1f}h" + (f">{limit_s // 3600}h" if breached else "")
    else:
        reason = f"running:{seconds / 3600:.1f}h" + (f">{limit_s // 3600}h" if breached else "")
    return CaseClock(
        started, started + timedelta(seconds=limit_s), solved, seconds, solved is None, breached, reason
    )


def loot_problem(value_lost_fen: int, recovered_fen: int, adding_fen: int) -> Problem | None:
    """Why a recovery cannot be recorded: more recovered than was lost."""
    if recovered_fen + adding_fen > value_lost_fen:
        return Problem(
            "value_recovered_fen",
            f"{recovered_fen + adding_fen} fen recovered in all would exceed the {value_lost_fen} fen lost",
        )
    return None


# ---------------------------------------------------------------------------------------------------
# The weekly bulletin


@dataclass(frozen=True)
class Share:
    """`within` of `total` met the target."""

    within: int
    total: int

    @property
    def percent(self) -> float | None:
        """The share in percent, to one decimal; None when nothing was measured."""
        return round(100 * self.within / self.total, 1) if self.total else None


@dataclass(frozen=True)
class UnitResponse:
    """One unit's time from being assigned to arriving, in seconds, on one incident."""

    call_sign: str
    seconds: float


@dataclass(frozen=True)
class SlowUnit:
    """A unit's mean assigned-to-arrival time over the week."""

    call_sign: str
    mean_s: float
    responses: int


@dataclass(frozen=True)
class Bulletin:
    """A station's weekly 110 bulletin (周通报)."""

    incidents: int
    sign_off: Share
    on_scene: Share
    feedback: Share
    slowest_units: tuple[SlowUnit, ...]


def weekly_bulletin(
    chains: Sequence[ClockChain], responses: Iterable[UnitResponse], *, slowest: int = 3
) -> Bulletin:
    """The week's percentages from the incidents' chains, and its slowest units.

    - sign-off within target: of every incident received;
    - on scene within target: of the incidents a unit was dispatched to;
    - feedback within target: of the incidents a unit reached.

    An incident not yet signed off, reached or fed back counts against its share once its deadline
    has passed (the chain marks it breached), and is left out while its clock still runs.
    """

    def share(name: str, needs: IncidentEventKind) -> Share:
        counted = [
            c.measure(name)
            for c in chains
            if any(s.kind is needs and s.at is not None for s in c.steps)
            and not (c.measure(name).running and not c.measure(name).breached)
        ]
        return Share(sum(1 for m in counted if not m.breached), len(counted))

    by_unit: dict[str, list[float]] = defaultdict(list)
    for r in responses:
        by_unit[r.call_sign].append(r.seconds)
    ranked = sorted(
        (SlowUnit(sign, sum(s) / len(s), len(s)) for sign, s in by_unit.items()),
        key=lambda u: (-u.mean_s, u.call_sign),
    )
    return Bulletin(
        incidents=len(chains),
        sign_off=share("sign_off", IncidentEventKind.CALL_RECEIVED),
        on_scene=share("on_scene", IncidentEventKind.DISPATCHED),
        feedback=share("feedback", IncidentEventKind.ON_SCENE),
        slowest_units=tuple(ranked[:slowest]),
    )
