"""Background work of the command platform: the sweep that finds open incidents past a 110 target,
and the alarm it raises once per incident and measure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from pingan.command import queries
from pingan.core import audit, db
from pingan.core.audit import AuditEntry
from pingan.core.roles import Actor


@dataclass(frozen=True)
class Breach:
    """An open incident past at least one 110 target, and which."""

    incident_id: int
    station_code: str | None
    reasons: tuple[str, ...]


def sweep_breaches(*, now: datetime) -> list[Breach]:
    """Every open incident whose clock chain is breached at `now`, most urgent first (a read only)."""
    with db.read_transaction() as session:
        rows = queries.open_queue(session, Actor.system("command-sweep"), now=now, limit=10_000)
        return [
            Breach(r.incident.id, r.incident.station_code, r.chain.reasons) for r in rows if r.chain.breached
        ]


BREACH_ACTION = "incident.breach"


def _measure(reason: str) -> str:
    """The measure a breach reason names: `sign_off:45s>30s` -> `sign_off`."""
    return reason.split(":", 1)[0]


def raise_breaches(*, now: datetime) -> list[Breach]:
    """Raise an alarm once for every measure newly breached at `now`, and return those raised.

    An alarm is an audit entry `incident.breach` naming the incident and the measure (`sign_off`,
    `on_scene`, `feedback`); the live stream shows it to dispatchers. A measure already raised for
    an incident is not raised again, however often the sweep runs.
    """
    found = sweep_breaches(now=now)
    if not found:
        return []
    actor = Actor.system("command-sweep")
    raised: list[Breach] = []
    with db.transaction() as session:
        ids = [str(b.incident_id) for b in found]
        done: set[tuple[str, str]] = set()
        for chunk in range(0, len(ids), 500):
            rows = session.execute(
                select(AuditEntry.object_id, AuditEntry.detail).where(
                    AuditEntry.action == BREACH_ACTION, AuditEntry.object_id.in_(ids[chunk : chunk + 500])
                )
            )
            done |= {(oid, json.loads(detail).get("measure", "")) for oid, detail in rows}
        for b in found:
            fresh = tuple(r for r in b.reasons if (str(b.incident_id), _measure(r)) not in done)
            for reason in fresh:
                audit.record(
                    session,
                    actor=actor,
                    action=BREACH_ACTION,
                    object_type="incident",
                    object_id=b.incident_id,
                    detail={"measure": _measure(reason), "reason": reason, "station": b.station_code},
                )
            if fresh:
                raised.append(Breach(b.incident_id, b.station_code, fresh))
    return raised
