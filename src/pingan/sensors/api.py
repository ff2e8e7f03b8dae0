"""The sensor API (JSON under `/api/v1/sensors`, UTC): the device registry, alarms' outcomes, refused
messages, officer-safety alerts, the audited read of officer positions, and large events with their
zones and their crowd and drone alerts (listed, and closed with a reason)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AwareDatetime

from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import Invalid, NotFound
from pingan.core.roles import Actor
from pingan.sensors import actions, queries
from pingan.sensors.choices import AlertState, EventAlertState, Refusal
from pingan.sensors.model import CrowdAlert, CrowdEvent, CrowdZone, SafetyAlert, SensorAlarm
from pingan.sensors.schemas import (
    ActiveIn,
    AlarmOut,
    AlertCloseIn,
    AlertOut,
    CrowdEventIn,
    CrowdEventOut,
    CrowdZoneEdit,
    CrowdZoneIn,
    CrowdZoneOut,
    DeadLetterOut,
    DeviceCreated,
    DeviceIn,
    DeviceOut,
    EventAlertCloseIn,
    EventAlertOut,
    OutcomeIn,
    PositionOut,
    ZoneRetireIn,
)

router = APIRouter(prefix="/api/v1/sensors", tags=["sensors"])
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Keeper = Annotated[Actor, Depends(require_roles(*actions.DEVICE_KEEPERS))]
Closer = Annotated[Actor, Depends(require_roles(*actions.ALERT_CLOSERS))]
EventCloser = Annotated[Actor, Depends(require_roles(*actions.EVENT_ALERT_CLOSERS))]
PositionReader = Annotated[Actor, Depends(require_roles(*actions.POSITION_READERS))]
ZoneEditor = Annotated[Actor, Depends(require_roles(*actions.ZONE_EDITORS))]
RowPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def device_out(row: queries.DeviceRow) -> DeviceOut:
    """A device as the API shows it, with its false-alarm score."""
    d = row.device
    return DeviceOut(
        id=d.id,
        device_id=d.device_id,
        kind=d.kind,
        community=d.community,
        location=d.location,
        lat=d.lat,
        lon=d.lon,
        owner=d.owner,
        officer=d.officer,
        unit_call_sign=d.unit_call_sign,
        active=d.active,
        false_alarm_score=round(row.score.value, 3),
        outcomes=row.score.outcomes,
    )


def alarm_out(a: SensorAlarm, device_id: str) -> AlarmOut:
    """An alarm as the API shows it."""
    return AlarmOut(
        id=a.id,
        device_id=device_id,
        community=a.community,
        alarm_type=a.alarm_type,
        received_at=a.received_at,
        decision=a.decision,
        priority=a.priority,
        reasons=[r for r in a.reasons.split(",") if r],
        incident_id=a.incident_id,
        outcome=a.outcome,
    )


def alert_out(a: SafetyAlert) -> AlertOut:
    """An alert as the API shows it."""
    return AlertOut(
        id=a.id,
        officer=a.officer,
        unit_call_sign=a.unit_call_sign,
        state=a.state,
        opened_at=a.opened_at,
        lat=a.lat,
        lon=a.lon,
        incident_id=a.incident_id,
        linked_incident_id=a.linked_incident_id,
        events=[e for e in a.events.split(",") if e],
        backup=queries.backup_of(a),
        closed_at=a.closed_at,
        close_reason=a.close_reason,
    )


@router.post("/devices", response_model=DeviceCreated, status_code=201)
def register_device(body: DeviceIn, session: DbSession, actor: Keeper) -> DeviceCreated:
    """Register (whitelist) a device. Its HMAC key is in the answer this once, and stored encrypted."""
    item = actions.NewDevice(device=body, actor=actor)
    with session.begin():
        actions.check_register_device(session, item)
        device, key = actions.do_register_device(session, item, now=clock.now())
        row = queries.device(session, device.id)
        assert row is not None
        return DeviceCreated(**device_out(row).model_dump(), key=key)


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(
    session: DbSession, actor: Reader, community: Annotated[str, Query(max_length=64)] = ""
) -> list[DeviceOut]:
    """Registered devices (of a community), with their false-alarm scores."""
    with session.begin():
        return [device_out(r) for r in queries.devices(session, community=community or None)]


@router.get("/devices/{device_pk}", response_model=DeviceOut)
def get_device(device_pk: RowPath, session: DbSession, actor: Reader) -> DeviceOut:
    """One device with its false-alarm score."""
    with session.begin():
        row = queries.device(session, device_pk)
        if row is None:
            raise NotFound(f"no device {device_pk}", field="device_pk")
        return device_out(row)


@router.post("/devices/{device_pk}/active", response_model=DeviceOut)
def set_active(device_pk: RowPath, body: ActiveIn, session: DbSession, actor: Keeper) -> DeviceOut:
    """Take a device off the whitelist (its messages are refused as unknown), or put it back."""
    with session.begin():
        device = actions.get_device(session, device_pk)
        actions.check_set_active(device, body.active, actor)
        actions.do_set_active(session, device, body.active, actor)
        row = queries.device(session, device_pk)
        assert row is not None
        return device_out(row)


@router.get("/devices/{device_pk}/alarms", response_model=list[AlarmOut])
def device_alarms(device_pk: RowPath, session: DbSession, actor: Reader) -> list[AlarmOut]:
    """A device's latest alarms and what the rules made of each."""
    with session.begin():
        row = queries.device(session, device_pk)
        if row is None:
            raise NotFound(f"no device {device_pk}", field="device_pk")
        return [alarm_out(a, row.device.device_id) for a in queries.device_alarms(session, device_pk)]


@router.post("/alarms/{alarm_id}/outcome", response_model=AlarmOut)
def record_outcome(alarm_id: RowPath, body: OutcomeIn, session: DbSession, actor: Reader) -> AlarmOut:
    """Record what a closed alarm turned out to be (real or false): the scores learn from it."""
    with session.begin():
        alarm = actions.get_alarm(session, alarm_id)
        actions.check_record_outcome(session, alarm, body.outcome, actor)
        actions.do_record_outcome(session, alarm, body.outcome, body.reason, actor)
        row = queries.device(session, alarm.device_pk)
        assert row is not None
        return alarm_out(alarm, row.device.device_id)


@router.get("/dead-letters", response_model=list[DeadLetterOut])
def dead_letters(
    session: DbSession, actor: Reader, reason: Annotated[Refusal | None, Query()] = None
) -> list[DeadLetterOut]:
    """The latest refused messages and why (their content is not shown)."""
    with session.begin():
        return [
            DeadLetterOut(
                id=d.id,
                received_at=d.received_at,
                topic=d.topic,
                device_id=d.device_id,
                reason=d.reason,
                detail=d.detail,
            )
            for d in queries.dead_letters(session, reason=reason)
        ]


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(
    session: DbSession, actor: Reader, state: Annotated[AlertState | None, Query()] = None
) -> list[AlertOut]:
    """Officer-safety alerts, newest first."""
    with session.begin():
        return [alert_out(a) for a in queries.alerts(session, state=state)]


@router.post("/alerts/{alert_id}/close", response_model=AlertOut)
def close_alert(alert_id: RowPath, body: AlertCloseIn, session: DbSession, actor: Closer) -> AlertOut:
    """Close an active alert: resolved (the officer is safe) or false_alarm, with the reason."""
    with session.begin():
        alert = actions.get_alert(session, alert_id)
        actions.check_close_alert(alert, body.state, body.reason, actor)
        actions.do_close_alert(session, alert, body.state, body.reason, actor, now=clock.now())
        return alert_out(alert)


@router.get("/positions", response_model=list[PositionOut])
def positions(
    session: DbSession,
    actor: PositionReader,
    unit: Annotated[str, Query(min_length=1, max_length=32)],
    since: Annotated[AwareDatetime, Query()],
    purpose: Annotated[str, Query(min_length=1, max_length=255, description="why they are read")],
    until: Annotated[AwareDatetime | None, Query()] = None,
) -> list[PositionOut]:
    """A unit's reported positions in a time range. Every read is audited with its purpose."""
    end: datetime = until or clock.now()
    if end <= since:
        raise Invalid("until comes after since", field="until")
    if not purpose.strip():
        raise Invalid("say why the positions are read", field="purpose")
    with session.begin():
        rows = queries.positions(session, unit, since=since, until=end)
        audit.record(
            session,
            actor=actor,
            action="sensor.positions_read",
            object_type="unit",
            object_id=unit,
            purpose=purpose,
            detail={"since": since.isoformat(), "until": end.isoformat(), "count": len(rows)},
        )
        return [
            PositionOut(unit_call_sign=p.unit_call_sign, lat=p.lat, lon=p.lon, fix_at=p.fix_at) for p in rows
        ]


# ------------------------------------------------------------------------------------- large events


def event_out(session: DbSession, event: CrowdEvent) -> CrowdEventOut:
    """An event with its zones, as the API shows it."""
    return CrowdEventOut(
        id=event.id, code=event.code, name=event.name, starts_at=event.starts_at, ends_at=event.ends_at,
        zones=[zone_out(z) for z in queries.event_zones(session, event.id)],
    )  # fmt: skip


def zone_out(z: CrowdZone) -> CrowdZoneOut:
    """A zone as the API shows it."""
    return CrowdZoneOut(
        id=z.id, code=z.code, name=z.name, polygon=json.loads(z.polygon), capacity=z.capacity, no_fly=z.no_fly,
        watch_pct=z.watch_pct, control_pct=z.control_pct, over_pct=z.over_pct, level=z.level,
        last_count=z.last_count, counted_at=z.counted_at, retired_at=z.retired_at, retired_by=z.retired_by,
        retire_note=z.retire_note,
    )  # fmt: skip


@router.post("/events", status_code=201)
def create_event(body: CrowdEventIn, session: DbSession, actor: Keeper) -> CrowdEventOut:
    """Create a large event to watch (赛事/展会); add its zones next."""
    with session.begin():
        actions.check_create_event(session, body, actor)
        event = actions.do_create_event(session, body, actor, now=clock.now())
        return event_out(session, event)


@router.post("/events/{event_id}/zones", status_code=201)
def add_zone(event_id: RowPath, body: CrowdZoneIn, session: DbSession, actor: Keeper) -> CrowdEventOut:
    """Add a zone to the event: a polygon with its capacity, or a no-fly geofence for drones."""
    with session.begin():
        event = actions.get_event(session, event_id)
        actions.check_add_zone(session, event, body, actor)
        actions.do_add_zone(session, event, body, actor)
        return event_out(session, event)


@router.patch("/zones/{zone_id}", response_model=CrowdZoneOut)
def update_zone(zone_id: RowPath, body: CrowdZoneEdit, session: DbSession, actor: ZoneEditor) -> CrowdZoneOut:
    """Edit a zone: its name, polygon, capacity or thresholds (what is given changes). A retired zone
    is a 409; a bad polygon or thresholds out of order a 422 naming the field."""
    with session.begin():
        item = actions.ZoneEdit(zone=actions.get_zone(session, zone_id), change=body, actor=actor)
        actions.check_update_zone(item)
        return zone_out(actions.do_update_zone(session, item, now=clock.now()))


@router.post("/zones/{zone_id}/retire", response_model=CrowdZoneOut)
def retire_zone(zone_id: RowPath, body: ZoneRetireIn, session: DbSession, actor: ZoneEditor) -> CrowdZoneOut:
    """Retire a zone, with a note: kept with its alerts' history, off the map, raising nothing; its
    counts are refused. A zone with an active alert, or retired already, is a 409."""
    with session.begin():
        item = actions.ZoneRetirement(zone=actions.get_zone(session, zone_id), note=body.note, actor=actor)
        actions.check_retire_zone(session, item)
        return zone_out(actions.do_retire_zone(session, item, now=clock.now()))


@router.delete("/zones/{zone_id}", status_code=204)
def delete_zone(zone_id: RowPath, session: DbSession, actor: ZoneEditor) -> Response:
    """Erase a zone that never raised an alert (one added by mistake); one with alerts in its history
    is a 409: retire it instead."""
    with session.begin():
        zone = actions.get_zone(session, zone_id)
        actions.check_delete_zone(session, zone, actor)
        actions.do_delete_zone(session, zone, actor, now=clock.now())
    return Response(status_code=204)


@router.get("/events/{event_id}")
def get_event(event_id: RowPath, session: DbSession, _actor: Reader) -> CrowdEventOut:
    """An event with its zones."""
    with session.begin():
        return event_out(session, actions.get_event(session, event_id))


def event_alert_out(a: CrowdAlert, zone_code: str) -> EventAlertOut:
    """A large event's alert as the API shows it."""
    return EventAlertOut(
        id=a.id, event_id=a.event_id, zone_id=a.zone_id, zone_code=zone_code, kind=a.kind, level=a.level,
        count=a.count, percent=a.percent, lat=a.lat, lon=a.lon, raised_at=a.raised_at, last_at=a.last_at,
        reports=a.reports, state=a.state, closed_at=a.closed_at, closed_by=a.closed_by, close_note=a.close_note,
    )  # fmt: skip


@router.get("/events/{event_id}/alerts", response_model=list[EventAlertOut])
def list_event_alerts(
    event_id: RowPath,
    session: DbSession,
    _actor: Reader,
    state: Annotated[EventAlertState | None, Query()] = None,
) -> list[EventAlertOut]:
    """An event's crowd and drone alerts, of one state if given (`active`: what waits), newest first."""
    with session.begin():
        actions.get_event(session, event_id)
        rows = queries.event_alerts(session, event_id, state=state)
        codes = queries.zone_codes(session, sorted({a.zone_id for a in rows}))
        return [event_alert_out(a, codes.get(a.zone_id, "")) for a in rows]


@router.post("/event-alerts/{alert_id}/close", response_model=EventAlertOut)
def close_event_alert(
    alert_id: RowPath, body: EventAlertCloseIn, session: DbSession, actor: EventCloser
) -> EventAlertOut:
    """Close an active crowd or drone alert: resolved, false_alarm or handed_over, with a note. It
    leaves the active list and the map; a closed alert is a 409."""
    with session.begin():
        alert = actions.get_event_alert(session, alert_id)
        item = actions.EventAlertClosing(alert=alert, reason=body.reason.value, note=body.note, actor=actor)
        actions.check_close_event_alert(item)
        actions.do_close_event_alert(session, item, now=clock.now())
        return event_alert_out(alert, queries.zone_codes(session, [alert.zone_id]).get(alert.zone_id, ""))
