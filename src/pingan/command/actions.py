"""The only code that writes command data. `check_*` validates and authorises; `do_*` writes in the
caller's transaction, audits there, and emits events that are delivered after commit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from pingan.command import address, rules
from pingan.command.categories import catalogue
from pingan.command.choices import (
    AreaKind,
    Disposition,
    IncidentEventKind,
    IncidentStatus,
    LocationFlag,
    Priority,
    UnitMove,
    UnitState,
)
from pingan.command.model import Incident, IncidentEvent, IncidentLoot, Unit, UnitStatusLog
from pingan.command.schemas import IncidentIn, UnitIn
from pingan.core import audit, bulk, clock, events
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.org import all_stations, stations_by_code
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor, Role
from pingan.core.scoping import check_station
from pingan.core.settings import get_settings

# The command centre's call-takers and dispatchers take calls and dispatch; the platform's feeds
# (the simulator, an import) act as the system.
CALL_TAKERS = frozenset({Role.DISPATCHER, Role.SYSTEM})
DISPATCHERS = frozenset({Role.DISPATCHER, Role.SYSTEM})
# The station signs off an incident it is sent (签收), or the command centre does for it.
SIGNERS = frozenset({Role.DISPATCHER, Role.OFFICER, Role.SYSTEM})
# A unit's officers report its own moves; a dispatcher may record them for it, as told by radio.
RESPONDERS = frozenset({Role.OFFICER, Role.DISPATCHER, Role.SYSTEM})
UNIT_KEEPERS = frozenset({Role.DISPATCHER, Role.ADMIN, Role.SYSTEM})
READERS = frozenset({Role.DISPATCHER, Role.OFFICER, Role.SUPERVISOR})
# Who works a property crime's case: marks it solved and keeps its loot-recovery record.
CASE_WORKERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.SYSTEM})

EVENT_INCIDENT_RECEIVED = "command.incident_received"
EVENT_UNIT_MOVED = "command.unit_moved"
# Moves only the command centre makes: choosing and withdrawing a unit.
DISPATCHER_MOVES = frozenset({UnitMove.ASSIGN, UnitMove.RELEASE})


def _authorise(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role.value} may not {what}")


def station_areas(session: Session) -> list[rules.StationArea]:
    """Every station as the place rule reads it: centre, area ring (if any) and urban or suburban."""
    suburban = set(get_settings().command.suburban_stations)
    out = []
    for s in all_stations(session):
        ring = None
        if s.area_geojson:
            geometry = json.loads(s.area_geojson)
            if geometry.get("type") == "Polygon" and geometry.get("coordinates"):
                ring = tuple((float(x), float(y)) for x, y in geometry["coordinates"][0])
        kind = AreaKind.SUBURBAN if s.code in suburban else AreaKind.URBAN
        out.append(rules.StationArea(s.code, s.lat, s.lon, ring, kind))
    return out


def targets_of(incident: Incident) -> rules.Targets:
    """The 110 targets of an incident, from the settings, by its priority and area."""
    c = get_settings().command
    return rules.targets_for(
        incident.priority,
        incident.area_kind,
        sign_off_s=c.sign_off_s,
        on_scene_urban_s=c.on_scene_urban_s,
        on_scene_suburban_s=c.on_scene_suburban_s,
        feedback_s=c.feedback_s,
    )


def chain_of(incident: Incident, *, now: datetime) -> rules.ClockChain:
    """The incident's 110 clock chain, from its event log."""
    return rules.clock_chain(((e.kind, e.at) for e in incident.events), targets_of(incident), now=now)


def case_clock_of(incident: Incident, *, now: datetime) -> rules.CaseClock | None:
    """The incident's 24-hour case clock (None unless it is a new property-crime incident)."""
    if incident.disposition is not Disposition.NEW:
        return None
    return rules.case_clock(incident.category_code, ((e.kind, e.at) for e in incident.events), now=now)


def required_case_clock(incident: Incident, *, now: datetime) -> rules.CaseClock:
    """The incident's case clock; an incident without one (not a property crime) is a Conflict."""
    found = case_clock_of(incident, now=now)
    if found is None:
        raise Conflict(
            f"incident {incident.id} ({incident.category_code or 'no category'}) is not a property crime: "
            "it has no case clock or loot record",
            field="category_code",
        )
    return found


def _check_property_crime(incident: Incident, actor: Actor, what: str) -> None:
    _authorise(actor, CASE_WORKERS, what)
    required_case_clock(incident, now=clock.now())


def check_solve_case(incident: Incident, actor: Actor) -> None:
    """A property crime whose case is not solved yet."""
    _check_property_crime(incident, actor, "mark cases solved")
    if any(e.kind is IncidentEventKind.CASE_SOLVED for e in incident.events):
        raise Conflict(f"the case of incident {incident.id} is solved already", field="incident_id")


def do_solve_case(session: Session, incident: Incident, actor: Actor, *, note: str) -> None:
    """Record the case solved (破案) now: the 24-hour clock stops. Caller holds the transaction."""
    _event(session, incident, IncidentEventKind.CASE_SOLVED, at=clock.now(), actor=actor, note=note)
    audit.record(
        session, actor=actor, action="incident.case_solved", object_type="incident", object_id=incident.id
    )


def check_record_loot(incident: Incident, actor: Actor) -> None:
    """Loot is recorded on property crimes only."""
    _check_property_crime(incident, actor, "keep loot records")


def do_record_loot(
    session: Session, incident: Incident, actor: Actor, *, item: str, value_lost_fen: int, note: str = ""
) -> IncidentLoot:
    """Add an item taken to the incident's loot-recovery record. Caller holds the transaction."""
    loot = IncidentLoot(
        incident_id=incident.id,
        item=item,
        value_lost_fen=value_lost_fen,
        value_recovered_fen=0,
        recorded_by=actor.username,
        recorded_at=clock.now(),
        note=note,
    )
    session.add(loot)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="incident.loot_recorded",
        object_type="incident",
        object_id=incident.id,
        detail={"loot": loot.id, "value_lost_fen": value_lost_fen},
    )
    return loot


def get_loot(session: Session, incident: Incident, loot_id: int) -> IncidentLoot:
    """One item of the incident's loot record, locked for the update (another incident's is NotFound)."""
    loot = session.execute(
        select(IncidentLoot)
        .where(IncidentLoot.id == loot_id, IncidentLoot.incident_id == incident.id)
        .with_for_update()
    ).scalar_one_or_none()
    if loot is None:
        raise NotFound(f"no loot item {loot_id} on incident {incident.id}", field="loot_id")
    return loot


def check_recover_loot(
    incident: Incident, loot: IncidentLoot, actor: Actor, value_recovered_fen: int
) -> None:
    """No more recovered, in all, than was lost."""
    _check_property_crime(incident, actor, "keep loot records")
    problem = rules.loot_problem(loot.value_lost_fen, loot.value_recovered_fen, value_recovered_fen)
    if problem is not None:
        raise Invalid(problem.message, field=problem.field)


def do_recover_loot(session: Session, loot: IncidentLoot, actor: Actor, *, value_recovered_fen: int) -> None:
    """Add a recovery to a loot item (追赃). Caller holds the transaction."""
    loot.value_recovered_fen += value_recovered_fen
    loot.recovered_at = clock.now()
    audit.record(
        session,
        actor=actor,
        action="incident.loot_recovered",
        object_type="incident",
        object_id=loot.incident_id,
        detail={"loot": loot.id, "value_recovered_fen": value_recovered_fen},
    )


def _event(
    session: Session,
    incident: Incident,
    kind: IncidentEventKind,
    *,
    at: datetime,
    actor: Actor,
    unit_id: int | None = None,
    note: str = "",
) -> None:
    session.add(
        IncidentEvent(incident=incident, kind=kind, at=at, unit_id=unit_id, actor=actor.username, note=note)
    )


# ---------------------------------------------------------------------------------------------------
# Calls and incidents


@dataclass(frozen=True, kw_only=True)
class NewCall:
    """One call to take, as `check_take_call` and `do_take_call` both take it."""

    call: IncidentIn
    actor: Actor
    # An imported row's source system and its id there (`imports`); None for a call taken here.
    source_system: str | None = None
    source_id: str | None = None


def check_take_call(session: Session, item: NewCall) -> Incident | None:
    """Validate a call: text or category, a known code and station, a disposition that holds.

    Returns the related incident of an attached or duplicate call (None otherwise).
    """
    _authorise(item.actor, CALL_TAKERS, "take 110 calls")
    call = item.call
    problems = rules.intake_problems(text=call.text, category_code=call.category_code, catalogue=catalogue())
    if problems:
        raise Invalid(problems[0].message, field=problems[0].field)
    if (call.lat is None) != (call.lon is None):
        raise Invalid("give both lat and lon, or neither", field="lon" if call.lon is None else "lat")
    if call.station_code is not None and not stations_by_code(session, {call.station_code}):
        raise Invalid(f"unknown station {call.station_code!r}", field="station_code")
    related = None
    if call.related_incident_id is not None:
        related = session.get(Incident, call.related_incident_id)
        if related is None:
            raise Invalid(f"no incident {call.related_incident_id}", field="related_incident_id")
    if call.disposition is Disposition.ATTACHED:
        if related is None:
            raise Invalid("an attached call names the incident it is about", field="related_incident_id")
        if related.disposition is not Disposition.NEW or related.status is not IncidentStatus.OPEN:
            raise Conflict(
                f"incident {related.id} is {related.status.value} ({related.disposition.value}): attach only to an open incident",
                field="related_incident_id",
            )
    elif call.disposition in (Disposition.HOAX, Disposition.DUPLICATE):
        if not call.disposition_reason.strip():
            raise Invalid(f"a {call.disposition.value} call needs its reason", field="disposition_reason")
    elif related is not None:
        raise Invalid(
            "only an attached or duplicate call names another incident", field="related_incident_id"
        )
    return related


def do_take_call(session: Session, item: NewCall, *, related: Incident | None = None) -> Incident:
    """Record the call as its disposition says: a new open incident, a call attached to an open one,
    or a closed hoax or duplicate. Caller holds the transaction (and ran `check_take_call`)."""
    call, actor = item.call, item.actor
    now = clock.now()
    received = call.received_at or now
    # Coordinates the caller gave win; without them an address the district's gazetteer knows gives
    # the point, and the reason says where it came from (or why there is none).
    lat, lon, found = call.lat, call.lon, None
    if lat is None and call.address.strip():
        found = address.geocode(call.address)
        lat, lon = found.lat, found.lon
    placement = rules.place(lat, lon, station_areas(session))
    station = call.station_code or placement.station_code
    reasons = ([found.reason] if found is not None else []) + list(placement.reasons)
    area_kind = placement.area_kind
    if call.station_code:
        reasons.append(f"station_given:{call.station_code}")
        area_kind = (
            AreaKind.SUBURBAN
            if call.station_code in get_settings().command.suburban_stations
            else AreaKind.URBAN
        )
    cat = catalogue()
    priority = (
        call.priority
        or (cat.suggested_priority(call.category_code) if call.category_code else None)
        or Priority.ROUTINE
    )
    closed = call.disposition is not Disposition.NEW
    incident = Incident(
        received_at=received,
        caller_phone=protect(PiiKind.PHONE, call.caller_phone, field="caller_phone")
        if call.caller_phone
        else None,
        caller_name=protect(PiiKind.NAME, call.caller_name, field="caller_name").sealed
        if call.caller_name
        else None,
        text=call.text,
        category_code=call.category_code,
        category_version=cat.version,
        priority=priority,
        address=call.address,
        lat=lat,
        lon=lon,
        location_flag=placement.flag,
        location_reasons=",".join(reasons)[:255],
        station_code=station,
        area_kind=area_kind,
        disposition=call.disposition,
        related_incident_id=related.id if related is not None else None,
        disposition_reason=call.disposition_reason,
        status=IncidentStatus.CLOSED if closed else IncidentStatus.OPEN,
        created_by=actor.username,
        source_system=item.source_system,
        source_id=item.source_id,
        # A call closed as it is taken (attached, hoax, duplicate) closes when it was received: a
        # replay or an import stamps the recorded time, not the moment it was written.
        closed_at=received if closed else None,
    )
    session.add(incident)
    _event(session, incident, IncidentEventKind.CALL_RECEIVED, at=received, actor=actor)
    if closed:
        _event(
            session, incident, IncidentEventKind.CLOSED, at=received, actor=actor, note=call.disposition.value
        )
    session.flush()
    if call.disposition is Disposition.ATTACHED and related is not None:
        _event(
            session,
            related,
            IncidentEventKind.CALL_ATTACHED,
            at=received,
            actor=actor,
            note=f"call #{incident.id}",
        )
    audit.record(
        session,
        actor=actor,
        action="incident.take_call",
        object_type="incident",
        object_id=incident.id,
        detail={
            "disposition": call.disposition.value,
            "related": incident.related_incident_id,
            "station": station,
            "location_flag": placement.flag.value,
        },
    )
    events.emit(
        session,
        EVENT_INCIDENT_RECEIVED,
        incident_id=incident.id,
        disposition=call.disposition.value,
        station_code=station,
        flagged=placement.flag is not LocationFlag.NONE,
    )
    return incident


def get_incident(session: Session, incident_id: int, actor: Actor, *, for_update: bool = False) -> Incident:
    """One incident within `actor`'s view (another station's is NotFound)."""
    q = select(Incident).where(Incident.id == incident_id)
    incident = session.execute(q.with_for_update() if for_update else q).scalar_one_or_none()
    if incident is None:
        raise NotFound(f"no incident {incident_id}", field="incident_id")
    check_station(actor, incident.station_code, what=f"incident {incident_id}")
    return incident


def check_sign_off(incident: Incident, actor: Actor) -> None:
    """An open new incident that is not signed off yet."""
    _authorise(actor, SIGNERS, "sign off incidents")
    if incident.status is not IncidentStatus.OPEN or incident.disposition is not Disposition.NEW:
        raise Conflict(
            f"incident {incident.id} is {incident.status.value}: nothing to sign off", field="incident_id"
        )
    if any(e.kind is IncidentEventKind.SIGNED_OFF for e in incident.events):
        raise Conflict(f"incident {incident.id} is signed off already", field="incident_id")


def do_sign_off(
    session: Session, incident: Incident, actor: Actor, *, note: str = "", at: datetime | None = None
) -> None:
    """Record the sign-off (签收) now (or `at`, for a replay of recorded events). Caller holds the transaction."""
    _event(session, incident, IncidentEventKind.SIGNED_OFF, at=at or clock.now(), actor=actor, note=note)
    audit.record(
        session, actor=actor, action="incident.sign_off", object_type="incident", object_id=incident.id
    )


# ---------------------------------------------------------------------------------------------------
# Units


def check_add_unit(session: Session, unit: UnitIn, actor: Actor) -> None:
    """A known station and a call sign not taken."""
    _authorise(actor, UNIT_KEEPERS, "add units")
    if not stations_by_code(session, {unit.station_code}):
        raise Invalid(f"unknown station {unit.station_code!r}", field="station_code")
    if session.execute(select(Unit.id).where(Unit.call_sign == unit.call_sign)).first() is not None:
        raise Conflict(f"call sign {unit.call_sign!r} is taken", field="call_sign")


def do_add_unit(
    session: Session, unit: UnitIn, actor: Actor, *, state: UnitState = UnitState.AVAILABLE
) -> Unit:
    """Create a unit in `state` (available by default), with the first line of its log."""
    now = clock.now()
    row = Unit(
        call_sign=unit.call_sign,
        station_code=unit.station_code,
        kind=unit.kind,
        skills=unit.skills,
        state=state,
        state_since=now,
    )
    session.add(row)
    session.flush()
    session.add(
        UnitStatusLog(
            unit_id=row.id, at=now, move=None, from_state=None, to_state=state, actor=actor.username
        )
    )
    audit.record(
        session,
        actor=actor,
        action="unit.add",
        object_type="unit",
        object_id=row.id,
        detail={"call_sign": unit.call_sign},
    )
    return row


def get_unit(session: Session, unit_id: int, actor: Actor, *, for_update: bool = False) -> Unit:
    """One unit within `actor`'s view (another station's is NotFound)."""
    q = select(Unit).where(Unit.id == unit_id)
    unit = session.execute(q.with_for_update() if for_update else q).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"no unit {unit_id}", field="unit_id")
    check_station(actor, unit.station_code, what=f"unit {unit_id}")
    return unit


@dataclass(frozen=True, kw_only=True)
class UnitMoveRequest:
    """A move of a unit's state machine, as `check_move_unit` and `do_move_unit` both take it."""

    unit: Unit
    move: UnitMove
    actor: Actor
    incident: Incident | None = None  # the incident to assign to (ASSIGN only)
    note: str = ""
    # When the move happened, for a replay of recorded events (the demo seed, the simulator); the
    # API and pages never set it: a live move happens now.
    at: datetime | None = None


def check_move_unit(item: UnitMoveRequest) -> rules.MoveDecision:
    """The move is the actor's to make and the transition table allows it from the unit's state.

    An illegal move is a Conflict (409) that names the unit's state and the move tried.
    """
    roles = DISPATCHERS if item.move in DISPATCHER_MOVES else RESPONDERS
    _authorise(item.actor, roles, f"{item.move.value} units")
    decision = rules.decide_move(item.unit.state, item.move)
    if not decision.allowed:
        raise Conflict(f"unit {item.unit.call_sign}: {decision.reason}", field="move")
    if item.move is UnitMove.ASSIGN:
        inc = item.incident
        if inc is None:
            raise Invalid("assign names the incident", field="incident_id")
        if inc.status is not IncidentStatus.OPEN or inc.disposition is not Disposition.NEW:
            raise Conflict(
                f"incident {inc.id} is {inc.status.value}: a unit goes only to an open incident",
                field="incident_id",
            )
    elif item.incident is not None and item.incident.id != item.unit.incident_id:
        raise Invalid(
            f"only assign names an incident; unit {item.unit.call_sign} works its own", field="incident_id"
        )
    if item.move is UnitMove.CLEAR and not item.note.strip():
        raise Invalid("clearing a unit needs its feedback (what was found and done)", field="note")
    return decision


def do_move_unit(session: Session, item: UnitMoveRequest, decision: rules.MoveDecision) -> Unit:
    """Apply a checked move: the unit's new state, a line of its log, and the incident's step.

    Assigning an incident not yet signed off signs it off at the same moment: the dispatcher who
    sends a unit has accepted the incident. Clearing the last unit of an incident closes it.
    Caller holds the transaction and has locked the unit (`get_unit(..., for_update=True)`).
    """
    unit, move, actor = item.unit, item.move, item.actor
    assert decision.to_state is not None
    now = item.at or clock.now()
    incident_id = item.incident.id if move is UnitMove.ASSIGN and item.incident else unit.incident_id
    incident = session.get(Incident, incident_id) if incident_id is not None else None
    from_state = unit.state
    unit.state, unit.state_since = decision.to_state, now
    if move is UnitMove.ASSIGN:
        unit.incident_id = incident_id
    elif decision.to_state in (UnitState.AVAILABLE, UnitState.OFF_DUTY):
        unit.incident_id = None
    session.add(
        UnitStatusLog(
            unit_id=unit.id,
            at=now,
            move=move,
            from_state=from_state,
            to_state=decision.to_state,
            incident_id=incident_id,
            actor=actor.username,
            note=item.note,
        )
    )
    if incident is not None and move in rules.MOVE_EVENTS:
        if move is UnitMove.ASSIGN and not any(
            e.kind is IncidentEventKind.SIGNED_OFF for e in incident.events
        ):
            _event(
                session,
                incident,
                IncidentEventKind.SIGNED_OFF,
                at=now,
                actor=actor,
                note="signed off by dispatch",
            )
        _event(
            session, incident, rules.MOVE_EVENTS[move], at=now, actor=actor, unit_id=unit.id, note=item.note
        )
        if move is UnitMove.CLEAR:
            session.flush()
            still_on = session.execute(
                select(Unit.id).where(Unit.incident_id == incident.id, Unit.id != unit.id)
            ).first()
            if still_on is None and incident.status is IncidentStatus.OPEN:
                incident.status, incident.closed_at = IncidentStatus.CLOSED, now
                _event(session, incident, IncidentEventKind.CLOSED, at=now, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="unit.move",
        object_type="unit",
        object_id=unit.id,
        detail={
            "move": move.value,
            "from": from_state.value,
            "to": decision.to_state.value,
            "incident": incident_id,
        },
    )
    events.emit(
        session,
        EVENT_UNIT_MOVED,
        unit_id=unit.id,
        move=move.value,
        state=decision.to_state.value,
        incident_id=incident_id,
    )
    return unit


def do_record_position(
    session: Session, unit: Unit, *, lat: float, lon: float, fix_at: datetime | None, actor: Actor
) -> None:
    """Store a unit's latest GPS fix (WGS-84, as received). Caller holds the transaction."""
    _authorise(actor, RESPONDERS, "report unit positions")
    unit.lat, unit.lon, unit.fix_at = lat, lon, fix_at or clock.now()
    audit.record(session, actor=actor, action="unit.position", object_type="unit", object_id=unit.id)


POSITIONS_ACTION = "unit.positions"


def do_record_positions(
    session: Session,
    fixes: Sequence[tuple[Unit, float, float, datetime]],
    *,
    actor: Actor,
    positions: int,
    devices: Sequence[str] = (),
) -> None:
    """Store many units' latest fixes (a feed's batch collapsed to one fix per unit) with ONE audit
    entry naming the units, how many positions the feed took and which devices sent them. Caller holds
    the transaction, with the units locked.

    The fixes go in ONE statement (`core.bulk`), not one UPDATE per unit as the ORM's flush would
    send (with the sensor devices' numbers, 22 % of the MQTT ingest worker's time in a py-spy profile
    of bench/mqtt.py). The session's units are then given the stored values, so they read as the table."""
    _authorise(actor, RESPONDERS, "report unit positions")
    rows = [{"_id": unit.id, "lat": lat, "lon": lon, "fix_at": fix_at} for unit, lat, lon, fix_at in fixes]
    bulk.update_rows(session, Unit.__table__, rows, match={"_id": "id"})  # type: ignore[arg-type]
    for unit, lat, lon, fix_at in fixes:
        for name, value in (("lat", lat), ("lon", lon), ("fix_at", fix_at)):
            set_committed_value(unit, name, value)
    audit.record(session, actor=actor, action=POSITIONS_ACTION, object_type="unit", object_id="*",
                 detail={"units": sorted(u.id for u, *_ in fixes), "count": positions,
                         "devices": list(devices)})  # fmt: skip
