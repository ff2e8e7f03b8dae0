"""The only code that writes sensor data. `check_*` validates and authorises; `do_*` writes in the
caller's transaction and audits there.

Incidents and unit positions are written through `pingan.command.actions`, the command package's
one write path: an alarm becomes an incident exactly as a 110 call does.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pingan.command import actions as command_actions
from pingan.command import queries as command_queries
from pingan.command import recommend
from pingan.command.choices import IncidentEventKind, IncidentStatus, Priority, UnitMove
from pingan.command.schemas import IncidentIn
from pingan.core import audit, clock, events
from pingan.core.auth import User
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.logging import get_logger
from pingan.core.pii import open_secret, seal_secret
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings
from pingan.sensors import rules
from pingan.sensors.choices import (
    COMMUNITY_KINDS,
    AckState,
    AlarmDecision,
    AlertState,
    DeviceKind,
    HolsterEvent,
    Outcome,
    Refusal,
)
from pingan.sensors.model import (
    DeadLetter,
    Device,
    HolsterLog,
    OfficerPosition,
    SafetyAlert,
    SensorAck,
    SensorAlarm,
)
from pingan.sensors.schemas import DeviceIn

log = get_logger("sensors")

DEVICE_KEEPERS = frozenset({Role.DISPATCHER, Role.ADMIN, Role.SYSTEM})
READERS = frozenset({Role.DISPATCHER, Role.SUPERVISOR})
# Who closes an officer-safety alert: the command centre, which raised the backup.
ALERT_CLOSERS = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.SYSTEM})
POSITION_READERS = frozenset({Role.DISPATCHER, Role.SUPERVISOR})
INGEST = Actor.system("sensors-ingest")
KEY_PURPOSE = "sensor_device_key"

ALARM_ACTION = "sensor.alarm"
ALERT_ACTION = "safety.alert"
ALERT_EVENT_ACTION = "safety.alert_event"
ALERT_CLOSE_ACTION = "safety.close"
EVENT_ALERT_RAISED = "sensors.safety_alert_raised"
BACKUP_UNITS = 3


def _authorise(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role.value} may not {what}")


# ----------------------------------------------------------------------------------------- registry


@dataclass(frozen=True, kw_only=True)
class NewDevice:
    """A device to register, as `check_register_device` and `do_register_device` both take it."""

    device: DeviceIn
    actor: Actor


def check_register_device(session: Session, item: NewDevice) -> None:
    """A new device id; a community device in a community, a holster with its officer and unit."""
    _authorise(item.actor, DEVICE_KEEPERS, "register devices")
    d = item.device
    if session.execute(select(Device.id).where(Device.device_id == d.device_id)).first() is not None:
        raise Conflict(f"device {d.device_id!r} is registered already", field="device_id")
    if d.kind in COMMUNITY_KINDS and d.community in rules.RESERVED_COMMUNITIES:
        raise Invalid(f"{d.community!r} is reserved for officer devices", field="community")
    if d.kind is DeviceKind.HOLSTER and not (d.officer and d.unit_call_sign):
        raise Invalid("a holster names its officer and their unit", field="officer")
    if d.kind is DeviceKind.UNIT_TRACKER and not d.unit_call_sign:
        raise Invalid("a tracker names its unit", field="unit_call_sign")
    if d.unit_call_sign and command_queries.unit_by_call_sign(session, d.unit_call_sign) is None:
        raise Invalid(f"no unit {d.unit_call_sign!r}", field="unit_call_sign")
    if d.officer and session.execute(select(User.id).where(User.username == d.officer)).first() is None:
        raise Invalid(f"no user {d.officer!r}", field="officer")
    if (d.lat is None) != (d.lon is None):
        raise Invalid("give both lat and lon, or neither", field="lon" if d.lon is None else "lat")


def do_register_device(session: Session, item: NewDevice, *, now: datetime) -> tuple[Device, str]:
    """Register the device; returns it and its HMAC key in hex (kept only encrypted)."""
    d = item.device
    key = (d.key or secrets.token_hex(32)).lower()
    device = Device(
        device_id=d.device_id,
        kind=d.kind,
        community=d.community,
        location=d.location,
        lat=d.lat,
        lon=d.lon,
        owner=d.owner,
        officer=d.officer,
        unit_call_sign=d.unit_call_sign,
        key_cipher=seal_secret(KEY_PURPOSE, key),
        active=True,
        last_seq=0,
        created_at=now,
    )
    session.add(device)
    session.flush()
    audit.record(
        session,
        actor=item.actor,
        action="sensor.device_register",
        object_type="sensor_device",
        object_id=device.id,
        detail={"device_id": d.device_id, "kind": d.kind.value, "community": d.community},
    )
    return device, key


def get_device(session: Session, device_pk: int) -> Device:
    """One device (NotFound naming it)."""
    device = session.get(Device, device_pk)
    if device is None:
        raise NotFound(f"no device {device_pk}", field="device_pk")
    return device


def check_set_active(device: Device, active: bool, actor: Actor) -> None:
    """A change of the device's place on the whitelist."""
    _authorise(actor, DEVICE_KEEPERS, "change the device whitelist")
    if device.active is active:
        raise Conflict(
            f"device {device.device_id} is {'active' if active else 'inactive'} already", field="active"
        )


def do_set_active(session: Session, device: Device, active: bool, actor: Actor) -> None:
    """Put the device back on the whitelist, or take it off: an inactive device is not heard."""
    device.active = active
    audit.record(
        session,
        actor=actor,
        action="sensor.device_active" if active else "sensor.device_inactive",
        object_type="sensor_device",
        object_id=device.id,
        detail={"device_id": device.device_id},
    )


def device_key(device: Device) -> bytes:
    """The device's HMAC key, decrypted."""
    return bytes.fromhex(open_secret(KEY_PURPOSE, device.key_cipher))


# ------------------------------------------------------------------------------------------- ingest


@dataclass(frozen=True)
class Ingested:
    """What the ingest made of one message: accepted (with what it did) or refused (with why)."""

    accepted: bool
    what: str
    refusal: Refusal | None = None
    alarm_id: int | None = None
    alert_id: int | None = None


def do_dead_letter(
    session: Session, *, topic: str, refused: rules.Refused, raw: bytes, now: datetime
) -> Ingested:
    """Keep a refused message with its reason. A message refused for media keeps no content at all."""
    excerpt = "" if refused.reason is Refusal.FORBIDDEN_MEDIA else raw[:1000].decode("utf-8", "replace")
    session.add(
        DeadLetter(
            received_at=now,
            topic=topic[:255],
            device_id=refused.device[:64],
            reason=refused.reason,
            detail=refused.detail[:255],
            excerpt=excerpt.replace("\x00", ""),
        )
    )
    return Ingested(False, refused.detail, refusal=refused.reason)


def _topic_matches(device: Device, message: rules.Message) -> bool:
    ref = message.topic
    if ref.kind == "alarm":
        return device.kind in COMMUNITY_KINDS and ref.community == device.community
    if ref.kind == "holster":
        return device.kind is DeviceKind.HOLSTER
    return device.kind is DeviceKind.UNIT_TRACKER and ref.unit == device.unit_call_sign


def do_ingest(session: Session, *, topic: str, raw: bytes, now: datetime) -> Ingested:
    """Take one MQTT message: read it, check its device, signature and freshness, then act on it.
    A refusal is kept as a dead letter; nothing else is written for it. Caller holds the transaction."""
    settings = get_settings().sensors
    read = rules.read_message(topic, raw, max_bytes=settings.max_payload_bytes)
    if isinstance(read, rules.Refused):
        return do_dead_letter(session, topic=topic, refused=read, raw=raw, now=now)
    message = read
    if message.topic.device and message.topic.device != message.device:
        refused = rules.Refused(
            Refusal.TOPIC_MISMATCH, f"topic names {message.topic.device!r}", message.device
        )
        return do_dead_letter(session, topic=topic, refused=refused, raw=raw, now=now)
    device = session.execute(
        select(Device).where(Device.device_id == message.device).with_for_update()
    ).scalar_one_or_none()
    if device is None or not device.active:
        refused = rules.Refused(
            Refusal.UNKNOWN_DEVICE, f"{message.device!r} is not registered", message.device
        )
        return do_dead_letter(session, topic=topic, refused=refused, raw=raw, now=now)
    if not _topic_matches(device, message):
        refused = rules.Refused(
            Refusal.TOPIC_MISMATCH,
            f"a {device.kind.value} of {device.community} on this topic",
            message.device,
        )
        return do_dead_letter(session, topic=topic, refused=refused, raw=raw, now=now)
    if not rules.signature_ok(device_key(device), message):
        refused = rules.Refused(
            Refusal.BAD_SIGNATURE, "HMAC-SHA256 does not match the device key", message.device
        )
        return do_dead_letter(session, topic=topic, refused=refused, raw=raw, now=now)
    stale = rules.freshness(message, last_seq=device.last_seq, now=now, window_s=settings.replay_window_s)
    if stale is not None:
        return do_dead_letter(session, topic=topic, refused=stale, raw=raw, now=now)
    device.last_seq = message.seq
    if message.topic.kind == "alarm":
        return _take_alarm(session, device, message, now=now)
    if message.topic.kind == "position":
        return _take_position(session, device, message, now=now)
    return _take_holster(session, device, message, now=now)


# ------------------------------------------------------------------------------------------- alarms


def recent_alarms(session: Session, community: str, *, since: datetime) -> list[rules.RecentAlarm]:
    """The community's alarms accepted since `since`, as the alarm rule reads them."""
    rows = session.execute(
        select(
            Device.device_id,
            SensorAlarm.community,
            SensorAlarm.alarm_type,
            SensorAlarm.received_at,
            SensorAlarm.incident_id,
        )
        .join(Device, Device.id == SensorAlarm.device_pk)
        .where(SensorAlarm.community == community, SensorAlarm.received_at >= since)
    ).all()
    return [rules.RecentAlarm(d, c, t, at, i) for d, c, t, at, i in rows]


def score_of(session: Session, *, device_pk: int | None = None, community: str | None = None) -> rules.Score:
    """The false-alarm score of a device or a community, from its alarms' recorded outcomes."""
    q = select(SensorAlarm.outcome, func.count()).where(SensorAlarm.outcome != Outcome.UNKNOWN)
    if device_pk is not None:
        q = q.where(SensorAlarm.device_pk == device_pk)
    if community is not None:
        q = q.where(SensorAlarm.community == community)
    counts = {o: int(n) for o, n in session.execute(q.group_by(SensorAlarm.outcome)).all()}
    return rules.Score(false=counts.get(Outcome.FALSE, 0), outcomes=sum(counts.values()))


def _ack(session: Session, alarm_id: int, state: AckState, *, now: datetime) -> None:
    exists = session.execute(
        select(SensorAck.id).where(SensorAck.alarm_id == alarm_id, SensorAck.state == state)
    ).first()
    if exists is None:
        session.add(SensorAck(alarm_id=alarm_id, state=state, created_at=now, sent_at=None))


def _take_alarm(session: Session, device: Device, message: rules.Message, *, now: datetime) -> Ingested:
    settings = get_settings().sensors
    assert message.alarm is not None
    window = max(settings.dedup_window_s, settings.confirm_window_s)
    ruling = rules.rule_alarm(
        device=device.device_id,
        community=device.community,
        alarm_type=message.alarm,
        now=now,
        recent=recent_alarms(session, device.community, since=now - timedelta(seconds=window)),
        device_score=score_of(session, device_pk=device.id),
        dedup_window_s=settings.dedup_window_s,
        confirm_window_s=settings.confirm_window_s,
        demote_at=settings.false_alarm_demote_at,
        min_outcomes=settings.false_alarm_min_outcomes,
    )
    incident_id = ruling.incident_id
    already_dispatched = False
    if ruling.decision is AlarmDecision.DEDUPLICATED and incident_id is not None:
        detail = command_queries.incident_detail(session, incident_id)
        if detail is None or detail.status is not IncidentStatus.OPEN:
            incident_id = None  # the earlier incident is closed: this alarm is a new one
        else:
            already_dispatched = any(e.kind is IncidentEventKind.DISPATCHED for e in detail.events)
    decision = ruling.decision
    if incident_id is None:
        decision = AlarmDecision.INCIDENT
        call = IncidentIn(
            received_at=now,
            text=f"{rules.ALARM_TEXT[message.alarm]}（设备 {device.device_id}，{device.owner or '—'}）",
            category_code=ruling.category_code,
            priority=Priority(ruling.priority),
            address=f"{device.community} {device.location}".strip()[:255],
            lat=device.lat,
            lon=device.lon,
        )
        item = command_actions.NewCall(call=call, actor=INGEST)
        related = command_actions.check_take_call(session, item)
        incident = command_actions.do_take_call(session, item, related=related)
        session.flush()
        incident_id = incident.id
    alarm = SensorAlarm(
        device_pk=device.id,
        community=device.community,
        alarm_type=message.alarm,
        seq=message.seq,
        sent_at=message.sent_at,
        received_at=now,
        decision=decision,
        reasons=",".join(ruling.reasons)[:255],
        priority=ruling.priority,
        incident_id=incident_id,
        outcome=Outcome.UNKNOWN,
    )
    session.add(alarm)
    session.flush()
    _ack(session, alarm.id, AckState.RECEIVED, now=now)
    if already_dispatched:  # joined an incident a unit is on its way to: the device hears so too
        _ack(session, alarm.id, AckState.DISPATCHED, now=now)
    audit.record(
        session,
        actor=INGEST,
        action=ALARM_ACTION,
        object_type="sensor_alarm",
        object_id=alarm.id,
        detail={
            "device": device.device_id,
            "type": message.alarm.value,
            "decision": decision.value,
            "incident": incident_id,
            "reasons": list(ruling.reasons),
        },
    )
    return Ingested(True, f"alarm {message.alarm.value}: {decision.value}", alarm_id=alarm.id)


def do_ack_for_unit_move(session: Session, batch: list[events.DomainEvent]) -> None:
    """Queue the `dispatched` and `closed` acknowledgements of the alarms behind an incident when a
    unit is assigned to it, or when the last unit clears and so closes it (a reaction, in the
    transaction of the move)."""
    now = None
    for ev in batch:
        incident_id = ev.payload.get("incident_id")
        move = ev.payload.get("move")
        if not isinstance(incident_id, int) or move not in (UnitMove.ASSIGN.value, UnitMove.CLEAR.value):
            continue
        state = AckState.DISPATCHED
        if move == UnitMove.CLEAR.value:
            detail = command_queries.incident_detail(session, incident_id)
            if detail is None or detail.status is not IncidentStatus.CLOSED:
                continue
            state = AckState.CLOSED
        alarm_ids = session.execute(
            select(SensorAlarm.id).where(SensorAlarm.incident_id == incident_id)
        ).scalars()
        for alarm_id in alarm_ids:
            now = now or clock.now()
            _ack(session, alarm_id, state, now=now)


def pending_acks(session: Session, *, limit: int = 200) -> list[tuple[SensorAck, str, dict[str, object]]]:
    """Acknowledgements not yet sent, oldest first: each with its topic and its JSON body."""
    rows = session.execute(
        select(SensorAck, SensorAlarm, Device)
        .join(SensorAlarm, SensorAlarm.id == SensorAck.alarm_id)
        .join(Device, Device.id == SensorAlarm.device_pk)
        .where(SensorAck.sent_at.is_(None))
        .order_by(SensorAck.id)
        .limit(limit)
    ).all()
    return [
        (
            ack,
            rules.ack_topic(device.community, device.device_id),
            {
                "v": 1,
                "device": device.device_id,
                "alarm_seq": alarm.seq,
                "state": ack.state.value,
                "incident": alarm.incident_id,
                "ts": ack.created_at.isoformat(),
            },
        )
        for ack, alarm, device in rows
    ]


def check_record_outcome(session: Session, alarm: SensorAlarm, outcome: Outcome, actor: Actor) -> None:
    """Only a closed incident's alarm gets an outcome, and only a real or false one."""
    _authorise(actor, frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.SYSTEM}), "record alarm outcomes")
    if outcome is Outcome.UNKNOWN:
        raise Invalid("an outcome is real or false", field="outcome")
    detail = command_queries.incident_detail(session, alarm.incident_id) if alarm.incident_id else None
    if detail is None or detail.status is not IncidentStatus.CLOSED:
        raise Conflict(f"alarm {alarm.id}: its incident is still open", field="outcome")


def do_record_outcome(
    session: Session, alarm: SensorAlarm, outcome: Outcome, reason: str, actor: Actor
) -> None:
    """Record what the alarm turned out to be; the device's and community's scores learn from it.
    Every alarm of the same incident shares the outcome (a deduplicated repeat is the same event)."""
    same = session.execute(select(SensorAlarm).where(SensorAlarm.incident_id == alarm.incident_id)).scalars()
    for a in same:
        a.outcome, a.outcome_reason = outcome, reason
    audit.record(
        session,
        actor=actor,
        action="sensor.outcome",
        object_type="sensor_alarm",
        object_id=alarm.id,
        detail={"outcome": outcome.value, "reason": reason, "incident": alarm.incident_id},
    )


# ---------------------------------------------------------------------------------------- positions


def _take_position(session: Session, device: Device, message: rules.Message, *, now: datetime) -> Ingested:
    assert message.lat is not None and message.lon is not None
    unit = command_queries.unit_by_call_sign(session, device.unit_call_sign, for_update=True)
    if unit is None:
        raise NotFound(f"no unit {device.unit_call_sign!r}", field="unit")
    # A fix older than the one held (a message delayed in the broker) is kept in the history but
    # does not move the unit back.
    if unit.fix_at is None or message.sent_at >= unit.fix_at:
        command_actions.do_record_position(
            session, unit, lat=message.lat, lon=message.lon, fix_at=message.sent_at, actor=INGEST
        )
    session.add(
        OfficerPosition(
            device_pk=device.id,
            unit_call_sign=unit.call_sign,
            lat=message.lat,
            lon=message.lon,
            fix_at=message.sent_at,
        )
    )
    return Ingested(True, f"position of {unit.call_sign}")


def do_purge_positions(session: Session, *, now: datetime, actor: Actor) -> int:
    """Delete officer positions older than the retention period; returns how many."""
    days = get_settings().sensors.position_retention_days
    horizon = now - timedelta(days=days)
    result = session.execute(delete(OfficerPosition).where(OfficerPosition.fix_at < horizon))
    n = getattr(result, "rowcount", 0)  # a DML result's count of rows deleted
    audit.record(
        session,
        actor=actor,
        action="sensor.positions_purge",
        object_type="officer_position",
        object_id="*",
        detail={"before": horizon.isoformat(), "deleted": int(n or 0), "retention_days": days},
    )
    return int(n or 0)


# ------------------------------------------------------------------------------------------ holster


def _take_holster(session: Session, device: Device, message: rules.Message, *, now: datetime) -> Ingested:
    assert message.event is not None
    active = session.execute(
        select(SafetyAlert)
        .where(SafetyAlert.officer == device.officer, SafetyAlert.state == AlertState.ACTIVE)
        .order_by(SafetyAlert.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    ruling = rules.rule_holster(message.event, active_alert_id=active.id if active else None)
    alert = active
    if ruling.action == "raise":
        alert = _raise_alert(session, device, message.event, now=now)
    elif ruling.action == "join" and active is not None:
        active.events = f"{active.events},{message.event.value}"[:255]
        audit.record(
            session,
            actor=INGEST,
            action=ALERT_EVENT_ACTION,
            object_type="safety_alert",
            object_id=active.id,
            detail={"event": message.event.value, "device": device.device_id},
        )
    session.add(
        HolsterLog(
            device_pk=device.id,
            event=message.event,
            seq=message.seq,
            sent_at=message.sent_at,
            alert_id=alert.id if alert is not None and ruling.action != "log" else None,
        )
    )
    return Ingested(
        True, ruling.reason, alert_id=alert.id if alert is not None and ruling.action != "log" else None
    )


def _raise_alert(session: Session, device: Device, event: HolsterEvent, *, now: datetime) -> SafetyAlert:
    """One officer-safety incident at the officer's last known position (their unit's fix), linked to
    the incident their unit works, with the nearest backup by road travel time."""
    unit = command_queries.unit_by_call_sign(session, device.unit_call_sign)
    lat = unit.lat if unit is not None and unit.lat is not None else device.lat
    lon = unit.lon if unit is not None and unit.lon is not None else device.lon
    linked = unit.incident_id if unit is not None else None
    text = f"警员安全告警：{event.value}（警员 {device.officer}，{device.unit_call_sign}）"
    if linked is not None:
        text += f"，关联警情 #{linked}"
    call = IncidentIn(
        received_at=now,
        text=text,
        priority=Priority.URGENT,
        address=f"{device.unit_call_sign} 最后位置",
        lat=lat,
        lon=lon,
        station_code=unit.station_code if unit is not None else None,
    )
    item = command_actions.NewCall(call=call, actor=INGEST)
    related = command_actions.check_take_call(session, item)
    incident = command_actions.do_take_call(session, item, related=related)
    session.flush()
    backup: list[dict[str, object]] = []
    ranking = recommend.recommendations(session, incident, INGEST, now=now, limit=BACKUP_UNITS + 1)
    for r in ranking.recommended:
        if unit is not None and r.unit_id == unit.id:
            continue
        backup.append({"unit_id": r.unit_id, "call_sign": r.call_sign, "travel_s": round(r.travel_s, 1)})
    alert = SafetyAlert(
        device_pk=device.id,
        officer=device.officer,
        unit_call_sign=device.unit_call_sign,
        state=AlertState.ACTIVE,
        opened_at=now,
        lat=lat,
        lon=lon,
        incident_id=incident.id,
        linked_incident_id=linked,
        events=event.value,
        backup=json.dumps(backup[:BACKUP_UNITS], ensure_ascii=False),
    )
    session.add(alert)
    session.flush()
    audit.record(
        session,
        actor=INGEST,
        action=ALERT_ACTION,
        object_type="safety_alert",
        object_id=alert.id,
        detail={
            "officer": device.officer,
            "unit": device.unit_call_sign,
            "event": event.value,
            "incident": incident.id,
            "linked_incident": linked,
            "backup": [b["call_sign"] for b in backup[:BACKUP_UNITS]],
            "notes": list(ranking.notes),
        },
    )
    events.emit(session, EVENT_ALERT_RAISED, alert_id=alert.id, incident_id=incident.id)
    return alert


def check_close_alert(alert: SafetyAlert, state: AlertState, reason: str, actor: Actor) -> None:
    """An active alert, closed as resolved or false, with its reason."""
    _authorise(actor, ALERT_CLOSERS, "close officer-safety alerts")
    if alert.state is not AlertState.ACTIVE:
        raise Conflict(f"alert {alert.id} is {alert.state.value} already", field="state")
    if state is AlertState.ACTIVE:
        raise Invalid("close as resolved or false_alarm", field="state")
    if not reason.strip():
        raise Invalid("say why the alert is closed", field="reason")


def do_close_alert(
    session: Session, alert: SafetyAlert, state: AlertState, reason: str, actor: Actor, *, now: datetime
) -> None:
    """Close the alert: the officer is safe (resolved), or it was a false alarm."""
    alert.state, alert.closed_at, alert.closed_by, alert.close_reason = state, now, actor.username, reason
    audit.record(
        session,
        actor=actor,
        action=ALERT_CLOSE_ACTION,
        object_type="safety_alert",
        object_id=alert.id,
        detail={"state": state.value, "reason": reason},
    )


def get_alert(session: Session, alert_id: int) -> SafetyAlert:
    """One alert (NotFound naming it)."""
    alert = session.get(SafetyAlert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}", field="alert_id")
    return alert


def get_alarm(session: Session, alarm_id: int) -> SensorAlarm:
    """One alarm (NotFound naming it)."""
    alarm = session.get(SensorAlarm, alarm_id)
    if alarm is None:
        raise NotFound(f"no alarm {alarm_id}", field="alarm_id")
    return alarm


def install() -> None:
    """Subscribe the acknowledgements to command's unit moves (idempotent; web/reactions.py)."""
    events.subscribe_batch_in_transaction(command_actions.EVENT_UNIT_MOVED, do_ack_for_unit_move)
