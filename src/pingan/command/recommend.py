"""Which units to send: the nearest suitable units by road travel time, each with its reasons.

`rank` is a pure rule (data in, a decision with its reasons out); `recommendations` gathers the
data (units, road times by `pingan.command.routing`) and applies it.

**Suitable.** A unit is a candidate when it is available, of a kind the incident's category takes
(`NEEDS`, by the longest matching category code prefix) and has the category's skills. Every other
unit is listed as excluded with the reason: `busy:<state>`, `wrong_type:<kind>`,
`missing_skill:<skill>`, `no_position`, `fix_too_old:<minutes>min`, `no_road_route`.

**Stale fixes.** A GPS fix older than `FIX_GRACE_S` (2 min) adds `STALE_PENALTY_S_PER_MIN` (60 s) of
travel time per minute beyond the grace: a unit on patrol moves about 300-500 m a minute in town, so
an old fix hides a detour of about that much. A fix older than `MAX_FIX_AGE_S` (30 min) says nothing
about where the unit is: excluded.

**Ranking.** By score = road travel time + stale penalty, then by call sign. Each unit after the first
says why it ranks lower than the first: `slower:+<minutes>min` (its own drive) and, where it has one,
`stale_fix:+<minutes>min` (its penalty).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.command.choices import UnitKind, UnitState
from pingan.command.model import Incident, Unit
from pingan.command.queries import units_in_view
from pingan.command.routing import Route, Router, router_for
from pingan.core.roles import Actor

FIX_GRACE_S = 120.0
STALE_PENALTY_S_PER_MIN = 60.0
MAX_FIX_AGE_S = 30 * 60.0

ALL_KINDS = frozenset(UnitKind)
VEHICLES = frozenset({UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL})
STREET = frozenset({UnitKind.PATROL_CAR, UnitKind.FOOT_PATROL, UnitKind.EBIKE_PATROL})


@dataclass(frozen=True)
class Need:
    """The unit kinds a category takes and the skills it asks for."""

    kinds: frozenset[UnitKind]
    skills: frozenset[str] = frozenset()


# By category code prefix (类别 2 digits, 类型 4, 细类 6); the longest matching prefix applies.
NEEDS: dict[str, Need] = {
    "": Need(STREET),  # anything not listed: a street unit, not the traffic police
    "01": Need(STREET),  # 刑事类
    "0102": Need(VEHICLES),  # 抢劫抢夺: a pursuit needs wheels
    "0104": Need(STREET, frozenset({"first_aid"})),  # 伤害
    "02": Need(STREET),  # 治安类
    "03": Need(frozenset({UnitKind.TRAFFIC, UnitKind.PATROL_CAR})),  # 交通类
    "04": Need(frozenset({UnitKind.PATROL_CAR}), frozenset({"first_aid"})),  # 火灾救援类
    "05": Need(ALL_KINDS),  # 求助类
}


def need_for(category_code: str | None) -> Need:
    code = category_code or ""
    best = max((p for p in NEEDS if code.startswith(p)), key=len)
    return NEEDS[best]


@functools.lru_cache(maxsize=1024)
def skills_of(text: str) -> frozenset[str]:
    return frozenset(s.strip() for s in text.replace(";", ",").split(",") if s.strip())


@dataclass(frozen=True)
class Candidate:
    """What the rule needs of a unit: its kind, skills, state, fix age and road route."""

    unit_id: int
    call_sign: str
    kind: UnitKind
    skills: frozenset[str]
    state: UnitState
    fix_age_s: float | None
    travel_s: float | None
    distance_m: float | None


@dataclass(frozen=True)
class Recommendation:
    unit_id: int
    call_sign: str
    kind: UnitKind
    rank: int
    travel_s: float
    distance_m: float
    fix_age_s: float
    stale_penalty_s: float
    score_s: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Excluded:
    unit_id: int
    call_sign: str
    kind: UnitKind
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Ranking:
    need: Need
    recommended: tuple[Recommendation, ...]
    excluded: tuple[Excluded, ...]
    engine: str = ""
    notes: tuple[str, ...] = field(default=())


def stale_penalty_s(fix_age_s: float) -> float:
    """Seconds added to a unit's travel time for the age of its GPS fix (see module)."""
    return max(0.0, fix_age_s - FIX_GRACE_S) / 60.0 * STALE_PENALTY_S_PER_MIN


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def exclusion(c: Candidate, need: Need, *, routed: bool = True) -> tuple[str, ...]:
    """Why a unit cannot be recommended (empty: it can); `routed=False` before its route is known."""
    reasons = []
    if c.state is not UnitState.AVAILABLE:
        reasons.append(f"busy:{c.state.value}")
    if c.kind not in need.kinds:
        reasons.append(f"wrong_type:{c.kind.value}")
    reasons.extend(f"missing_skill:{s}" for s in sorted(need.skills - c.skills))
    if c.fix_age_s is None:
        reasons.append("no_position")
    elif c.fix_age_s > MAX_FIX_AGE_S:
        reasons.append(f"fix_too_old:{c.fix_age_s / 60:.0f}min")
    if routed and not reasons and c.travel_s is None:  # only a unit that could go is routed
        reasons.append("no_road_route")
    return tuple(reasons)


def rank(candidates: Sequence[Candidate], need: Need, *, limit: int = 5) -> Ranking:
    """The `limit` best suitable units by travel time plus stale penalty, and every unit left out."""
    scored: list[tuple[float, str, Candidate, float]] = []
    excluded: list[Excluded] = []
    for c in candidates:
        why = exclusion(c, need)
        if why:
            excluded.append(Excluded(c.unit_id, c.call_sign, c.kind, why))
            continue
        assert c.travel_s is not None and c.fix_age_s is not None
        penalty = stale_penalty_s(c.fix_age_s)
        scored.append((round(c.travel_s + penalty, 2), c.call_sign, c, penalty))
    scored.sort(key=lambda x: (x[0], x[1]))
    out: list[Recommendation] = []
    best: Candidate | None = None
    for score, _, c, penalty in scored[:limit]:
        assert c.travel_s is not None and c.fix_age_s is not None and c.distance_m is not None
        reasons: list[str] = []
        if best is None:
            best = c
            reasons.append("fastest")
        elif best.travel_s is not None and c.travel_s > best.travel_s:
            reasons.append(f"slower:+{_minutes(c.travel_s - best.travel_s)}min")
        if penalty > 0:
            reasons.append(f"stale_fix:+{_minutes(penalty)}min")
        out.append(
            Recommendation(
                c.unit_id,
                c.call_sign,
                c.kind,
                len(out) + 1,
                c.travel_s,
                c.distance_m,
                c.fix_age_s,
                round(penalty, 1),
                score,
                tuple(reasons),
            )
        )
    excluded.sort(key=lambda e: e.call_sign)
    return Ranking(need, tuple(out), tuple(excluded))


# Road-time bounds of the search, tried in turn (None: the whole graph). Most incidents have their
# five best units within 5 minutes' drive; a search to 5 minutes settles a tenth of the district's
# junctions (0.9 ms against 3.5 ms for all on the 50,880-segment grid).
SEARCH_BOUNDS_S: tuple[float | None, ...] = (300.0, 900.0, None)


def _routes_of_the_fastest(
    router: Router,
    session: Session,
    target: tuple[float, float],
    points: Sequence[tuple[float, float]],
    units: Sequence[Candidate],
    limit: int,
) -> list[Route]:
    """Routes of `units` (at `points`), exact for every unit that can rank in the first `limit`.

    The search stops at a bound once `limit` units score (travel plus stale penalty) within it: a
    unit beyond the bound drives longer than the bound, so it scores more than all of them and
    cannot be shown. Otherwise the next, wider bound is searched."""
    for bound in SEARCH_BOUNDS_S:
        routes = router.routes(session, target, points, within_s=bound)
        if bound is None or not any(r.beyond for r in routes):  # every route is exact
            return routes
        within = sum(
            1
            for r, u in zip(routes, units, strict=True)
            if r.travel_s is not None and r.travel_s + stale_penalty_s(u.fix_age_s or 0.0) <= bound
        )
        if within >= limit:
            return routes
    raise AssertionError("unreachable: the last bound is the whole graph")


def recommendations(
    session: Session,
    incident: Incident,
    actor: Actor,
    *,
    now: datetime,
    limit: int = 5,
    router: Router | None = None,
) -> Ranking:
    """Rank the units in view of the incident's place by road travel time (see module)."""
    if incident.lat is None or incident.lon is None:
        return Ranking(need_for(incident.category_code), (), (), notes=("incident_has_no_coordinates",))
    router = router or router_for(session)
    notes: tuple[str, ...] = ()
    need = need_for(incident.category_code)
    # Columns, not ORM objects, and through the connection (no ORM result loading): 500 units are
    # read at every request.
    columns = (Unit.id, Unit.call_sign, Unit.kind, Unit.skills, Unit.state, Unit.lat, Unit.lon, Unit.fix_at)
    query = select(*columns).where(units_in_view(actor)).order_by(Unit.call_sign)
    rows = session.connection().execute(query).all()
    base = [
        Candidate(
            unit_id=unit_id,
            call_sign=call_sign,
            kind=kind,
            skills=skills_of(skills),
            state=state,
            fix_age_s=max(0.0, (now - fix_at).total_seconds()) if fix_at and lat is not None else None,
            travel_s=None,
            distance_m=None,
        )
        for unit_id, call_sign, kind, skills, state, lat, lon, fix_at in rows
    ]
    # A unit is routed only when nothing but its route could exclude it.
    routable = [
        k
        for k, c in enumerate(base)
        if rows[k].lat is not None and rows[k].lon is not None and not exclusion(c, need, routed=False)
    ]
    points = [(float(rows[k].lat), float(rows[k].lon)) for k in routable]
    try:
        routes = _routes_of_the_fastest(
            router, session, (incident.lat, incident.lon), points, [base[k] for k in routable], limit
        )
    except LookupError:  # no road graph stored: every unit is left out, and the note says why
        routes = [Route(None, None)] * len(points)
        notes = ("no_road_graph",)
    route_of = dict(zip(routable, routes, strict=True))
    # A unit beyond the search bound ranks below every unit shown (see `_routes_of_the_fastest`).
    candidates = [
        c
        if k not in route_of
        else Candidate(
            c.unit_id,
            c.call_sign,
            c.kind,
            c.skills,
            c.state,
            c.fix_age_s,
            route_of[k].travel_s,
            route_of[k].distance_m,
        )
        for k, c in enumerate(base)
        if k not in route_of or not route_of[k].beyond
    ]
    ranking = rank(candidates, need, limit=limit)
    return Ranking(ranking.need, ranking.recommended, ranking.excluded, engine=router.name, notes=notes)
