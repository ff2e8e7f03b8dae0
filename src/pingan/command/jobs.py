"""Background work of the command platform: the sweep that finds open incidents past a 110 target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pingan.command import queries
from pingan.core import db
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
