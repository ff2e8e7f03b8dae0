"""Pages of the sensor link: the device registry (/sensors) and a device with its false-alarm score,
officer-safety alerts (/sensors/alerts), refused messages (/sensors/dead-letters), the alert
rings the live map draws (/sensors/alerts.geojson), and large events (/sensors/events) with their
zones (drawn on a map or pasted as GeoJSON), their alerts, active and closed, and the map's event mode
(/sensors/events.geojson). The events pages follow their alerts live (the `crowd` topic)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import ValidationError

from pingan.core import clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.errors import DomainError, NotFound
from pingan.core.i18n import _, label
from pingan.core.pages import TEMPLATES, form_refusal, page_message, render, run_form
from pingan.core.roles import Actor
from pingan.sensors import actions, queries
from pingan.sensors.choices import (
    COMMUNITY_KINDS,
    EVENT_ALERT_CLOSINGS,
    AlertState,
    DeviceKind,
    HolsterEvent,
    Outcome,
    Refusal,
)
from pingan.sensors.model import CrowdZone
from pingan.sensors.schemas import CrowdEventIn, CrowdZoneEdit, CrowdZoneIn, DeviceIn

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Keeper = Annotated[Actor, Depends(require_roles(*actions.DEVICE_KEEPERS))]
Closer = Annotated[Actor, Depends(require_roles(*actions.ALERT_CLOSERS))]
EventCloser = Annotated[Actor, Depends(require_roles(*actions.EVENT_ALERT_CLOSERS))]
ZoneEditor = Annotated[Actor, Depends(require_roles(*actions.ZONE_EDITORS))]
RowPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def holster_label(value: str) -> str:
    """A holster event's label, from its stored value (an alert keeps its events as text)."""
    try:
        return label(HolsterEvent(value))
    except ValueError:
        return value


TEMPLATES.env.globals["holster_label"] = holster_label


def _devices_page(
    request: Request, session: DbSession, actor: Actor, status: int = 200, **context: object
) -> HTMLResponse:
    with session.begin():
        rows = queries.devices(session)
    return render(
        request,
        "sensors_devices.html",
        status,
        rows=rows,
        kinds=list(DeviceKind),
        community_kinds=COMMUNITY_KINDS,
        can_register=actor.role in actions.DEVICE_KEEPERS,
        **context,
    )


@router.get("/sensors", response_class=HTMLResponse)
def devices_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The device registry (感知源): community, place, kind, owner and each device's false-alarm score."""
    return _devices_page(request, session, actor)


@router.post("/sensors/devices", response_class=HTMLResponse)
def register_device(
    request: Request,
    session: DbSession,
    actor: Keeper,
    _csrf: CsrfChecked,
    device_id: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    community: Annotated[str, Form(max_length=64)] = "",
    location: Annotated[str, Form(max_length=255)] = "",
    lat: Annotated[str, Form(max_length=32)] = "",
    lon: Annotated[str, Form(max_length=32)] = "",
    owner: Annotated[str, Form(max_length=128)] = "",
    officer: Annotated[str, Form(max_length=64)] = "",
    unit_call_sign: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    """Register a device from the form; its key is shown on the answering page, once."""
    values = {
        "device_id": device_id,
        "kind": kind,
        "community": community,
        "location": location,
        "lat": lat,
        "lon": lon,
        "owner": owner,
        "officer": officer,
        "unit_call_sign": unit_call_sign,
    }
    try:
        body = DeviceIn.model_validate({k: v for k, v in values.items() if v != ""})
    except ValidationError as exc:
        return _devices_page(request, session, actor, 422, error=form_refusal(exc), values=values)
    item = actions.NewDevice(device=body, actor=actor)
    try:
        with session.begin():
            actions.check_register_device(session, item)
            device, key = actions.do_register_device(session, item, now=clock.now())
            created = device.device_id
    except DomainError as exc:
        return _devices_page(request, session, actor, exc.status, error=page_message(exc), values=values)
    return _devices_page(request, session, actor, created=created, key=key)


@router.get("/sensors/devices/{device_pk}", response_class=HTMLResponse)
def device_page(request: Request, device_pk: RowPath, session: DbSession, actor: Reader) -> HTMLResponse:
    """One device: its place and owner, its and its community's false-alarm scores, its alarms with
    what the rules made of each and the acknowledgements sent back."""
    with session.begin():
        row = queries.device(session, device_pk)
        if row is None:
            raise NotFound(f"no device {device_pk}", field="device_pk")
        alarms = queries.device_alarms(session, device_pk)
        acks = queries.alarm_acks(session, [a.id for a in alarms])
    return render(
        request,
        "sensors_device.html",
        row=row,
        alarms=alarms,
        acks=acks,
        outcomes=[Outcome.REAL, Outcome.FALSE],
    )


@router.post("/sensors/alarms/{alarm_id}/outcome", response_class=HTMLResponse, response_model=None)
def record_outcome(
    request: Request,
    alarm_id: RowPath,
    session: DbSession,
    actor: Reader,
    _csrf: CsrfChecked,
    outcome: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse | RedirectResponse:
    """Record what a closed alarm turned out to be."""

    def write(_now: datetime) -> str:
        alarm = actions.get_alarm(session, alarm_id)
        try:
            chosen = Outcome(outcome)
        except ValueError:
            chosen = Outcome.UNKNOWN
        actions.check_record_outcome(session, alarm, chosen, actor)
        actions.do_record_outcome(session, alarm, chosen, reason.strip(), actor)
        return f"/sensors/devices/{alarm.device_pk}"

    return run_form(session, write, again=_error_page(request))


@router.get("/sensors/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """Officer-safety alerts (警员安全告警): the active ones first."""
    with session.begin():
        rows = queries.alerts(session)
    rows.sort(key=lambda a: (a.state is not AlertState.ACTIVE, -a.id))
    return render(request, "sensors_alerts.html", rows=rows)


@router.get("/sensors/alerts.geojson")
def alerts_geojson(session: DbSession, actor: Reader) -> JSONResponse:
    """The active alerts with a position: the rings the live map draws."""
    with session.begin():
        return JSONResponse(queries.alert_features(session), media_type="application/geo+json")


@router.get("/sensors/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: RowPath, session: DbSession, actor: Reader) -> HTMLResponse:
    """One alert: the officer, the events it fused, its incident and the officer's, the backup units."""
    with session.begin():
        alert = actions.get_alert(session, alert_id)
        events = queries.alert_events(session, alert_id)
    return render(
        request,
        "sensors_alert.html",
        alert=alert,
        events=events,
        backup=queries.backup_of(alert),
        can_close=actor.role in actions.ALERT_CLOSERS and alert.state is AlertState.ACTIVE,
        closing=[AlertState.RESOLVED, AlertState.FALSE_ALARM],
    )


@router.post("/sensors/alerts/{alert_id}/close", response_class=HTMLResponse, response_model=None)
def close_alert(
    request: Request,
    alert_id: RowPath,
    session: DbSession,
    actor: Closer,
    _csrf: CsrfChecked,
    state: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse | RedirectResponse:
    """Close the alert as resolved or false, with the reason."""

    def write(now: datetime) -> None:
        alert = actions.get_alert(session, alert_id)
        try:
            chosen = AlertState(state)
        except ValueError:
            chosen = AlertState.ACTIVE
        actions.check_close_alert(alert, chosen, reason, actor)
        actions.do_close_alert(session, alert, chosen, reason.strip(), actor, now=now)

    return run_form(session, write, done=f"/sensors/alerts/{alert_id}", again=_error_page(request))


@router.get("/sensors/dead-letters", response_class=HTMLResponse)
def dead_letters_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """Refused messages and why, with the count of each reason."""
    with session.begin():
        rows = queries.dead_letters(session)
    counts = {r: sum(1 for d in rows if d.reason is r) for r in Refusal}
    return render(request, "sensors_dead_letters.html", rows=rows, counts=counts)


# ------------------------------------------------------------------------------------- large events


def _error_page(request: Request) -> Callable[[int, str], HTMLResponse]:
    """A refused form whose page cannot be shown again (the row is gone, or not the actor's to see)."""
    return lambda status, why: render(request, "sensors_error.html", status, error=why)


def _events_page(
    request: Request, session: DbSession, actor: Actor, status: int = 200, **context: object
) -> HTMLResponse:
    with session.begin():
        rows = queries.events(session)
        active = queries.active_alert_counts(session)
    return render(request, "sensors_events.html", status, rows=rows, active=active,
                  can_edit=actor.role in actions.DEVICE_KEEPERS, **context)  # fmt: skip


@router.get("/sensors/events", response_class=HTMLResponse)
def events_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """Large events (赛事/展会) watched for crowd safety, and the form to create one."""
    return _events_page(request, session, actor)


@router.post("/sensors/events", response_class=HTMLResponse, response_model=None)
def create_event(
    request: Request,
    session: DbSession,
    actor: Keeper,
    _csrf: CsrfChecked,
    code: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=128)] = "",
    starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse | RedirectResponse:
    """Create an event from the form (times in Beijing time when they carry no offset)."""
    values = {"code": code, "name": name, "starts_at": starts_at, "ends_at": ends_at}
    raw = {k: v for k, v in values.items() if v != ""}
    for k in ("starts_at", "ends_at"):
        if k in raw and len(raw[k]) <= 16:  # a datetime-local field: minutes, no offset
            raw[k] = f"{raw[k]}:00+08:00"

    def write(now: datetime) -> str:
        body = CrowdEventIn.model_validate(raw)
        actions.check_create_event(session, body, actor)
        return f"/sensors/events/{actions.do_create_event(session, body, actor, now=now).id}"

    return run_form(session, write, again=lambda status, why: _events_page(
        request, session, actor, status, error=why, values=values))  # fmt: skip


def _event_page(
    request: Request, session: DbSession, actor: Actor, event_id: int, status: int = 200, **context: object
) -> HTMLResponse:
    with session.begin():
        try:
            event = actions.get_event(session, event_id)
        except NotFound as exc:
            return render(request, "sensors_error.html", 404, error=page_message(exc))
        zones = queries.event_zones(session, event_id)
        alerts = queries.event_alerts_split(session, event_id)
    watched = [z for z in zones if z.retired_at is None]
    return render(request, "sensors_event.html", status, event=event, zones=watched, alerts=alerts,
                  retired=[z for z in zones if z.retired_at is not None],
                  zone_names={z.id: z.name for z in zones}, can_edit=actor.role in actions.DEVICE_KEEPERS,
                  can_edit_zones=actor.role in actions.ZONE_EDITORS,
                  can_close=actor.role in actions.EVENT_ALERT_CLOSERS, closings=EVENT_ALERT_CLOSINGS,
                  zones_geojson=_zones_geojson(watched), **context)  # fmt: skip


def _zones_geojson(zones: list[CrowdZone]) -> str:
    """The zones drawn under the drawing map, so that a new one is drawn beside them (GeoJSON)."""
    shown = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": json.loads(z.polygon)},
         "properties": {"code": z.code, "no_fly": z.no_fly}} for z in zones]}  # fmt: skip
    return json.dumps(shown, ensure_ascii=False)


def _polygon_coordinates(polygon: str) -> object:
    """The coordinates of a polygon as the form sends it: its `coordinates`, or a whole Polygon geometry
    or Feature (None when empty; ValueError when not JSON). The schema checks what they are."""
    parsed = json.loads(polygon) if polygon.strip() else None
    if isinstance(parsed, dict):  # a Feature or a Polygon geometry: its coordinates
        geometry = parsed.get("geometry", parsed)
        parsed = geometry.get("coordinates") if isinstance(geometry, dict) else None
    return parsed


@router.get("/sensors/events/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, event_id: RowPath, session: DbSession, actor: Reader) -> HTMLResponse:
    """An event: its zones with their level and last count, its alerts, and the form to add a zone."""
    return _event_page(request, session, actor, event_id)


@router.post("/sensors/event-alerts/{alert_id}/close", response_class=HTMLResponse, response_model=None)
def close_event_alert(
    request: Request,
    alert_id: RowPath,
    session: DbSession,
    actor: EventCloser,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse | RedirectResponse:
    """Close a crowd or drone alert from the event page: how it ended and a note, both required."""
    try:
        with session.begin():
            alert = actions.get_event_alert(session, alert_id)
            event_id = alert.event_id
            item = actions.EventAlertClosing(alert=alert, reason=reason, note=note, actor=actor)
            actions.check_close_event_alert(item)
            actions.do_close_event_alert(session, item, now=clock.now())
    except NotFound as exc:
        return render(request, "sensors_error.html", exc.status, error=page_message(exc))
    except DomainError as exc:
        return _event_page(request, session, actor, event_id, exc.status, error=page_message(exc),
                           closing={"alert_id": alert_id, "reason": reason, "note": note})  # fmt: skip
    return RedirectResponse(f"/sensors/events/{event_id}#event-alerts", status_code=303)


@router.post("/sensors/events/{event_id}/zones", response_class=HTMLResponse, response_model=None)
def add_zone(
    request: Request,
    event_id: RowPath,
    session: DbSession,
    actor: Keeper,
    _csrf: CsrfChecked,
    code: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=128)] = "",
    polygon: Annotated[str, Form(max_length=100_000)] = "",
    capacity: Annotated[str, Form(max_length=12)] = "",
    no_fly: Annotated[str, Form(max_length=5)] = "",
    watch_pct: Annotated[str, Form(max_length=6)] = "",
    control_pct: Annotated[str, Form(max_length=6)] = "",
    over_pct: Annotated[str, Form(max_length=6)] = "",
) -> HTMLResponse | RedirectResponse:
    """Add a zone from the form: a GeoJSON Polygon (its `coordinates`, or the whole geometry or
    feature) pasted or drawn, with a capacity and thresholds (70/90/100 % when left empty), or ticked
    as a no-fly zone."""
    values = {"code": code, "name": name, "polygon": polygon, "capacity": capacity, "no_fly": no_fly,
              "watch_pct": watch_pct, "control_pct": control_pct, "over_pct": over_pct}  # fmt: skip
    try:
        parsed = _polygon_coordinates(polygon)
    except ValueError:
        return _event_page(request, session, actor, event_id, 422, values=values,
                           error=_("polygon: not JSON (paste a GeoJSON Polygon)"))  # fmt: skip
    raw: dict[str, object] = {"code": code, "name": name, "polygon": parsed, "no_fly": no_fly == "on"}
    for k in ("capacity", "watch_pct", "control_pct", "over_pct"):
        if values[k].strip():
            raw[k] = values[k].strip()

    def write(_now: datetime) -> None:
        body = CrowdZoneIn.model_validate({k: v for k, v in raw.items() if v not in ("", None)})
        event = actions.get_event(session, event_id)
        actions.check_add_zone(session, event, body, actor)
        actions.do_add_zone(session, event, body, actor)

    return run_form(session, write, done=f"/sensors/events/{event_id}", again=lambda status, why: _event_page(
        request, session, actor, event_id, status, error=why, values=values))  # fmt: skip


def _zone_page(
    request: Request, session: DbSession, actor: Actor, zone_id: int, status: int = 200, **context: object
) -> HTMLResponse:
    with session.begin():
        try:
            zone = actions.get_zone(session, zone_id)
        except NotFound as exc:
            return render(request, "sensors_error.html", 404, error=page_message(exc))
        event = actions.get_event(session, zone.event_id)
        others = [
            z for z in queries.event_zones(session, zone.event_id) if z.retired_at is None and z.id != zone.id
        ]
        history = queries.zone_alert_counts(session, zone.event_id).get(zone.id, 0)
    values = context.pop("values", None) or {
        "name": zone.name, "polygon": json.dumps(json.loads(zone.polygon)), "capacity": str(zone.capacity),
        "watch_pct": str(zone.watch_pct), "control_pct": str(zone.control_pct), "over_pct": str(zone.over_pct),
    }  # fmt: skip
    context.setdefault("retire_note", "")
    return render(request, "sensors_zone.html", status, zone=zone, event=event, history=history,
                  values=values, zones_geojson=_zones_geojson(others), **context)  # fmt: skip


@router.get("/sensors/zones/{zone_id}", response_class=HTMLResponse)
def zone_page(request: Request, zone_id: RowPath, session: DbSession, actor: ZoneEditor) -> HTMLResponse:
    """A zone to edit on the map (or as GeoJSON), with its name, capacity and thresholds, and the form
    to retire it (or to delete it, when it never raised an alert)."""
    return _zone_page(request, session, actor, zone_id)


@router.post("/sensors/zones/{zone_id}", response_class=HTMLResponse, response_model=None)
def update_zone(
    request: Request,
    zone_id: RowPath,
    session: DbSession,
    actor: ZoneEditor,
    _csrf: CsrfChecked,
    name: Annotated[str, Form(max_length=128)] = "",
    polygon: Annotated[str, Form(max_length=100_000)] = "",
    capacity: Annotated[str, Form(max_length=12)] = "",
    watch_pct: Annotated[str, Form(max_length=6)] = "",
    control_pct: Annotated[str, Form(max_length=6)] = "",
    over_pct: Annotated[str, Form(max_length=6)] = "",
) -> HTMLResponse | RedirectResponse:
    """Save a zone's edit from its page, through the API's write path (`check_update_zone`)."""
    values = {"name": name, "polygon": polygon, "capacity": capacity, "watch_pct": watch_pct,
              "control_pct": control_pct, "over_pct": over_pct}  # fmt: skip
    try:
        parsed = _polygon_coordinates(polygon)
    except ValueError:
        return _zone_page(request, session, actor, zone_id, 422, values=values,
                          error=_("polygon: not JSON (paste a GeoJSON Polygon)"))  # fmt: skip
    raw = {k: v.strip() for k, v in values.items() if k != "polygon" and v.strip()}

    def write(now: datetime) -> str:
        change = CrowdZoneEdit.model_validate({**raw, "polygon": parsed} if parsed is not None else raw)
        item = actions.ZoneEdit(zone=actions.get_zone(session, zone_id), change=change, actor=actor)
        actions.check_update_zone(item)
        return f"/sensors/events/{actions.do_update_zone(session, item, now=now).event_id}"

    return run_form(session, write, again=lambda status, why: _zone_page(
        request, session, actor, zone_id, status, error=why, values=values))  # fmt: skip


@router.post("/sensors/zones/{zone_id}/retire", response_class=HTMLResponse, response_model=None)
def retire_zone(
    request: Request,
    zone_id: RowPath,
    session: DbSession,
    actor: ZoneEditor,
    _csrf: CsrfChecked,
    note: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse | RedirectResponse:
    """Retire a zone from its page, with a note (`check_retire_zone`)."""

    def write(now: datetime) -> str:
        item = actions.ZoneRetirement(zone=actions.get_zone(session, zone_id), note=note, actor=actor)
        actions.check_retire_zone(session, item)
        return f"/sensors/events/{actions.do_retire_zone(session, item, now=now).event_id}"

    return run_form(session, write, again=lambda status, why: _zone_page(
        request, session, actor, zone_id, status, error=why, retire_note=note))  # fmt: skip


@router.post("/sensors/zones/{zone_id}/delete", response_class=HTMLResponse, response_model=None)
def delete_zone(
    request: Request, zone_id: RowPath, session: DbSession, actor: ZoneEditor, _csrf: CsrfChecked
) -> HTMLResponse | RedirectResponse:
    """Delete a zone that never raised an alert, from its page (`check_delete_zone`)."""

    def write(now: datetime) -> str:
        zone = actions.get_zone(session, zone_id)
        event_id = zone.event_id
        actions.check_delete_zone(session, zone, actor)
        actions.do_delete_zone(session, zone, actor, now=now)
        return f"/sensors/events/{event_id}"

    return run_form(session, write, again=lambda status, why: _zone_page(
        request, session, actor, zone_id, status, error=why))  # fmt: skip


@router.get("/sensors/events.geojson")
def events_geojson(session: DbSession, actor: Reader) -> JSONResponse:
    """The command map's event mode: the running events' zones by level, and drone reports."""
    with session.begin():
        return JSONResponse(
            queries.event_features(session, now=clock.now()), media_type="application/geo+json"
        )
