"""The read side of the sensor link, for pages, the API, `/metrics` and other packages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.sensors import rules
from pingan.sensors.actions import score_of
from pingan.sensors.choices import AlertState, CrowdAlertKind, EventAlertState, Refusal
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


@dataclass(frozen=True)
class DeviceRow:
    """A device with its false-alarm score and its community's."""

    device: Device
    score: rules.Score
    community_score: rules.Score


def devices(session: Session, *, community: str | None = None, limit: int = 500) -> list[DeviceRow]:
    """Registered devices by community and id, each with its score and its community's."""
    q = select(Device).order_by(Device.community, Device.device_id).limit(limit)
    if community:
        q = q.where(Device.community == community)
    rows = list(session.execute(q).scalars())
    by_community = {c: score_of(session, community=c) for c in {d.community for d in rows}}
    return [DeviceRow(d, score_of(session, device_pk=d.id), by_community[d.community]) for d in rows]


def device(session: Session, device_pk: int) -> DeviceRow | None:
    """One device with its scores."""
    d = session.get(Device, device_pk)
    if d is None:
        return None
    return DeviceRow(d, score_of(session, device_pk=d.id), score_of(session, community=d.community))


def device_alarms(session: Session, device_pk: int, *, limit: int = 50) -> list[SensorAlarm]:
    """A device's latest alarms, newest first."""
    return list(
        session.execute(
            select(SensorAlarm)
            .where(SensorAlarm.device_pk == device_pk)
            .order_by(SensorAlarm.id.desc())
            .limit(limit)
        ).scalars()
    )


def alarm_acks(session: Session, alarm_ids: list[int]) -> dict[int, list[SensorAck]]:
    """The acknowledgements of these alarms, in order."""
    out: dict[int, list[SensorAck]] = {i: [] for i in alarm_ids}
    if alarm_ids:
        for ack in session.execute(
            select(SensorAck).where(SensorAck.alarm_id.in_(alarm_ids)).order_by(SensorAck.id)
        ).scalars():
            out[ack.alarm_id].append(ack)
    return out


def dead_letters(session: Session, *, reason: Refusal | None = None, limit: int = 200) -> list[DeadLetter]:
    """The latest refused messages, newest first."""
    q = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if reason is not None:
        q = q.where(DeadLetter.reason == reason)
    return list(session.execute(q).scalars())


def alerts(session: Session, *, state: AlertState | None = None, limit: int = 200) -> list[SafetyAlert]:
    """Officer-safety alerts, active first, newest first."""
    q = select(SafetyAlert).order_by(SafetyAlert.id.desc()).limit(limit)
    if state is not None:
        q = q.where(SafetyAlert.state == state)
    return list(session.execute(q).scalars())


def alert_events(session: Session, alert_id: int) -> list[HolsterLog]:
    """The holster events an alert fused, in order."""
    return list(
        session.execute(
            select(HolsterLog).where(HolsterLog.alert_id == alert_id).order_by(HolsterLog.id)
        ).scalars()
    )


def backup_of(alert: SafetyAlert) -> list[dict[str, object]]:
    """The backup units recommended for an alert."""
    loaded = json.loads(alert.backup or "[]")
    return loaded if isinstance(loaded, list) else []


def alert_features(session: Session) -> dict[str, object]:
    """The active alerts with a position, as GeoJSON: the map's alert rings."""
    features = []
    for a in alerts(session, state=AlertState.ACTIVE):
        if a.lat is None or a.lon is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": a.id,
                "geometry": {"type": "Point", "coordinates": [a.lon, a.lat]},
                "properties": {
                    "id": a.id,
                    "unit": a.unit_call_sign,
                    "events": a.events,
                    "backup": ",".join(str(b.get("call_sign", "")) for b in backup_of(a)),
                    "url": f"/sensors/alerts/{a.id}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def positions(
    session: Session, call_sign: str, *, since: datetime, until: datetime, limit: int = 2000
) -> list[OfficerPosition]:
    """A unit's reported positions in a time range, oldest first (the caller audits the read)."""
    return list(
        session.execute(
            select(OfficerPosition)
            .where(
                OfficerPosition.unit_call_sign == call_sign,
                OfficerPosition.fix_at >= since,
                OfficerPosition.fix_at < until,
            )
            .order_by(OfficerPosition.fix_at)
            .limit(limit)
        ).scalars()
    )


class _Figures(Collector):
    """The sensor link's counts, read fresh: refusals by reason (from the dead letters, so that every
    process's refusals count), accepted alarms by type, active safety alerts, and large events'
    active alerts by kind."""

    def __init__(self, session: Session) -> None:
        self.refused = dict(
            session.execute(select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)).all()
        )
        self.alarms = dict(
            session.execute(
                select(SensorAlarm.alarm_type, func.count()).group_by(SensorAlarm.alarm_type)
            ).all()
        )
        self.active = session.execute(
            select(func.count()).select_from(SafetyAlert).where(SafetyAlert.state == AlertState.ACTIVE)
        ).scalar_one()
        self.event_active = dict(
            session.execute(
                select(CrowdAlert.kind, func.count())
                .where(CrowdAlert.state == EventAlertState.ACTIVE)
                .group_by(CrowdAlert.kind)
            ).all()
        )

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        refused = CounterMetricFamily(
            "pingan_sensor_messages_refused",
            "MQTT messages refused by the ingest, by reason",
            labels=["reason"],
        )
        for reason in Refusal:
            refused.add_metric([reason.value], int(self.refused.get(reason, 0)))
        yield refused
        alarms = CounterMetricFamily(
            "pingan_sensor_alarms", "Smart-community alarms accepted, by type", labels=["type"]
        )
        for t, n in sorted(self.alarms.items()):
            alarms.add_metric([t.value], int(n))
        yield alarms
        yield GaugeMetricFamily(
            "pingan_safety_alerts_active", "Officer-safety alerts active", value=int(self.active)
        )
        event_active = GaugeMetricFamily(
            "pingan_event_alerts_active", "Large events' alerts active, by kind", labels=["kind"]
        )
        for kind in CrowdAlertKind:
            event_active.add_metric([kind.value], int(self.event_active.get(kind, 0)))
        yield event_active


def add_sensor_figures(registry: CollectorRegistry, session: Session) -> None:
    """Add the sensor link's figures, read fresh from the database, to `registry`."""
    registry.register(_Figures(session))


def event_zones(session: Session, event_id: int) -> list[CrowdZone]:
    """An event's zones, crowd zones and no-fly zones, in the order they were added."""
    return list(
        session.execute(
            select(CrowdZone).where(CrowdZone.event_id == event_id).order_by(CrowdZone.id)
        ).scalars()
    )


def zone_alert_counts(session: Session, event_id: int) -> dict[int, int]:
    """How many alerts, of any state, each zone of the event has raised (zones with none left out): a
    zone with a history is retired, not deleted."""
    rows = session.execute(
        select(CrowdAlert.zone_id, func.count())
        .where(CrowdAlert.event_id == event_id)
        .group_by(CrowdAlert.zone_id)
    ).all()
    return {int(zone_id): int(n) for zone_id, n in rows}


def events(session: Session) -> list[CrowdEvent]:
    """Every large event, the latest first."""
    return list(session.execute(select(CrowdEvent).order_by(CrowdEvent.starts_at.desc())).scalars())


def event_alerts(
    session: Session, event_id: int, *, state: EventAlertState | None = None, limit: int = 500
) -> list[CrowdAlert]:
    """An event's crowd and drone alerts, of one state if given, the latest first."""
    q = select(CrowdAlert).where(CrowdAlert.event_id == event_id)
    if state is not None:
        q = q.where(CrowdAlert.state == state)
    return list(session.execute(q.order_by(CrowdAlert.id.desc()).limit(limit)).scalars())


@dataclass(frozen=True)
class EventAlerts:
    """An event's alerts as its page shows them: the active ones, which wait for the command centre,
    and the closed ones, with who closed each, when and why."""

    active: list[CrowdAlert]
    closed: list[CrowdAlert]


def event_alerts_split(session: Session, event_id: int) -> EventAlerts:
    """An event's active alerts and its closed ones, each the latest first."""
    rows = event_alerts(session, event_id)
    return EventAlerts(
        active=[a for a in rows if a.state is EventAlertState.ACTIVE],
        closed=[a for a in rows if a.state is not EventAlertState.ACTIVE],
    )


def active_alert_counts(session: Session) -> dict[int, int]:
    """How many active alerts each event has (events with none are left out)."""
    rows = session.execute(
        select(CrowdAlert.event_id, func.count())
        .where(CrowdAlert.state == EventAlertState.ACTIVE)
        .group_by(CrowdAlert.event_id)
    ).all()
    return {int(event_id): int(n) for event_id, n in rows}


def alert_event_ids(session: Session, alert_ids: list[int]) -> dict[int, int]:
    """The event of each of these alerts, by alert id (a live message names the events it changes)."""
    if not alert_ids:
        return {}
    rows = session.execute(select(CrowdAlert.id, CrowdAlert.event_id).where(CrowdAlert.id.in_(alert_ids)))
    return {int(a): int(e) for a, e in rows}


def zone_codes(session: Session, zone_ids: list[int]) -> dict[int, str]:
    """The code of each of these zones, by zone id."""
    if not zone_ids:
        return {}
    return {int(i): str(c) for i, c in session.execute(select(CrowdZone.id, CrowdZone.code)
                                                       .where(CrowdZone.id.in_(zone_ids)))}  # fmt: skip


def event_features(session: Session, *, now: datetime) -> dict[str, object]:
    """The map's event mode, as GeoJSON: the zones of the events running now, retired ones left out (a
    crowd zone with its level, count and active alerts, a no-fly zone) and their active drone alerts' last reported
    positions as points."""
    running = select(CrowdEvent.id).where(CrowdEvent.starts_at <= now, CrowdEvent.ends_at >= now)
    features: list[dict[str, object]] = []
    alerting = {int(zone_id): int(n) for zone_id, n in session.execute(
        select(CrowdAlert.zone_id, func.count())
        .where(CrowdAlert.event_id.in_(running), CrowdAlert.state == EventAlertState.ACTIVE)
        .group_by(CrowdAlert.zone_id)
    ).all()}  # fmt: skip
    # A retired zone leaves the map; its alerts' history stays on the event page.
    for z in session.execute(select(CrowdZone).where(CrowdZone.event_id.in_(running),
                                                     CrowdZone.retired_at.is_(None))
                             .order_by(CrowdZone.id)).scalars():  # fmt: skip
        features.append({
            "type": "Feature", "id": f"zone-{z.id}",
            "geometry": {"type": "Polygon", "coordinates": json.loads(z.polygon)},
            "properties": {"kind": "no_fly" if z.no_fly else "zone", "code": z.code, "name": z.name,
                           "level": z.level or "none", "count": z.last_count, "capacity": z.capacity,
                           "active_alerts": alerting.get(z.id, 0),
                           "url": f"/sensors/events/{z.event_id}"},
        })  # fmt: skip
    # A closed drone alert leaves the map with the active list.
    drones = select(CrowdAlert).where(CrowdAlert.event_id.in_(running), CrowdAlert.kind == CrowdAlertKind.DRONE,
                                      CrowdAlert.state == EventAlertState.ACTIVE,
                                      CrowdAlert.lat.is_not(None))  # fmt: skip
    for a in session.execute(drones.order_by(CrowdAlert.id)).scalars():
        features.append({
            "type": "Feature", "id": f"drone-{a.id}",
            "geometry": {"type": "Point", "coordinates": [a.lon, a.lat]},
            "properties": {"kind": "drone", "reports": a.reports, "last_at": a.last_at.isoformat(),
                           "url": f"/sensors/events/{a.event_id}"},
        })  # fmt: skip
    return {"type": "FeatureCollection", "features": features}
