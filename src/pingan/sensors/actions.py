"""The only code that writes sensor data. `check_*` validates and authorises; `do_*` writes in the
caller's transaction and audits there.

Incidents and unit positions are written through `pingan.command.actions`, the command package's
one write path: an alarm becomes an incident exactly as a 110 call does.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from pingan.command import actions as command_actions
from pingan.command import queries as command_queries
from pingan.command import recommend
from pingan.command.choices import IncidentEventKind, IncidentStatus, Priority, UnitMove
from pingan.command.schemas import IncidentIn
from pingan.core import audit, bulk, clock, events, pulse
from pingan.core.auth import User
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.logging import get_logger
from pingan.core.pii import open_secret, seal_secret
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings
from pingan.sensors import rules
from pingan.sensors.choices import (
    COMMUNITY_KINDS,
    EVENT_ALERT_CLOSINGS,
    AckState,
    AlarmDecision,
    AlertState,
    CrowdAlertKind,
    DeviceKind,
    EventAlertState,
    HolsterEvent,
    Outcome,
    Refusal,
)
from pingan.sensors.model import (
    CrowdAlert,
    CrowdEvent,
    CrowdZone,
    DeadLetter,
    Device,
    HolsterLog,
    OfficerPosition,
    SafetyAlert,
    SensorAck,
    SensorAlarm,
)
from pingan.sensors.schemas import CrowdEventIn, CrowdZoneEdit, CrowdZoneIn, DeviceIn

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
CROWD_ALERT_ACTION = "crowd.alert"
DRONE_ALERT_ACTION = "crowd.drone_alert"
EVENT_ALERT_CLOSE_ACTION = "crowd.alert_close"
ZONE_ADD_ACTION = "crowd.zone_add"
ZONE_UPDATE_ACTION = "crowd.zone_update"
ZONE_RETIRE_ACTION = "crowd.zone_retire"
ZONE_DELETE_ACTION = "crowd.zone_delete"
CROWD_PULSE = "crowd"  # the live topic a large event's telemetry pulses (sensors/live.py)
# Who edits, retires or deletes a zone: the command centre watching the event, which knows the ground.
ZONE_EDITORS = frozenset({Role.DISPATCHER, Role.SUPERVISOR})
# Who closes a large event's alert: the command centre that watches the event, as for officer safety.
EVENT_ALERT_CLOSERS = ALERT_CLOSERS
# A drone reported in a no-fly zone within this long of the zone's last drone alert joins it.
DRONE_JOIN_S = 600
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
    if d.kind is DeviceKind.CROWD_COUNTER and (
        session.execute(select(CrowdEvent.id).where(CrowdEvent.code == d.community)).first() is None
    ):
        raise Invalid(f"a crowd counter's community is its event's code: no event {d.community!r}",
                      field="community")  # fmt: skip
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


@dataclass(frozen=True)
class DeviceForSimulation:
    """A registered device as a simulator (`pingan sim devices`) plays it: with its key."""

    device_id: str
    kind: DeviceKind
    community: str
    lat: float | None
    lon: float | None
    unit_call_sign: str
    officer: str
    key: bytes
    last_seq: int


def devices_for_simulation(session: Session, actor: Actor) -> list[DeviceForSimulation]:
    """Every active device with its decrypted key and last number, in id order, for a simulator to
    publish as them. Reading the keys is audited (one entry, naming how many)."""
    _authorise(actor, DEVICE_KEEPERS, "read device keys")
    rows = list(
        session.execute(select(Device).where(Device.active.is_(True)).order_by(Device.device_id)).scalars()
    )
    audit.record(
        session,
        actor=actor,
        action="sensor.keys_read",
        object_type="sensor_device",
        object_id="*",
        detail={"devices": len(rows), "purpose": "simulation"},
    )
    return [
        DeviceForSimulation(
            device_id=d.device_id,
            kind=d.kind,
            community=d.community,
            lat=d.lat,
            lon=d.lon,
            unit_call_sign=d.unit_call_sign or "",
            officer=d.officer or "",
            key=device_key(d),
            last_seq=d.last_seq,
        )
        for d in rows
    ]


# ------------------------------------------------------------------------------------------- ingest


@dataclass(frozen=True)
class Ingested:
    """What the ingest made of one message: accepted (with what it did) or refused (with why)."""

    accepted: bool
    what: str
    refusal: Refusal | None = None
    alarm_id: int | None = None
    alert_id: int | None = None
    # The large event whose zones or drone alerts this message changed (a telemetry pulse, not audited).
    event_id: int | None = None


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
    if ref.kind == "crowd":
        return device.kind is DeviceKind.CROWD_COUNTER and ref.event == device.community
    if ref.kind == "drone":
        return device.kind is DeviceKind.DRONE_DETECTOR
    return device.kind is DeviceKind.UNIT_TRACKER and ref.unit == device.unit_call_sign


class KeyRing:
    """An ingest process's device keys, decrypted once per stored ciphertext, so that a batch's
    signatures can be checked before its devices are locked (`Signatures`).

    A key is found by the ciphertext the device row holds: a device registered anew has another
    ciphertext, so its old key is never used for it. The ring is emptied when it holds `limit`."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._keys: dict[str, bytes] = {}
        self._ciphers: dict[str, str] = {}  # device id -> the ciphertext its row held when last read

    def key(self, device: Device) -> bytes:
        """The device's key (decrypted at its ciphertext's first use)."""
        self._ciphers[device.device_id] = device.key_cipher
        found = self._keys.get(device.key_cipher)
        if found is None:
            if len(self._keys) >= self.limit:
                self._keys.clear()
                self._ciphers.clear()
            found = self._keys[device.key_cipher] = device_key(device)
        return found

    def known(self, device_id: str) -> tuple[str, bytes] | None:
        """The ciphertext and key the device's row had when last read here, if it was."""
        cipher = self._ciphers.get(device_id)
        if cipher is None or cipher not in self._keys:
            return None
        return cipher, self._keys[cipher]


@dataclass
class Signatures:
    """Signatures checked before the batch's transaction, each with the ciphertext of the key it was
    checked with: inside, a check counts only when the locked row holds that same ciphertext."""

    checked: dict[int, tuple[rules.Message, str, bool]] = field(default_factory=dict)

    def result(self, message: rules.Message, cipher: str) -> bool | None:
        entry = self.checked.get(id(message))
        if entry is None or entry[0] is not message or entry[1] != cipher:
            return None
        return entry[2]


def check_signatures(ring: KeyRing, reads: Sequence[rules.Message | rules.Refused]) -> Signatures:
    """Check the signatures of the messages whose device's key this process holds, outside any
    transaction: the HMACs are then not computed while the batch holds its devices' locks (which
    another ingest process may be waiting for)."""
    out = Signatures()
    for r in reads:
        if isinstance(r, rules.Message) and (held := ring.known(r.device)) is not None:
            out.checked[id(r)] = (r, held[0], rules.signature_ok(held[1], r))
    return out


@dataclass
class Batch:
    """What the messages of one batch share (the ingest's set-based path, docs/mqtt.md): their devices
    loaded and locked in one query (in id order), each device key decrypted once, the trackers' units
    loaded and locked in one query, and the batch's positions, applied to the units and kept as
    history rows together (`flush_positions`, `finish`)."""

    devices: dict[str, Device]
    units: dict[str, Any]  # command's Unit rows, by call sign (read through command's queries)
    keys: dict[int, bytes] = field(default_factory=dict)
    # unit id -> (unit, lat, lon, fix time): the latest fix of each unit not yet applied
    moves: dict[int, tuple[Any, float, float, datetime]] = field(default_factory=dict)
    moved_by: list[str] = field(default_factory=list)  # the device of each fix since the last flush
    history: list[dict[str, object]] = field(default_factory=list)
    # device id -> the number of its latest position taken and not yet written (`flush_positions`)
    seqs: dict[int, int] = field(default_factory=dict)
    # the large events whose counts or drone alerts the batch changed: one pulse each (`finish`)
    pulsed_events: set[int] = field(default_factory=set)
    # (device id, number) of the positions taken already at or below their device's last number:
    # those the database holds (read by `load_batch`) and those this batch took
    taken: set[tuple[int, int]] = field(default_factory=set)
    ring: KeyRing | None = None  # the process's keys, when it keeps them (`KeyRing`)
    signatures: Signatures = field(default_factory=Signatures)

    def key(self, device: Device) -> bytes:
        if self.ring is not None:
            return self.ring.key(device)
        if device.id not in self.keys:
            self.keys[device.id] = device_key(device)
        return self.keys[device.id]

    def signature_ok(self, device: Device, message: rules.Message) -> bool:
        """Whether the message is signed with the device's key: as checked before the transaction
        when that was with the key the locked row holds, else now."""
        early = self.signatures.result(message, device.key_cipher)
        return early if early is not None else rules.signature_ok(self.key(device), message)

    def last_seq(self, device: Device) -> int:
        """The device's last accepted number, counting the batch's positions not yet written."""
        return self.seqs.get(device.id, device.last_seq)


def load_batch(
    session: Session,
    reads: Sequence[rules.Message | rules.Refused],
    *,
    ring: KeyRing | None = None,
    signatures: Signatures | None = None,
) -> Batch:
    """Load and lock the devices the batch's messages name, and their trackers' units, at once;
    with the process's `ring` of keys and the `signatures` checked with it before the transaction."""
    names = sorted({r.device for r in reads if isinstance(r, rules.Message)})
    devices: dict[str, Device] = {}
    if names:
        rows = session.execute(
            select(Device).where(bulk.any_of(session, Device.device_id, names)).order_by(Device.id)
            .with_for_update()
        ).scalars()  # fmt: skip
        devices = {d.device_id: d for d in rows}
    call_signs = sorted({d.unit_call_sign for d in devices.values()
                         if d.kind is DeviceKind.UNIT_TRACKER and d.unit_call_sign})  # fmt: skip
    units = command_queries.units_by_call_signs(session, call_signs, for_update=True)
    return Batch(devices, units, taken=_positions_taken(session, reads, devices), ring=ring,
                 signatures=signatures or Signatures())  # fmt: skip


def _positions_taken(
    session: Session, reads: Sequence[rules.Message | rules.Refused], devices: dict[str, Device]
) -> set[tuple[int, int]]:
    """Which of the batch's positions numbered at or below their device's last number are kept
    already (one query). Every kept position's number is at or below its device's `last_seq`, so
    a position numbered above it cannot be; the devices are locked, so no other process keeps one
    of these meanwhile (and the unique index would refuse it if it did)."""
    late: set[tuple[int, int]] = set()
    for r in reads:
        if isinstance(r, rules.Message) and r.topic.kind == "position":
            device = devices.get(r.device)
            if device is not None and r.seq <= device.last_seq:
                late.add((device.id, r.seq))
    if not late:
        return set()
    rows = session.execute(
        select(OfficerPosition.device_pk, OfficerPosition.seq).where(
            bulk.any_of(session, OfficerPosition.device_pk, sorted({pk for pk, _ in late})),
            bulk.any_of(session, OfficerPosition.seq, sorted({seq for _, seq in late})),
        )
    ).all()
    return {(pk, seq) for pk, seq in rows if seq is not None and (pk, seq) in late}


def _checked(
    session: Session, message: rules.Message, *, now: datetime, batch: Batch | None
) -> Device | rules.Refused:
    """The message's device once its topic, whitelist, signature, number and time are right."""
    if message.topic.device and message.topic.device != message.device:
        return rules.Refused(Refusal.TOPIC_MISMATCH, f"topic names {message.topic.device!r}", message.device)
    if batch is not None:
        device = batch.devices.get(message.device)
    else:
        device = session.execute(
            select(Device).where(Device.device_id == message.device).with_for_update()
        ).scalar_one_or_none()
    if device is None or not device.active:
        return rules.Refused(Refusal.UNKNOWN_DEVICE, f"{message.device!r} is not registered", message.device)
    if not _topic_matches(device, message):
        return rules.Refused(
            Refusal.TOPIC_MISMATCH,
            f"a {device.kind.value} of {device.community} on this topic",
            message.device,
        )
    if batch is not None:
        signed = batch.signature_ok(device, message)
    else:
        signed = rules.signature_ok(device_key(device), message)
    if not signed:
        return rules.Refused(
            Refusal.BAD_SIGNATURE, "HMAC-SHA256 does not match the device key", message.device
        )
    settings = get_settings().sensors
    last_seq = batch.last_seq(device) if batch is not None else device.last_seq
    taken = None
    if message.topic.kind == "position" and batch is not None:
        taken = message.seq <= last_seq and (device.id, message.seq) in batch.taken
    stale = rules.freshness(
        message, last_seq=last_seq, now=now, window_s=settings.replay_window_s, taken=taken
    )
    return stale if stale is not None else device


def do_ingest(
    session: Session,
    *,
    topic: str,
    raw: bytes,
    now: datetime,
    read: rules.Message | rules.Refused | None = None,
    batch: Batch | None = None,
) -> Ingested:
    """Take one MQTT message: read it (unless `read` is given), check its device, signature and
    freshness, then act on it. A refusal is kept as a dead letter; nothing else is written for it.
    Caller holds the transaction. With a `batch`, a position only updates the batch in memory
    (`Batch`, written by `flush_positions` and `finish`): nothing of it can fail after its checks, so
    it needs no savepoint of its own. Without one, it is written at once."""
    if read is None:
        config = get_settings().sensors
        read = rules.read_message(topic, raw, root=config.topic_root, max_bytes=config.max_payload_bytes)
    if isinstance(read, rules.Refused):
        return do_dead_letter(session, topic=topic, refused=read, raw=raw, now=now)
    message = read
    if message.topic.kind == "position" and batch is None:  # a batch of one
        alone = load_batch(session, [message])
        taken = do_ingest(session, topic=topic, raw=raw, now=now, read=message, batch=alone)
        finish(session, alone)
        return taken
    device = _checked(session, message, now=now, batch=batch)
    if isinstance(device, rules.Refused):
        return do_dead_letter(session, topic=topic, refused=device, raw=raw, now=now)
    if message.topic.kind == "position":
        assert batch is not None
        return _batch_position(session, batch, device, message, topic=topic, raw=raw, now=now)
    device.last_seq = message.seq
    if message.topic.kind == "alarm":
        return _take_alarm(session, device, message, now=now)
    if message.topic.kind in ("crowd", "drone"):
        taken = (
            _take_count(session, device, message, topic=topic, raw=raw, now=now)
            if message.topic.kind == "crowd"
            else _take_drone(session, device, message, now=now)
        )
        # A count or a drone's report is telemetry: open pages are told to look again by a pulse, one
        # per event and batch, not an audit entry per reading (core/pulse.py).
        if taken.event_id is not None:
            if batch is not None:
                batch.pulsed_events.add(taken.event_id)
            else:
                pulse.record(session, CROWD_PULSE, [taken.event_id], now=now)
        return taken
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
            rules.ack_topic(get_settings().sensors.topic_root, device.community, device.device_id),
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


def _batch_position(
    session: Session,
    batch: Batch,
    device: Device,
    message: rules.Message,
    *,
    topic: str,
    raw: bytes,
    now: datetime,
) -> Ingested:
    """A checked position of a batch: its device's number taken, its history row kept, and the unit's
    latest fix of the batch noted (applied by `flush_positions`)."""
    assert message.lat is not None and message.lon is not None
    unit = batch.units.get(device.unit_call_sign)
    if unit is None:  # as the per-message path: kept with the error, the number not taken
        refused = rules.Refused(
            Refusal.PROCESSING_FAILED, f"NotFound: no unit {device.unit_call_sign!r}", message.device
        )
        return do_dead_letter(session, topic=topic, refused=refused, raw=raw, now=now)
    # A position may come after a later one of its device (another ingest process took that one):
    # the device's number never goes back, and the number is taken.
    batch.seqs[device.id] = max(batch.last_seq(device), message.seq)
    batch.taken.add((device.id, message.seq))
    held = batch.moves.get(unit.id)
    held_at = held[3] if held is not None else unit.fix_at
    # A fix older than the one held (a message delayed in the broker) is kept in the history but
    # does not move the unit back.
    if held_at is None or message.sent_at >= held_at:
        batch.moves[unit.id] = (unit, message.lat, message.lon, message.sent_at)
    batch.moved_by.append(device.device_id)
    batch.history.append({"device_pk": device.id, "unit_call_sign": unit.call_sign, "lat": message.lat,
                          "lon": message.lon, "fix_at": message.sent_at, "seq": message.seq})  # fmt: skip
    return Ingested(True, f"position of {unit.call_sign}")


def flush_positions(session: Session, batch: Batch) -> None:
    """Apply the batch's positions before any other kind of message reads them, and at the end of the
    batch: each unit's latest fix through command's write path, one audit entry for them all, and the
    devices' numbers in one statement (the ORM's flush sends one UPDATE per device and one per unit:
    22 % of the ingest worker's time, waiting on PostgreSQL, in a py-spy profile of bench/mqtt.py)."""
    if batch.moves:
        command_actions.do_record_positions(session, list(batch.moves.values()), actor=INGEST,
                                            positions=len(batch.moved_by),
                                            devices=sorted(set(batch.moved_by)))  # fmt: skip
    if batch.seqs:
        rows = [{"_id": pk, "last_seq": seq} for pk, seq in sorted(batch.seqs.items())]
        bulk.update_rows(session, Device.__table__, rows, match={"_id": "id"})  # type: ignore[arg-type]
        for device in batch.devices.values():  # the session's rows say what the table says now
            if device.id in batch.seqs:
                set_committed_value(device, "last_seq", batch.seqs[device.id])
    batch.moves.clear()
    batch.moved_by.clear()
    batch.seqs.clear()


def finish(session: Session, batch: Batch) -> None:
    """End the batch: its units moved, and every position it took kept as history in one insert."""
    flush_positions(session, batch)
    bulk.insert_rows(session, OfficerPosition.__table__, batch.history)  # type: ignore[arg-type]
    batch.history.clear()
    pulse.record(session, CROWD_PULSE, batch.pulsed_events, now=clock.now())
    batch.pulsed_events.clear()


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


# ------------------------------------------------------------------------------------- large events


def check_create_event(session: Session, body: CrowdEventIn, actor: Actor) -> None:
    """A new event code."""
    _authorise(actor, DEVICE_KEEPERS, "create crowd events")
    if session.execute(select(CrowdEvent.id).where(CrowdEvent.code == body.code)).first() is not None:
        raise Conflict(f"event {body.code!r} exists already", field="code")


def do_create_event(session: Session, body: CrowdEventIn, actor: Actor, *, now: datetime) -> CrowdEvent:
    """Create the event (its zones are added one by one)."""
    event = CrowdEvent(code=body.code, name=body.name, starts_at=body.starts_at, ends_at=body.ends_at,
                       created_at=now, created_by=actor.username)  # fmt: skip
    session.add(event)
    session.flush()
    audit.record(session, actor=actor, action="crowd.event_create", object_type="crowd_event",
                 object_id=event.id, detail={"code": body.code, "name": body.name})  # fmt: skip
    return event


def get_event(session: Session, event_id: int) -> CrowdEvent:
    """One event (NotFound naming it)."""
    event = session.get(CrowdEvent, event_id)
    if event is None:
        raise NotFound(f"no event {event_id}", field="event_id")
    return event


def check_add_zone(session: Session, event: CrowdEvent, body: CrowdZoneIn, actor: Actor) -> None:
    """A zone code new to the event, with thresholds that rise (the polygon and capacity are checked by
    the schema). A retired zone keeps its code: its alerts' history and its counters' topic name it."""
    _authorise(actor, DEVICE_KEEPERS, "add crowd zones")
    taken = session.execute(
        select(CrowdZone.retired_at).where(CrowdZone.event_id == event.id, CrowdZone.code == body.code)
    ).first()
    if taken is not None:
        retired = " (a retired zone keeps it)" if taken[0] is not None else ""
        raise Conflict(f"event {event.code} has a zone {body.code!r} already{retired}", field="code")
    if not body.no_fly and (
        problem := rules.thresholds_problem(body.watch_pct, body.control_pct, body.over_pct)
    ):
        raise Invalid(problem[1], field=problem[0])


def do_add_zone(session: Session, event: CrowdEvent, body: CrowdZoneIn, actor: Actor) -> CrowdZone:
    """Add the zone: a crowd zone with its capacity and thresholds, or a no-fly geofence."""
    zone = CrowdZone(event_id=event.id, code=body.code, name=body.name, no_fly=body.no_fly,
                     capacity=0 if body.no_fly else body.capacity, polygon=json.dumps(body.polygon))  # fmt: skip
    if not body.no_fly:
        zone.watch_pct, zone.control_pct, zone.over_pct = body.watch_pct, body.control_pct, body.over_pct
    session.add(zone)
    session.flush()
    audit.record(session, actor=actor, action=ZONE_ADD_ACTION, object_type="crowd_zone", object_id=zone.id,
                 detail={"event": event.code, "code": body.code, "capacity": zone.capacity,
                         "no_fly": body.no_fly, "thresholds": list(zone.thresholds)})  # fmt: skip
    pulse.record(session, CROWD_PULSE, [event.id], now=clock.now())
    return zone


def get_zone(session: Session, zone_id: int) -> CrowdZone:
    """One zone (NotFound naming it)."""
    zone = session.get(CrowdZone, zone_id)
    if zone is None:
        raise NotFound(f"no zone {zone_id}", field="zone_id")
    return zone


@dataclass(frozen=True, kw_only=True)
class ZoneEdit:
    """A zone's change, as `check_update_zone` and `do_update_zone` both take it: what is given in
    `change` is changed, the rest kept."""

    zone: CrowdZone
    change: CrowdZoneEdit
    actor: Actor

    @property
    def thresholds(self) -> tuple[int, int, int]:
        """The zone's thresholds as they will stand."""
        c, z = self.change, self.zone
        return (c.watch_pct or z.watch_pct, c.control_pct or z.control_pct, c.over_pct or z.over_pct)


def check_update_zone(item: ZoneEdit) -> None:
    """The command centre edits a zone that is not retired: the role (403), then the zone's state (409),
    then the values (422 naming the field; the polygon is checked by the schema as at creation)."""
    _authorise(item.actor, ZONE_EDITORS, "edit crowd zones")
    zone, change = item.zone, item.change
    if zone.retired_at is not None:
        raise Conflict(f"zone {zone.code} is retired: it cannot be edited", field="zone_id")
    if zone.no_fly:
        for name in ("capacity", "watch_pct", "control_pct", "over_pct"):
            if getattr(change, name) is not None:
                raise Invalid("a no-fly zone has no capacity or thresholds", field=name)
        return
    if problem := rules.thresholds_problem(*item.thresholds):
        raise Invalid(problem[1], field=problem[0])


def do_update_zone(session: Session, item: ZoneEdit, *, now: datetime) -> CrowdZone:
    """Apply the change and audit what changed, before and after (the old polygon is kept there). A
    new capacity or thresholds that put the last count at a lower level lower the zone's level at once,
    quietly, as a falling count does; a higher one is raised by the next count, through the ingest's
    one path for alerts. Caller holds the transaction."""
    zone, change = item.zone, item.change
    before = {"name": zone.name, "polygon": json.loads(zone.polygon), "capacity": zone.capacity,
              "watch_pct": zone.watch_pct, "control_pct": zone.control_pct, "over_pct": zone.over_pct}  # fmt: skip
    given = change.model_dump(exclude_none=True)
    changed = {k: [before[k], v] for k, v in given.items() if before[k] != v}
    if not changed:
        return zone
    for k, (_old, new) in changed.items():
        setattr(zone, k, json.dumps(new) if k == "polygon" else new)
    if (
        not zone.no_fly
        and zone.last_count is not None
        and changed.keys() & {"capacity", "watch_pct", "control_pct", "over_pct"}
    ):
        graded = rules.rule_crowd(
            zone.last_count, zone.capacity, current_level="", thresholds=zone.thresholds
        )
        if rules.level_rank(graded.level) < rules.level_rank(zone.level):
            zone.level = graded.level
    audit.record(session, actor=item.actor, action=ZONE_UPDATE_ACTION, object_type="crowd_zone",
                 object_id=zone.id, detail={"event_id": zone.event_id, "code": zone.code,
                                            "changed": changed})  # fmt: skip
    pulse.record(session, CROWD_PULSE, [zone.event_id], now=now)
    return zone


@dataclass(frozen=True, kw_only=True)
class ZoneRetirement:
    """A zone to retire, with the note saying why, as `check_retire_zone` and `do_retire_zone` take it."""

    zone: CrowdZone
    note: str
    actor: Actor


def _active_alerts(session: Session, zone: CrowdZone) -> int:
    return int(session.execute(
        select(func.count()).select_from(CrowdAlert)
        .where(CrowdAlert.zone_id == zone.id, CrowdAlert.state == EventAlertState.ACTIVE)
    ).scalar_one())  # fmt: skip


def check_retire_zone(session: Session, item: ZoneRetirement) -> None:
    """The command centre retires a zone that is not retired already and has no active alert (each is
    closed first, by a person who says how it ended), with a note: 403, then 409, then 422."""
    _authorise(item.actor, ZONE_EDITORS, "retire crowd zones")
    zone = item.zone
    if zone.retired_at is not None:
        raise Conflict(f"zone {zone.code} is retired already", field="zone_id")
    if n := _active_alerts(session, zone):
        raise Conflict(f"zone {zone.code} has {n} active alert(s): close them first", field="zone_id")
    if not item.note.strip():
        raise Invalid("say why the zone is no longer watched", field="note")
    if len(item.note.strip()) > 255:
        raise Invalid("a note of at most 255 characters", field="note")


def do_retire_zone(session: Session, item: ZoneRetirement, *, now: datetime) -> CrowdZone:
    """Retire the zone: kept with its alerts' history and shown as retired on the event page; off the
    map; its counts are refused (`zone_retired`) and drones in it raise nothing. Caller holds the
    transaction."""
    zone, note = item.zone, item.note.strip()
    zone.retired_at, zone.retired_by, zone.retire_note = now, item.actor.username, note
    audit.record(session, actor=item.actor, action=ZONE_RETIRE_ACTION, object_type="crowd_zone",
                 object_id=zone.id, detail={"event_id": zone.event_id, "code": zone.code, "note": note})  # fmt: skip
    pulse.record(session, CROWD_PULSE, [zone.event_id], now=now)
    return zone


def check_delete_zone(session: Session, zone: CrowdZone, actor: Actor) -> None:
    """Only a zone that never raised an alert is erased (one added by mistake): a zone with alerts in its
    history is evidence of what the command centre saw and did, and is retired instead (409)."""
    _authorise(actor, ZONE_EDITORS, "delete crowd zones")
    alerts = session.execute(select(func.count()).select_from(CrowdAlert)
                             .where(CrowdAlert.zone_id == zone.id)).scalar_one()  # fmt: skip
    if alerts:
        raise Conflict(
            f"zone {zone.code} has {alerts} alert(s) in its history: retire it instead", field="zone_id"
        )


def do_delete_zone(session: Session, zone: CrowdZone, actor: Actor, *, now: datetime) -> None:
    """Erase the zone; the audit entry keeps what it was (its code, name, capacity and polygon)."""
    audit.record(session, actor=actor, action=ZONE_DELETE_ACTION, object_type="crowd_zone", object_id=zone.id,
                 detail={"event_id": zone.event_id, "code": zone.code, "name": zone.name, "no_fly": zone.no_fly,
                         "capacity": zone.capacity, "polygon": json.loads(zone.polygon)})  # fmt: skip
    pulse.record(session, CROWD_PULSE, [zone.event_id], now=now)
    session.delete(zone)
    session.flush()


def _take_count(
    session: Session, device: Device, message: rules.Message, *, topic: str, raw: bytes, now: datetime
) -> Ingested:
    """A zone's head count: the zone's level follows it; a level above the zone's current one raises
    one alert per zone and level (a count falling and rising again does not raise a level twice)."""
    assert message.count is not None
    ref = message.topic
    zone = session.execute(
        select(CrowdZone)
        .join(CrowdEvent, CrowdEvent.id == CrowdZone.event_id)
        .where(CrowdEvent.code == ref.event, CrowdZone.code == ref.zone, CrowdZone.no_fly.is_(False))
        .with_for_update(of=CrowdZone)
    ).scalar_one_or_none()
    if zone is None:
        refused = rules.Refused(
            Refusal.TOPIC_MISMATCH, f"event {ref.event!r} has no crowd zone {ref.zone!r}", message.device
        )
        return do_dead_letter(session, topic=topic, refused=refused, raw=raw, now=now)
    if zone.retired_at is not None:
        # Refused and counted, not stored: nobody watches a retired zone, and a counter still sending
        # to it is a fault for the event's staff to see in the dead letters (and /metrics).
        refused = rules.Refused(
            Refusal.ZONE_RETIRED, f"zone {ref.zone!r} of {ref.event!r} is retired", message.device
        )
        return do_dead_letter(session, topic=topic, refused=refused, raw=raw, now=now)
    if zone.counted_at is not None and message.sent_at < zone.counted_at:
        return Ingested(True, f"count of {ref.zone}: older than the one held, not applied")
    ruling = rules.rule_crowd(
        message.count, zone.capacity, current_level=zone.level, thresholds=zone.thresholds
    )
    zone.level, zone.last_count, zone.counted_at = ruling.level, message.count, message.sent_at
    if not ruling.raise_alert:
        return Ingested(
            True, f"count of {ref.zone}: {ruling.percent}% ({ruling.level or '-'})", event_id=zone.event_id
        )
    # Only an active alert holds its level: once a dispatcher has closed it, the zone climbing back to
    # that level is a new situation on the ground, and a new alert.
    taken = session.execute(
        select(CrowdAlert.id).where(
            CrowdAlert.zone_id == zone.id,
            CrowdAlert.kind == CrowdAlertKind.CROWD,
            CrowdAlert.level == ruling.level,
            CrowdAlert.state == EventAlertState.ACTIVE,
        )
    ).first()
    if taken is not None:
        return Ingested(
            True,
            f"count of {ref.zone}: {ruling.level} raised already",
            alert_id=taken[0],
            event_id=zone.event_id,
        )
    alert = CrowdAlert(event_id=zone.event_id, zone_id=zone.id, kind=CrowdAlertKind.CROWD, level=ruling.level,
                       count=message.count, percent=ruling.percent, device_pk=device.id, raised_at=now,
                       last_at=now, reports=1)  # fmt: skip
    session.add(alert)
    session.flush()
    audit.record(session, actor=INGEST, action=CROWD_ALERT_ACTION, object_type="crowd_alert",
                 object_id=alert.id, detail={"event": ref.event, "zone": ref.zone, "level": ruling.level,
                                             "count": message.count, "percent": ruling.percent})  # fmt: skip
    return Ingested(
        True, f"count of {ref.zone}: {ruling.level} alert", alert_id=alert.id, event_id=zone.event_id
    )


def no_fly_zones(session: Session, *, at: datetime) -> list[tuple[CrowdZone, list[list[float]]]]:
    """The no-fly zones of the events running at `at` (not retired), with their rings, in id order."""
    rows = session.execute(
        select(CrowdZone)
        .join(CrowdEvent, CrowdEvent.id == CrowdZone.event_id)
        .where(
            CrowdZone.no_fly.is_(True),
            CrowdZone.retired_at.is_(None),
            CrowdEvent.starts_at <= at,
            CrowdEvent.ends_at >= at,
        )
        .order_by(CrowdZone.id)
    ).scalars()
    return [(z, json.loads(z.polygon)[0]) for z in rows]


def _take_drone(session: Session, device: Device, message: rules.Message, *, now: datetime) -> Ingested:
    """A drone report: inside a running event's no-fly zone it raises an alert, or joins the zone's
    active alert of the last `DRONE_JOIN_S`."""
    assert message.lat is not None and message.lon is not None
    zones = no_fly_zones(session, at=now)
    zone_id = rules.rule_drone(message.lon, message.lat, [(z.id, ring) for z, ring in zones])
    if zone_id is None:
        return Ingested(True, "drone outside every no-fly zone")
    zone = next(z for z, _ in zones if z.id == zone_id)
    recent = session.execute(
        select(CrowdAlert)
        .where(
            CrowdAlert.zone_id == zone.id,
            CrowdAlert.kind == CrowdAlertKind.DRONE,
            CrowdAlert.state == EventAlertState.ACTIVE,  # a closed alert is not joined: reports raise anew
            CrowdAlert.last_at >= now - timedelta(seconds=DRONE_JOIN_S),
        )
        .order_by(CrowdAlert.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if recent is not None:
        recent.lat, recent.lon, recent.last_at, recent.reports = (
            message.lat,
            message.lon,
            now,
            recent.reports + 1,
        )
        return Ingested(
            True,
            f"drone in no-fly zone {zone.code}: joins alert {recent.id}",
            alert_id=recent.id,
            event_id=zone.event_id,
        )
    alert = CrowdAlert(event_id=zone.event_id, zone_id=zone.id, kind=CrowdAlertKind.DRONE, level="",
                       lat=message.lat, lon=message.lon, device_pk=device.id, raised_at=now, last_at=now,
                       reports=1)  # fmt: skip
    session.add(alert)
    session.flush()
    audit.record(session, actor=INGEST, action=DRONE_ALERT_ACTION, object_type="crowd_alert",
                 object_id=alert.id, detail={"zone": zone.code, "device": device.device_id,
                                             "lat": message.lat, "lon": message.lon})  # fmt: skip
    return Ingested(True, f"drone in no-fly zone {zone.code}: alert", alert_id=alert.id)


@dataclass(frozen=True, kw_only=True)
class EventAlertClosing:
    """A large event's alert to close, as `check_close_event_alert` and `do_close_event_alert` both
    take it: how it ended (`reason`, a closing state's value as given) and the note saying why."""

    alert: CrowdAlert
    reason: str
    note: str
    actor: Actor

    @property
    def state(self) -> EventAlertState:
        """The closing state the reason names (checked by `check_close_event_alert`)."""
        return EventAlertState(self.reason)


def get_event_alert(session: Session, alert_id: int) -> CrowdAlert:
    """One large event's alert (NotFound naming it)."""
    alert = session.get(CrowdAlert, alert_id)
    if alert is None:
        raise NotFound(f"no event alert {alert_id}", field="alert_id")
    return alert


def check_close_event_alert(item: EventAlertClosing) -> None:
    """An active alert, closed by the command centre as resolved, a false alarm or handed over, with a
    note: the role first (403), then the alert's state (409), then the reason and the note (422)."""
    _authorise(item.actor, EVENT_ALERT_CLOSERS, "close large events' alerts")
    alert = item.alert
    if alert.state is not EventAlertState.ACTIVE:
        raise Conflict(f"event alert {alert.id} is {alert.state.value} already", field="state")
    closings = ", ".join(s.value for s in EVENT_ALERT_CLOSINGS)
    if item.reason not in {s.value for s in EVENT_ALERT_CLOSINGS}:
        raise Invalid(f"say how the alert ended: one of {closings}", field="reason")
    if not item.note.strip():
        raise Invalid("say what was done, or to whom the alert was handed", field="note")
    if len(item.note.strip()) > 255:
        raise Invalid("a note of at most 255 characters", field="note")


def do_close_event_alert(session: Session, item: EventAlertClosing, *, now: datetime) -> CrowdAlert:
    """Close the alert: it leaves the active list and the map, and stays in the event's history with
    who closed it, when and why. Caller holds the transaction."""
    alert, note = item.alert, item.note.strip()
    alert.state, alert.closed_at, alert.closed_by, alert.close_note = (
        item.state,
        now,
        item.actor.username,
        note,
    )
    audit.record(
        session,
        actor=item.actor,
        action=EVENT_ALERT_CLOSE_ACTION,
        object_type="crowd_alert",
        object_id=alert.id,
        detail={"event_id": alert.event_id, "zone_id": alert.zone_id, "kind": alert.kind.value,
                "state": item.state.value, "note": note},
    )  # fmt: skip
    return alert


def install() -> None:
    """Subscribe the acknowledgements to command's unit moves (idempotent; web/reactions.py)."""
    events.subscribe_batch_in_transaction(command_actions.EVENT_UNIT_MOVED, do_ack_for_unit_move)
