"""Pages of the command platform: the dispatcher's queue (/command), the call-taker's form, an
incident with its 110 clock chain, the units, and the weekly bulletin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from pingan.command import actions, address, bulletin_files, classify, queries, rules
from pingan.command.categories import catalogue
from pingan.command.choices import Disposition, Priority, UnitMove, UnitState
from pingan.command.model import Incident, Unit
from pingan.command.schemas import IncidentIn
from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.downloads import BulletinFormat, bulletin_response, record_bulletin_export
from pingan.core.errors import DomainError, Invalid, NotFound
from pingan.core.org import all_stations
from pingan.core.pages import render
from pingan.core.roles import Actor
from pingan.core.scoping import (
    NO_STATION_MESSAGE,
    check_station,
    no_station,
    record_list_read,
)

router = APIRouter(include_in_schema=False)
# How many available units an incident's page offers to dispatch: its station's, then the nearest.
OFFER = 8
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
CallTaker = Annotated[Actor, Depends(require_roles(*actions.CALL_TAKERS))]
Signer = Annotated[Actor, Depends(require_roles(*actions.SIGNERS))]
Dispatcher = Annotated[Actor, Depends(require_roles(*actions.DISPATCHERS))]
Responder = Annotated[Actor, Depends(require_roles(*actions.RESPONDERS))]
CaseWorker = Annotated[Actor, Depends(require_roles(*actions.CASE_WORKERS))]

CALL_FIELDS = (
    "caller_phone",
    "caller_name",
    "text",
    "category_code",
    "priority",
    "address",
    "lat",
    "lon",
    "station_code",
    "disposition",
    "related_incident_id",
    "disposition_reason",
)


@router.get("/command", response_class=HTMLResponse)
def queue_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The dispatcher's queue: open incidents by priority with their live clocks, and the units'
    states. The read is audited."""
    now = clock.now()
    with session.begin():
        rows = queries.open_queue(session, actor, now=now)
        units = queries.list_units(session, actor)
        record_list_read(
            session, actor=actor, listing="incident", filters={"status": "open"}, count=len(rows)
        )
    by_state = {s: sum(1 for u in units if u.state is s) for s in UnitState}
    scope_error = NO_STATION_MESSAGE if no_station(actor) else None
    return render(
        request,
        "command_queue.html",
        rows=rows,
        by_state=by_state,
        now=now,
        scope_error=scope_error,
        can_take_calls=actor.role in actions.CALL_TAKERS,
    )


def _call_form(
    request: Request,
    status: int = 200,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    suggestion: rules.AttachSuggestion | None = None,
    suggested: Incident | None = None,
) -> HTMLResponse:
    return render(
        request,
        "command_call.html",
        status,
        values=values or {},
        error=error,
        suggestion=suggestion,
        suggested=suggested,
        categories=catalogue().leaves(),
        priorities=list(Priority),
        cat=catalogue(),
        classified=_classified((values or {}).get("text", "")),
        trained=classify.loaded_model("incident") is not None,
    )


def _classified(text: str) -> classify.Classification | None:
    """The classifier's suggested 类型 for a call text; None without a trained model or text."""
    model = classify.loaded_model("incident")
    return model.classify(text) if model is not None and text.strip() else None


@router.post("/command/calls/suggest", response_class=HTMLResponse)
def suggest_category(
    request: Request,
    actor: CallTaker,
    _csrf: CsrfChecked,
    text: Annotated[str, Form(max_length=4000)] = "",
) -> HTMLResponse:
    """The classifier's suggestion for the text typed so far (htmx fragment); the person decides."""
    return render(
        request,
        "_category_suggestion.html",
        classified=_classified(text),
        trained=classify.loaded_model("incident") is not None,
        cat=catalogue(),
    )


@router.get("/command/calls/new", response_class=HTMLResponse)
def call_form(request: Request, actor: CallTaker) -> HTMLResponse:
    """The call-taker's form."""
    return _call_form(request)


def _parse_call(values: dict[str, str]) -> IncidentIn:
    data: dict[str, object] = {k: v for k, v in values.items() if v != "" and k in CALL_FIELDS}
    return IncidentIn.model_validate(data)


@router.post("/command/calls", response_class=HTMLResponse, response_model=None)
def take_call(
    request: Request,
    session: DbSession,
    actor: CallTaker,
    _csrf: CsrfChecked,
    caller_phone: Annotated[str, Form(max_length=32)] = "",
    caller_name: Annotated[str, Form(max_length=64)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    category_code: Annotated[str, Form(max_length=8)] = "",
    priority: Annotated[str, Form(max_length=2)] = "",
    address: Annotated[str, Form(max_length=255)] = "",
    lat: Annotated[str, Form(max_length=32)] = "",
    lon: Annotated[str, Form(max_length=32)] = "",
    disposition: Annotated[str, Form(max_length=16)] = "",
    related_incident_id: Annotated[str, Form(max_length=12)] = "",
    disposition_reason: Annotated[str, Form(max_length=255)] = "",
    suggested_type: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse | RedirectResponse:
    """Take a call. With no disposition chosen, a likely open incident is suggested first and the
    call-taker confirms: attach the call to it, or open a new incident."""
    values = {
        "caller_phone": caller_phone,
        "caller_name": caller_name,
        "text": text,
        "category_code": category_code,
        "priority": priority,
        "address": address,
        "lat": lat,
        "lon": lon,
        "disposition": disposition,
        "related_incident_id": related_incident_id,
        "disposition_reason": disposition_reason,
    }
    try:
        call = _parse_call(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return _call_form(request, 422, values=values, error=f"{field}: {first.get('msg', 'invalid')}")
    item = actions.NewCall(call=call, actor=actor)
    try:
        with session.begin():
            related = actions.check_take_call(session, item)
            if not disposition:
                suggestion = queries.attach_suggestion(
                    session,
                    category_code=call.category_code,
                    lat=call.lat,
                    lon=call.lon,
                    received_at=clock.now(),
                )
                if suggestion.incident_id is not None:
                    suggested = queries.incident_detail(session, suggestion.incident_id)
                    return _call_form(request, values=values, suggestion=suggestion, suggested=suggested)
            incident = actions.do_take_call(session, item, related=related)
            session.flush()
            target = incident.related_incident_id if call.disposition is Disposition.ATTACHED else incident.id
    except DomainError as exc:
        return _call_form(request, 422, values=values, error=str(exc))
    _record_override(call, suggested_type, actor)
    return RedirectResponse(f"/command/incidents/{target}", status_code=303)


def _record_override(call: IncidentIn, suggested_type: str, actor: Actor) -> None:
    """The dispatcher's category is final; one whose 类型 differs from the suggestion is logged as
    training data (`classify.record_override`)."""
    model = classify.loaded_model("incident")
    if model is None or not suggested_type or not call.category_code or not call.text.strip():
        return
    chosen = call.category_code[:4]
    if chosen in model.labels:
        classify.record_override(
            "incident", call.text, suggested_type, chosen, by=actor.username, chosen_code=call.category_code
        )


def _incident_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    incident_id: int,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    now = clock.now()
    with session.begin():
        incident = queries.incident_detail(session, incident_id) if 1 <= incident_id <= MAX_ROW_ID else None
        if incident is None:
            raise NotFound(f"no incident {incident_id}", field="incident_id")
        check_station(actor, incident.station_code, what=f"incident {incident_id}")
        audit.record(
            session, actor=actor, action="incident.read", object_type="incident", object_id=incident.id
        )
        chain = actions.chain_of(incident, now=now)
        case_clock = actions.case_clock_of(incident, now=now)
        loot = queries.loot_of(session, incident.id) if case_clock is not None else []
        units = list(
            session.execute(
                select(Unit).where(Unit.incident_id == incident.id).order_by(Unit.call_sign)
            ).scalars()
        )
        offer = (
            queries.units_for_assignment(session, actor, incident)
            if actor.role in actions.DISPATCHERS
            else []
        )
        calls = queries.related_calls(session, incident.id)
        # The log names the unit of each unit step, also once it has left the incident.
        logged = {e.unit_id for e in incident.events if e.unit_id is not None}
        call_signs = dict(
            session.execute(select(Unit.id, Unit.call_sign).where(Unit.id.in_(logged))).all()
            if logged
            else []
        )
    # The buttons are the moves the table allows from each unit's state that this reader may make.
    mine = {m for m in UnitMove if m is not UnitMove.GO_OFF_DUTY}
    if actor.role not in actions.DISPATCHERS:
        mine -= actions.DISPATCHER_MOVES
    moves = {u.id: [m for m in rules.UNIT_TRANSITIONS[u.state] if m in mine] for u in units}
    return render(
        request,
        "command_incident.html",
        status,
        incident=incident,
        chain=chain,
        units=units,
        offer=offer,
        calls=calls,
        call_signs=call_signs,
        moves=moves,
        cat=catalogue(),
        parts=address.parse(incident.address) if incident.address.strip() else None,
        error=error,
        now=now,
        can_sign=actor.role in actions.SIGNERS,
        can_assign=actor.role in actions.DISPATCHERS,
        case_clock=case_clock,
        loot=loot,
        can_work_case=actor.role in actions.CASE_WORKERS,
    )


@router.get("/command/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: int, session: DbSession, actor: Reader) -> HTMLResponse:
    """One incident: the call (caller masked), its 110 clock chain in Beijing time with breaches,
    its units and what may be done next. The read is audited."""
    return _incident_page(request, session, actor, incident_id)


@router.post("/command/incidents/{incident_id}/sign-off", response_class=HTMLResponse, response_model=None)
def sign_off(
    request: Request, incident_id: int, session: DbSession, actor: Signer, _csrf: CsrfChecked
) -> HTMLResponse | RedirectResponse:
    """Sign the incident off (签收) now."""
    try:
        with session.begin():
            incident = actions.get_incident(session, incident_id, actor, for_update=True)
            actions.check_sign_off(incident, actor)
            actions.do_sign_off(session, incident, actor)
    except DomainError as exc:
        return _incident_page(request, session, actor, incident_id, status=exc.status, error=str(exc))
    return RedirectResponse(f"/command/incidents/{incident_id}", status_code=303)


def _fen(yuan: str, field: str) -> int:
    """Yuan typed on a form (up to two decimals) in fen; anything else is refused naming the field."""
    try:
        value = Decimal(yuan.strip().replace(",", ""))
    except InvalidOperation:
        raise Invalid(f"{yuan!r} is not an amount in yuan", field=field) from None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")) or value > 10**10:
        raise Invalid(f"{yuan!r} is not a positive amount in yuan with at most two decimals", field=field)
    return int(value * 100)


@router.post("/command/incidents/{incident_id}/case-solved", response_class=HTMLResponse, response_model=None)
def solve_case(
    request: Request,
    incident_id: int,
    session: DbSession,
    actor: CaseWorker,
    _csrf: CsrfChecked,
    note: Annotated[str, Form(min_length=1, max_length=2000)],
) -> HTMLResponse | RedirectResponse:
    """Mark a property crime's case solved (破案) now."""
    try:
        with session.begin():
            incident = actions.get_incident(session, incident_id, actor, for_update=True)
            actions.check_solve_case(incident, actor)
            actions.do_solve_case(session, incident, actor, note=note)
    except DomainError as exc:
        return _incident_page(request, session, actor, incident_id, status=exc.status, error=str(exc))
    return RedirectResponse(f"/command/incidents/{incident_id}#case-clock-title", status_code=303)


@router.post("/command/incidents/{incident_id}/loot", response_class=HTMLResponse, response_model=None)
def record_loot(
    request: Request,
    incident_id: int,
    session: DbSession,
    actor: CaseWorker,
    _csrf: CsrfChecked,
    item: Annotated[str, Form(min_length=1, max_length=200)],
    value_lost_yuan: Annotated[str, Form(max_length=32)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Add an item taken to a property crime's loot-recovery record."""
    try:
        with session.begin():
            incident = actions.get_incident(session, incident_id, actor, for_update=True)
            actions.check_record_loot(incident, actor)
            fen = _fen(value_lost_yuan, "value_lost_yuan")
            actions.do_record_loot(session, incident, actor, item=item, value_lost_fen=fen, note=note)
    except DomainError as exc:
        return _incident_page(request, session, actor, incident_id, status=exc.status, error=str(exc))
    return RedirectResponse(f"/command/incidents/{incident_id}#case-clock-title", status_code=303)


@router.post(
    "/command/incidents/{incident_id}/loot/{loot_id}/recoveries",
    response_class=HTMLResponse,
    response_model=None,
)
def recover_loot(
    request: Request,
    incident_id: int,
    loot_id: int,
    session: DbSession,
    actor: CaseWorker,
    _csrf: CsrfChecked,
    value_recovered_yuan: Annotated[str, Form(max_length=32)],
) -> HTMLResponse | RedirectResponse:
    """Record value recovered of a loot item (追赃)."""
    try:
        with session.begin():
            incident = actions.get_incident(session, incident_id, actor, for_update=True)
            loot = actions.get_loot(session, incident, loot_id)
            fen = _fen(value_recovered_yuan, "value_recovered_yuan")
            actions.check_recover_loot(incident, loot, actor, fen)
            actions.do_recover_loot(session, loot, actor, value_recovered_fen=fen)
    except DomainError as exc:
        return _incident_page(request, session, actor, incident_id, status=exc.status, error=str(exc))
    return RedirectResponse(f"/command/incidents/{incident_id}#case-clock-title", status_code=303)


@router.post("/command/units/{unit_id}/moves", response_class=HTMLResponse, response_model=None)
def move_unit(
    request: Request,
    unit_id: int,
    session: DbSession,
    actor: Responder,
    _csrf: CsrfChecked,
    move: Annotated[UnitMove, Form()],
    incident_id: Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Move a unit from a page: assign it to the incident, or its next step; back to where it came from."""
    back_to = incident_id
    try:
        with session.begin():
            unit = actions.get_unit(session, unit_id, actor, for_update=True)
            back_to = incident_id or unit.incident_id
            incident = None
            if move is UnitMove.ASSIGN and incident_id is not None:
                incident = actions.get_incident(session, incident_id, actor)
            item = actions.UnitMoveRequest(unit=unit, move=move, actor=actor, incident=incident, note=note)
            decision = actions.check_move_unit(item)
            actions.do_move_unit(session, item, decision)
    except DomainError as exc:
        if back_to is not None:
            return _incident_page(request, session, actor, back_to, status=exc.status, error=str(exc))
        return _units_page(request, session, actor, status=exc.status, error=str(exc))
    return RedirectResponse(f"/command/incidents/{back_to}" if back_to else "/command/units", status_code=303)


def _units_page(
    request: Request, session: DbSession, actor: Actor, *, status: int = 200, error: str | None = None
) -> HTMLResponse:
    with session.begin():
        units = queries.list_units(session, actor)
    return render(
        request, "command_units.html", status, units=units, error=error, transitions=rules.UNIT_TRANSITIONS
    )


@router.get("/command/units", response_class=HTMLResponse)
def units_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The units of the reader's view with their states; on and off duty."""
    return _units_page(request, session, actor)


@router.get("/command/bulletin", response_class=HTMLResponse)
def bulletin_page(
    request: Request, session: DbSession, actor: Reader, station: str = "", week: str = ""
) -> HTMLResponse:
    """A station's weekly 110 bulletin: sign-off, on-scene and feedback within target, slowest units;
    with links to the same bulletin as PDF and XLSX."""
    today = clock.now().astimezone(queries.BEIJING).date()
    try:
        chosen = queries.monday_of(date.fromisoformat(week)) if week else queries.monday_of(today)
    except ValueError:
        chosen = queries.monday_of(today)
    if not date(2000, 1, 3) <= chosen <= date(2099, 12, 28):
        chosen = queries.monday_of(today)
    with session.begin():
        stations = [s for s in all_stations(session) if actor.sees_station(s.code)]
        code = (
            station
            if any(s.code == station for s in stations)
            else (actor.station_code or (stations[0].code if stations else ""))
        )
        bulletin = (
            queries.station_bulletin(session, station_code=code, week_start=chosen, now=clock.now())
            if code and actor.sees_station(code)
            else None
        )
    return render(
        request,
        "command_bulletin.html",
        stations=stations,
        station=code,
        week=chosen,
        bulletin=bulletin,
        download_query=urlencode({"station": code, "week": chosen.isoformat()}),
    )


def _bulletin_week(raw: str) -> date:
    """The Monday a bulletin download names; Invalid naming `week` otherwise."""
    try:
        week = date.fromisoformat(raw)
    except ValueError:
        raise Invalid("a week is named by its Monday, written YYYY-MM-DD", field="week") from None
    if week.weekday() != 0:
        raise Invalid(f"{week.isoformat()} is not a Monday: a week starts on a Monday", field="week")
    if not date(2000, 1, 3) <= week <= date(2099, 12, 28):
        raise Invalid("a week lies between the years 2000 and 2099", field="week")
    return week


def _bulletin_download(
    session: DbSession, actor: Actor, station: str, week: str, fmt: BulletinFormat
) -> Response:
    """The bulletin of `station` for the week starting `week`, as a PDF or XLSX download, with its audit
    entry (`bulletin.export`, as every export records: filters, format, rows, the reader's scope). The
    file is made inside the transaction, so a file that cannot be made (no CJK font) leaves no entry."""
    monday = _bulletin_week(week)
    check_station(actor, station, what=f"station {station}")
    now = clock.now()
    with session.begin():
        found = next((s for s in all_stations(session) if s.code == station), None)
        if found is None:
            raise NotFound(f"no station {station}", field="station")
        doc = bulletin_files.BulletinFile(
            station_code=station,
            station_name=found.name,
            week_start=monday,
            bulletin=queries.station_bulletin(session, station_code=station, week_start=monday, now=now),
            made_at=now,
        )
        content = bulletin_files.bulletin_pdf(doc) if fmt == "pdf" else bulletin_files.bulletin_xlsx(doc)
        record_bulletin_export(
            session,
            actor=actor,
            object_id=f"{station}:{monday.isoformat()}",
            filters={"station": station, "week": monday.isoformat()},
            fmt=fmt,
            rows=doc.bulletin.incidents,
        )
    return bulletin_response(content, fmt, doc.filename(fmt))


Station = Annotated[str, Query(min_length=1, max_length=32)]
Week = Annotated[str, Query(min_length=1, max_length=10)]


@router.get("/command/bulletin.pdf", response_class=Response)
def bulletin_pdf(session: DbSession, actor: Reader, station: Station, week: Week) -> Response:
    """The weekly bulletin as a PDF (Chinese headings in the system's CJK font), audited."""
    return _bulletin_download(session, actor, station, week, "pdf")


@router.get("/command/bulletin.xlsx", response_class=Response)
def bulletin_xlsx(session: DbSession, actor: Reader, station: Station, week: Week) -> Response:
    """The weekly bulletin as an XLSX sheet, its figures as numbers, audited."""
    return _bulletin_download(session, actor, station, week, "xlsx")
