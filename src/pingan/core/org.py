"""The bureau's organisation: police stations (派出所) with their areas."""

from __future__ import annotations

from sqlalchemy import Float, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pingan.core import audit, bulk, names
from pingan.core.db import Base
from pingan.core.roles import Actor


class Station(Base):
    """A police station (派出所): code, name, centre point and its area as a GeoJSON polygon."""

    __tablename__ = "station"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    area_geojson: Mapped[str | None] = mapped_column(Text)


def stations_by_code(session: Session, codes: set[str]) -> dict[str, Station]:
    """The stations with these codes (those that exist), in one query."""
    if not codes:
        return {}
    return {
        s.code: s
        for s in session.execute(select(Station).where(bulk.any_of(session, Station.code, codes))).scalars()
    }


def do_upsert_station(
    session: Session, *, code: str, name: str, lat: float, lon: float, area_geojson: str | None, actor: Actor
) -> Station:
    """Create or update a station and audit it. Caller holds the transaction."""
    station = session.get(Station, code)
    if station is None:
        station = Station(code=code, name=name, lat=lat, lon=lon, area_geojson=area_geojson)
        session.add(station)
    else:
        station.name, station.lat, station.lon, station.area_geojson = name, lat, lon, area_geojson
    audit.record(session, actor=actor, action="station.upsert", object_type="station", object_id=code)
    names.forget()
    return station


def all_stations(session: Session) -> list[Station]:
    """Every station, by code."""
    return list(session.execute(select(Station).order_by(Station.code)).scalars())
