"""Replay generated 110 calls through the command package's actions, in real time or N times faster.

Each call becomes a timeline: taken (`do_take_call`), signed off `sign_off_s` later
(`do_sign_off(at=…)`), a unit of its station assigned `dispatch_s` after that, acknowledged, departing,
half-way (a GPS fix), arriving at the call's point (a fix there) and clearing with its feedback.
Every step goes through `check_*` and `do_*` with `at=` the step's time, in its own transaction, so
the events, audit log and live stream see what a real command centre would. A duplicate call is
attached to its incident while that is open, and recorded as a duplicate once it is closed; a hoax is
closed as a hoax. With no unit free at its station, the dispatch waits a minute and tries again.

Times are the file's own, or shifted so that the first call replayed is now (`shift_to`), which makes
a demo's clocks run live.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pingan.command import actions, dispatch
from pingan.command.choices import (
    Disposition,
    IncidentEventKind,
    IncidentStatus,
    UnitKind,
    UnitMove,
)
from pingan.command.schemas import IncidentIn, UnitIn
from pingan.core import db
from pingan.core.org import all_stations
from pingan.core.roles import Actor
from pingan.sim.incidents import SimCall

if TYPE_CHECKING:
    from pingan.command.model import Incident, Unit

ACTOR = Actor.system("replay")
RETRY_S = 60
MAX_RETRIES = 30
_STEPS = ("acknowledge", 10), ("depart", 25)


@dataclass
class ReplayStats:
    """What a replay wrote."""

    calls: int = 0
    new: int = 0
    attached: int = 0
    duplicates: int = 0
    hoaxes: int = 0
    moves: int = 0
    fixes: int = 0
    waits: int = 0
    gave_up: int = 0
    behind_max_s: float = 0.0  # how far behind its schedule a step started, at worst (wall seconds)
    behind_1s: int = 0  # steps that started more than a second after their time
    by_seq: dict[int, int] = field(default_factory=dict)  # call seq -> incident id


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    kind: str = field(compare=False)
    call: SimCall = field(compare=False)
    tries: int = field(default=0, compare=False)


def _ensure_units() -> None:
    """Every station gets two patrol cars and an e-bike patrol if it has no units yet."""
    with db.transaction() as session:
        have = dispatch.stations_with_units(session)
        for st in all_stations(session):
            if st.code in have:
                continue
            for n, kind in enumerate((UnitKind.PATROL_CAR, UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL), 1):
                body = UnitIn(call_sign=f"{st.code}-R{n}", station_code=st.code, kind=kind)
                unit = actions.do_add_unit(session, body, ACTOR)
                unit.lat, unit.lon = st.lat, st.lon


def replay(
    items: Sequence[SimCall],
    *,
    speed: float = 1.0,
    shift_to: datetime | None = None,
    start_at: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    on_step: Callable[[str, ReplayStats], None] | None = None,
) -> ReplayStats:
    """Write `items` through the command actions, pacing them `speed` times faster than recorded.

    The replay's clock starts at `start_at` (a recorded time, before the first item; default the first
    item's), so that several replays of parts of one file, started together, keep one clock.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    stats = ReplayStats()
    if not items:
        return stats
    _ensure_units()
    offset = (shift_to - items[0].received_at) if shift_to is not None else timedelta(0)
    heap: list[_Step] = []
    order = 0
    for c in items:
        heapq.heappush(heap, _Step(c.received_at + offset, order, "call", c))
        order += 1
    if start_at is not None and start_at > items[0].received_at:
        raise ValueError("start_at must not be after the first call")
    t0, w0 = (start_at + offset) if start_at is not None else heap[0].at, monotonic()
    units_of: dict[int, int] = {}  # call seq -> unit id
    while heap:
        step = heapq.heappop(heap)
        wait = (step.at - t0).total_seconds() / speed - (monotonic() - w0)
        if wait > 0:
            sleep(wait)
        else:
            stats.behind_max_s = max(stats.behind_max_s, -wait)
            stats.behind_1s += wait < -1
        follow = _apply(step, stats, units_of)
        for kind, delay in follow:
            order += 1
            heapq.heappush(
                heap, _Step(step.at + timedelta(seconds=delay), order, kind, step.call, step.tries)
            )
        if step.kind == "assign" and not follow:
            if step.tries < MAX_RETRIES:
                stats.waits += 1
                order += 1
                heapq.heappush(
                    heap,
                    _Step(step.at + timedelta(seconds=RETRY_S), order, "assign", step.call, step.tries + 1),
                )
            else:
                stats.gave_up += 1
        if on_step is not None:
            on_step(step.kind, stats)
    return stats


def _apply(step: _Step, stats: ReplayStats, units_of: dict[int, int]) -> list[tuple[str, int]]:
    """Do one step in its own transaction; returns the steps it leads to, with their delays (s)."""
    c, at = step.call, step.at
    with db.transaction() as session:
        if step.kind == "call":
            return _take(session, c, at, stats)
        incident = actions.get_incident(session, stats.by_seq[c.seq], ACTOR)
        if step.kind == "sign_off":
            if incident.status is IncidentStatus.OPEN and not any(
                e.kind is IncidentEventKind.SIGNED_OFF for e in incident.events
            ):
                actions.check_sign_off(incident, ACTOR)
                actions.do_sign_off(session, incident, ACTOR, at=at)
            return [("assign", c.dispatch_s)]
        if step.kind == "assign":
            if incident.status is not IncidentStatus.OPEN:
                return []
            unit = dispatch.nearest_free_unit(session, incident.station_code or c.station_code, c.lat, c.lon)
            if unit is None:
                return []
            _move(session, unit, UnitMove.ASSIGN, at, incident=incident)
            stats.moves += 1
            units_of[c.seq] = unit.id
            return [(name, delay) for name, delay in _STEPS] + [
                ("midway", 25 + c.travel_s // 2),
                ("arrive", 25 + c.travel_s),
                ("clear", 25 + c.travel_s + c.on_scene_s),
            ]
        unit = actions.get_unit(session, units_of[c.seq], ACTOR, for_update=True)
        if step.kind == "midway":
            lat = round(((unit.lat if unit.lat is not None else c.lat) + c.lat) / 2, 6)
            lon = round(((unit.lon if unit.lon is not None else c.lon) + c.lon) / 2, 6)
            actions.do_record_position(session, unit, lat=lat, lon=lon, fix_at=at, actor=ACTOR)
            stats.fixes += 1
            return []
        if step.kind == "arrive":
            actions.do_record_position(session, unit, lat=c.lat, lon=c.lon, fix_at=at, actor=ACTOR)
            stats.fixes += 1
        note = "现场已处置完毕，已向报警人反馈" if step.kind == "clear" else ""
        _move(session, unit, UnitMove(step.kind), at, note=note)
        stats.moves += 1
        return []


def _take(session: Session, c: SimCall, at: datetime, stats: ReplayStats) -> list[tuple[str, int]]:
    disposition, related_id, reason = Disposition.NEW, None, ""
    if c.kind == "hoax":
        disposition, reason = Disposition.HOAX, "核实为虚假报警"
    elif c.kind == "duplicate" and c.duplicate_of in stats.by_seq:
        related_id = stats.by_seq[c.duplicate_of]
        open_ = actions.get_incident(session, related_id, ACTOR).status is IncidentStatus.OPEN
        disposition = Disposition.ATTACHED if open_ else Disposition.DUPLICATE
        reason = "" if open_ else f"与第{related_id}号警情重复"
    body = IncidentIn(
        received_at=at,
        caller_phone=c.caller_phone,
        caller_name=c.caller_name,
        text=c.text,
        category_code=c.category_code,
        lat=c.lat,
        lon=c.lon,
        disposition=disposition,
        related_incident_id=related_id,
        disposition_reason=reason,
    )
    item = actions.NewCall(call=body, actor=ACTOR)
    incident = actions.do_take_call(session, item, related=actions.check_take_call(session, item))
    session.flush()
    stats.calls += 1
    stats.by_seq[c.seq] = incident.id
    if disposition is Disposition.NEW:
        stats.new += 1
        return [("sign_off", c.sign_off_s)]
    if disposition is Disposition.ATTACHED:
        stats.attached += 1
    elif disposition is Disposition.DUPLICATE:
        stats.duplicates += 1
    else:
        stats.hoaxes += 1
    return []


def _move(
    session: Session,
    unit: Unit,
    move: UnitMove,
    at: datetime,
    *,
    incident: Incident | None = None,
    note: str = "",
) -> None:
    req = actions.UnitMoveRequest(unit=unit, move=move, actor=ACTOR, incident=incident, note=note, at=at)
    actions.do_move_unit(session, req, actions.check_move_unit(req))
