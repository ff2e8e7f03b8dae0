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
from pingan.sensors.choices import AlertState, Refusal
from pingan.sensors.model import (
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
    process's refusals count), accepted alarms by type, and active safety alerts."""

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


def add_sensor_figures(registry: CollectorRegistry, session: Session) -> None:
    """Add the sensor link's figures, read fresh from the database, to `registry`."""
    registry.register(_Figures(session))
