"""Telemetry pulses (遥测脉冲): "this changed, look again" for live pages, without an audit entry.

The audit log is the change feed of live pages (`core.live`), and it is for accesses and decisions.
Telemetry changes too often and decides nothing: a crowd counter's reading, a drone's later position.
A writer of telemetry records a pulse instead, in its own transaction, naming a topic and a key (an
event's id): at most one row per topic and key per transaction (the ingest's batch). The live pages'
poller reads pulses after the last it has seen, as it reads the audit log, and sends each topic and
key at most once a second (`core.live.PULSE_EVERY_S`), the last one always: a page fetches the state
again, so only the latest matters. Pulses are pruned after an hour (`prune`), by the ingest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from pingan.core.db import Base, UTCDateTime

KEEP = timedelta(hours=1)  # a pulse is read within seconds; an hour covers a poller's restart


class LivePulse(Base):
    """One telemetry change of a topic's object (kept an hour): read by the live pages' poller."""

    __tablename__ = "live_pulse"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(32))
    key: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def record(session: Session, topic: str, keys: Iterable[int], *, now: datetime) -> None:
    """Record one pulse per key of `topic` in the caller's transaction (each key once)."""
    rows = [{"topic": topic, "key": k, "at": now} for k in sorted(set(keys))]
    if rows:
        session.execute(insert(LivePulse), rows)


def prune(session: Session, *, now: datetime) -> int:
    """Delete pulses older than `KEEP`; returns how many."""
    result = session.execute(delete(LivePulse).where(LivePulse.at < now - KEEP))
    return int(getattr(result, "rowcount", 0) or 0)
