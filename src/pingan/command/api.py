"""The command platform over HTTP: calls and incidents, units and their moves, the weekly bulletin."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pingan.command import actions, queries, rules
from pingan.command.model import Incident, Unit
from pingan.command.schemas import (
    AttachSuggestionOut,
    BulletinOut,
    CaseClockOut,
    CaseSolvedIn,
    ClockChainOut,
    IncidentEventOut,
    IncidentIn,
    IncidentOut,
    LootIn,
    LootOut,
    MeasureOut,
    PositionIn,
    RecoveryIn,
    ShareOut,
    SlowUnitOut,
    UnitIn,
    UnitMoveIn,
    UnitOut,
)
from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import Invalid
from pingan.core.roles import Actor
from pingan.core.schemas import SaneDatetime
from pingan.core.scoping import check_station, record_list_read

router = APIRouter(prefix="/api/v1", tags=["command"])
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
CallTaker = Annotated[Actor, Depends(require_roles(*actions.CALL_TAKERS))]
Signer = Annotated[Actor, Depends(require_roles(*actions.SIGNERS))]
Responder = Annotated[Actor, Depends(require_roles(*actions.RESPONDERS))]
UnitKeeper = Annotated[Actor, Depends(require_roles(*actions.UNIT_KEEPERS))]
CaseWorker = Annotated[Actor, Depends(require_roles(*actions.CASE_WORKERS))]
IncidentId = Annotated[int, Query(ge=1, le=MAX_ROW_ID)]


def chain_out(chain: rules.ClockChain) -> ClockChainOut:
    """The chain as the API shows it."""
    return ClockChainOut(
        steps={s.kind.value: s.at for s in chain.steps},
        measures=[
            MeasureOut(
                name=m.name,
                target_s=m.target_s,
                seconds=m.seconds,
                running=m.running,
                breached=m.breached,
                deadline=m.deadline,
            )
            for m in chain.measures
        ],
        breached=chain.breached,
        reasons=list(chain.reasons),
    )


def incident_out(
    incident: Incident,
    *,
    now: datetime,
    suggestion: rules.AttachSuggestion | None = None,
    detail: bool = False,
) -> IncidentOut:
    """An incident as the API shows it: the caller masked; its chain and log when `detail`."""
    return IncidentOut(
        id=incident.id,
        received_at=incident.received_at,
        caller_phone_masked=incident.caller_phone.masked if incident.caller_phone else None,
        caller_name_masked=incident.caller_name.masked if incident.caller_name else None,
        text=incident.text,
        category_code=incident.category_code,
        category_version=incident.category_version,
        priority=incident.priority,
        address=incident.address,
        lat=incident.lat,
        lon=incident.lon,
        location_flag=incident.location_flag,
        location_reasons=[r for r in incident.location_reasons.split(",") if r],
        station_code=incident.station_code,
        area_kind=incident.area_kind,
        disposition=incident.disposition,
        related_incident_id=incident.related_incident_id,
        disposition_reason=incident.disposition_reason,
        status=incident.status,
        attach_suggestion=AttachSuggestionOut(
            incident_id=suggestion.incident_id, reasons=list(suggestion.reasons)
        )
        if suggestion
        else None,
        clock_chain=chain_out(actions.chain_of(incident, now=now)) if detail else None,
        events=[
            IncidentEventOut(kind=e.kind, at=e.at, unit_id=e.unit_id, actor=e.actor, note=e.note)
            for e in incident.events
        ]
        if detail
        else [],
    )


def unit_out(unit: Unit) -> UnitOut:
    """A unit as the API shows it."""
    return UnitOut.model_validate(unit, from_attributes=True)


@router.post("/incidents", response_model=IncidentOut, status_code=201)
def take_call(body: IncidentIn, session: DbSession, actor: CallTaker) -> IncidentOut:
    """Record a 110 call as a new incident, a call attached to an open one, or a hoax or duplicate.

    A new incident's answer carries the attach rule's suggestion (`attach_suggestion`): an open
    incident of the same type nearby and recent, which the call-taker may attach the call to instead.
    Coordinates outside the district are kept as given and flagged (`location_flag`).
    """
    item = actions.NewCall(call=body, actor=actor)
    with session.begin():
        related = actions.check_take_call(session, item)
        suggestion = None
        if body.disposition.value == "new":
            suggestion = queries.attach_suggestion(
                session,
                category_code=body.category_code,
                lat=body.lat,
                lon=body.lon,
                received_at=body.received_at or clock.now(),
            )
        incident = actions.do_take_call(session, item, related=related)
        session.flush()
        out = incident_out(incident, now=clock.now(), suggestion=suggestion, detail=True)
    return out


@router.get("/incidents/attach-suggestion", response_model=AttachSuggestionOut)
def suggest(
    session: DbSession,
    actor: CallTaker,
    category_code: Annotated[str | None, Query(max_length=8)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    received_at: SaneDatetime | None = None,
) -> AttachSuggestionOut:
    """The open incident a call is likely about: same type, within the radius and the window."""
    with session.begin():
        s = queries.attach_suggestion(
            session, category_code=category_code, lat=lat, lon=lon, received_at=received_at or clock.now()
        )
    return AttachSuggestionOut(incident_id=s.incident_id, reasons=list(s.reasons))


@router.get("/incidents", response_model=list[IncidentOut])
def list_open_incidents(session: DbSession, actor: Reader) -> list[IncidentOut]:
    """Open incidents of the caller's view, most urgent first, with their clock chains. Audited."""
    now = clock.now()
    with session.begin():
        rows = queries.open_queue(session, actor, now=now)
        out = [incident_out(r.incident, now=now, detail=True) for r in rows]
        record_list_read(session, actor=actor, listing="incident", filters={"status": "open"}, count=len(out))
    return out


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: int, session: DbSession, actor: Reader) -> IncidentOut:
    """One incident with its event log and clock chain. Audited."""
    with session.begin():
        incident = actions.get_incident(session, incident_id, actor)
        audit.record(
            session, actor=actor, action="incident.read", object_type="incident", object_id=incident.id
        )
        out = incident_out(incident, now=clock.now(), detail=True)
    return out


@router.post("/incidents/{incident_id}/sign-off", response_model=IncidentOut)
def sign_off(incident_id: int, session: DbSession, actor: Signer) -> IncidentOut:
    """Sign off the incident (签收) now: the first step of the 110 clock chain after the call."""
    with session.begin():
        incident = actions.get_incident(session, incident_id, actor, for_update=True)
        actions.check_sign_off(incident, actor)
        actions.do_sign_off(session, incident, actor)
        session.flush()
        session.refresh(incident)
        out = incident_out(incident, now=clock.now(), detail=True)
    return out


def case_clock_out(session: DbSession, incident: Incident) -> CaseClockOut:
    """The incident's case clock with its loot record (a property crime's; others: Conflict)."""
    found = actions.required_case_clock(incident, now=clock.now())
    loot = queries.loot_of(session, incident.id)
    return CaseClockOut(
        started_at=found.started_at,
        due_at=found.due_at,
        solved_at=found.solved_at,
        seconds=found.seconds,
        running=found.running,
        breached=found.breached,
        reason=found.reason,
        loot=[LootOut.model_validate(item, from_attributes=True) for item in loot],
        value_lost_fen=sum(item.value_lost_fen for item in loot),
        value_recovered_fen=sum(item.value_recovered_fen for item in loot),
    )


@router.get("/incidents/{incident_id}/case-clock", response_model=CaseClockOut)
def case_clock(incident_id: int, session: DbSession, actor: Reader) -> CaseClockOut:
    """A property crime's 24-hour case clock (24小时破案) and its loot-recovery record (追赃挽损).
    Audited; another incident answers 409 naming its category."""
    with session.begin():
        incident = actions.get_incident(session, incident_id, actor)
        out = case_clock_out(session, incident)
        audit.record(
            session, actor=actor, action="incident.read", object_type="incident", object_id=incident.id
        )
    return out


@router.post("/incidents/{incident_id}/case-solved", response_model=CaseClockOut)
def solve_case(incident_id: int, body: CaseSolvedIn, session: DbSession, actor: CaseWorker) -> CaseClockOut:
    """Mark a property crime's case solved (破案) now: its 24-hour clock stops."""
    with session.begin():
        incident = actions.get_incident(session, incident_id, actor, for_update=True)
        actions.check_solve_case(incident, actor)
        actions.do_solve_case(session, incident, actor, note=body.note)
        session.flush()
        session.refresh(incident)
        out = case_clock_out(session, incident)
    return out


@router.post("/incidents/{incident_id}/loot", response_model=CaseClockOut, status_code=201)
def record_loot(incident_id: int, body: LootIn, session: DbSession, actor: CaseWorker) -> CaseClockOut:
    """Add an item taken to a property crime's loot-recovery record, with its value in fen."""
    with session.begin():
        incident = actions.get_incident(session, incident_id, actor, for_update=True)
        actions.check_record_loot(incident, actor)
        actions.do_record_loot(
            session, incident, actor, item=body.item, value_lost_fen=body.value_lost_fen, note=body.note
        )
        out = case_clock_out(session, incident)
    return out


@router.post("/incidents/{incident_id}/loot/{loot_id}/recoveries", response_model=CaseClockOut)
def recover_loot(
    incident_id: int, loot_id: int, body: RecoveryIn, session: DbSession, actor: CaseWorker
) -> CaseClockOut:
    """Record value recovered of a loot item (追赃); more than was lost, in all, is refused (422)."""
    with session.begin():
        incident = actions.get_incident(session, incident_id, actor, for_update=True)
        loot = actions.get_loot(session, incident, loot_id)
        actions.check_recover_loot(incident, loot, actor, body.value_recovered_fen)
        actions.do_recover_loot(session, loot, actor, value_recovered_fen=body.value_recovered_fen)
        out = case_clock_out(session, incident)
    return out


@router.post("/units", response_model=UnitOut, status_code=201)
def add_unit(body: UnitIn, session: DbSession, actor: UnitKeeper) -> UnitOut:
    """Create a unit of a station, available."""
    with session.begin():
        actions.check_add_unit(session, body, actor)
        unit = actions.do_add_unit(session, body, actor)
        out = unit_out(unit)
    return out


@router.get("/units", response_model=list[UnitOut])
def list_units(session: DbSession, actor: Reader) -> list[UnitOut]:
    """The units of the caller's view, with their states and last positions."""
    with session.begin():
        return [unit_out(u) for u in queries.list_units(session, actor)]


@router.post("/units/{unit_id}/moves", response_model=UnitOut)
def move_unit(unit_id: int, body: UnitMoveIn, session: DbSession, actor: Responder) -> UnitOut:
    """Move a unit along its state machine: assign (to `incident_id`), acknowledge, depart, arrive,
    clear (with its feedback in `note`), release, off duty, on duty. A move the transition table does
    not allow from the unit's state is 409, naming the state."""
    with session.begin():
        unit = actions.get_unit(session, unit_id, actor, for_update=True)
        incident = None
        if body.incident_id is not None:
            incident = session.execute(
                select(Incident).where(Incident.id == body.incident_id).options(selectinload(Incident.events))
            ).scalar_one_or_none()
            if incident is None:
                raise Invalid(f"no incident {body.incident_id}", field="incident_id")
            check_station(actor, incident.station_code, what=f"incident {body.incident_id}")
        item = actions.UnitMoveRequest(
            unit=unit, move=body.move, actor=actor, incident=incident, note=body.note
        )
        decision = actions.check_move_unit(item)
        actions.do_move_unit(session, item, decision)
        out = unit_out(unit)
    return out


@router.post("/units/{unit_id}/position", response_model=UnitOut)
def record_position(unit_id: int, body: PositionIn, session: DbSession, actor: Responder) -> UnitOut:
    """Store the unit's latest GPS fix (WGS-84)."""
    with session.begin():
        unit = actions.get_unit(session, unit_id, actor, for_update=True)
        actions.do_record_position(session, unit, lat=body.lat, lon=body.lon, fix_at=body.fix_at, actor=actor)
        out = unit_out(unit)
    return out


@router.get("/command/bulletin", response_model=BulletinOut)
def bulletin(
    session: DbSession,
    actor: Reader,
    station_code: Annotated[str, Query(min_length=1, max_length=32)],
    week_start: Annotated[date, Query(ge=date(2000, 1, 3), le=date(2099, 12, 28))],
) -> BulletinOut:
    """A station's weekly 110 bulletin for the Beijing-time week starting `week_start` (a Monday)."""
    check_station(actor, station_code, what=f"station {station_code}")
    if week_start.weekday() != 0:
        raise Invalid("week_start must be a Monday", field="week_start")
    with session.begin():
        b = queries.station_bulletin(
            session, station_code=station_code, week_start=week_start, now=clock.now()
        )
    return bulletin_out(b, station_code=station_code, week_start=week_start)


def bulletin_out(b: rules.Bulletin, *, station_code: str, week_start: date) -> BulletinOut:
    """The bulletin as the API shows it."""

    def share(s: rules.Share) -> ShareOut:
        return ShareOut(within=s.within, total=s.total, percent=s.percent)

    return BulletinOut(
        station_code=station_code,
        week_start=week_start.isoformat(),
        incidents=b.incidents,
        sign_off=share(b.sign_off),
        on_scene=share(b.on_scene),
        feedback=share(b.feedback),
        slowest_units=[
            SlowUnitOut(call_sign=u.call_sign, mean_s=u.mean_s, responses=u.responses)
            for u in b.slowest_units
        ],
    )
