"""Reads for automatic dispatch (the simulator's replay): the free unit nearest a call, and the
stations that have no units yet."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.command.choices import UnitState
from pingan.command.model import Unit


def nearest_free_unit(session: Session, station_code: str, lat: float, lon: float) -> Unit | None:
    """The available unit of the station nearest to (lat, lon) by its last fix, locked; None if none."""
    rows = (
        session.execute(
            select(Unit)
            .where(Unit.station_code == station_code, Unit.state == UnitState.AVAILABLE)
            .order_by(Unit.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    if not rows:
        return None
    return min(rows, key=lambda u: ((u.lat or lat) - lat) ** 2 + ((u.lon or lon) - lon) ** 2)


def stations_with_units(session: Session) -> set[str]:
    """The codes of the stations that have at least one unit."""
    return {code for (code,) in session.execute(select(Unit.station_code).distinct())}
