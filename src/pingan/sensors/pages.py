"""Pages of the sensor link: the device registry (/sensors) and a device with its false-alarm score,
officer-safety alerts (/sensors/alerts), refused messages (/sensors/dead-letters), and the alert
rings the live map draws (/sensors/alerts.geojson)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import ValidationError

from pingan.core import clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.errors import DomainError, NotFound
from pingan.core.i18n import label
from pingan.core.pages import TEMPLATES, page_message, render
from pingan.core.roles import Actor
from pingan.sensors import actions, queries
from pingan.sensors.choices import COMMUNITY_KINDS, AlertState, DeviceKind, HolsterEvent, Outcome, Refusal
from pingan.sensors.schemas import DeviceIn

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Keeper = Annotated[Actor, Depends(require_roles(*actions.DEVICE_KEEPERS))]
Closer = Annotated[Actor, Depends(require_roles(*actions.ALERT_CLOSERS))]
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
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        return _devices_page(request, session, actor, 422, error=f"{field}: {first['msg']}", values=values)
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
    try:
        with session.begin():
            alarm = actions.get_alarm(session, alarm_id)
            device_pk = alarm.device_pk
            try:
                chosen = Outcome(outcome)
            except ValueError:
                chosen = Outcome.UNKNOWN
            actions.check_record_outcome(session, alarm, chosen, actor)
            actions.do_record_outcome(session, alarm, chosen, reason.strip(), actor)
    except DomainError as exc:
        return render(request, "sensors_error.html", exc.status, error=page_message(exc))
    return RedirectResponse(f"/sensors/devices/{device_pk}", status_code=303)


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
    try:
        with session.begin():
            alert = actions.get_alert(session, alert_id)
            try:
                chosen = AlertState(state)
            except ValueError:
                chosen = AlertState.ACTIVE
            actions.check_close_alert(alert, chosen, reason, actor)
            actions.do_close_alert(session, alert, chosen, reason.strip(), actor, now=clock.now())
    except DomainError as exc:
        return render(request, "sensors_error.html", exc.status, error=page_message(exc))
    return RedirectResponse(f"/sensors/alerts/{alert_id}", status_code=303)


@router.get("/sensors/dead-letters", response_class=HTMLResponse)
def dead_letters_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """Refused messages and why, with the count of each reason."""
    with session.begin():
        rows = queries.dead_letters(session)
    counts = {r: sum(1 for d in rows if d.reason is r) for r in Refusal}
    return render(request, "sensors_dead_letters.html", rows=rows, counts=counts)
