"""Fixtures of the command tests: the demo district's 16 stations with their areas, a dispatcher,
a Yulin officer, and units."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingan.command import actions
from pingan.command.choices import UnitKind
from pingan.command.model import Incident, Unit
from pingan.command.schemas import IncidentIn, UnitIn
from pingan.core import clock, db
from pingan.core.auth import User
from pingan.core.org import do_upsert_station
from pingan.core.roles import Actor, Role
from pingan.sim.geography import district_stations
from tests.conftest import SYSTEM, bearer, make_user

# A point in the Yulin station's area (WH-YL), and one 80 m east of it.
YULIN = (30.6125, 104.0525)
YULIN_80M_EAST = (30.6125, 104.0533)
# A point 7 km east of the district's rectangle (Jinjiang side).
EAST_OF_DISTRICT = (30.6574, 104.1657)
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 Beijing time, in the past


@pytest.fixture
def district(database: str) -> None:
    """The 16 stations of the demo district, each with its rectangular area."""
    with db.transaction() as s:
        for st in district_stations():
            do_upsert_station(
                s,
                code=st.code,
                name=st.name,
                lat=st.lat,
                lon=st.lon,
                area_geojson=json.dumps({"type": "Polygon", "coordinates": st.polygon()}),
                actor=SYSTEM,
            )


@pytest.fixture
def dispatcher(district: None) -> User:
    return make_user("dispatcher_chen", Role.DISPATCHER)


@pytest.fixture
def officer_yulin(district: None) -> User:
    return make_user("officer_wang", Role.OFFICER, station_code="WH-YL")


@pytest.fixture
def officer_jtq(district: None) -> User:
    return make_user("officer_zhou", Role.OFFICER, station_code="WH-JTQ")


@pytest.fixture
def api(client: TestClient, dispatcher: User) -> TestClient:
    """A client holding the dispatcher's token."""
    client.headers.update(bearer(dispatcher))
    return client


def actor_of(user: User) -> Actor:
    return Actor(username=user.username, role=user.role, user_id=user.id, station_code=user.station_code)


def take_call(**fields: Any) -> int:
    """Record a call as the system's feed; returns the incident id."""
    with db.transaction() as s:
        item = actions.NewCall(call=IncidentIn(**fields), actor=SYSTEM)
        related = actions.check_take_call(s, item)
        incident = actions.do_take_call(s, item, related=related)
        s.flush()
        return incident.id


def add_unit(call_sign: str, station: str = "WH-YL") -> int:
    with db.transaction() as s:
        unit = actions.do_add_unit(
            s, UnitIn(call_sign=call_sign, station_code=station, kind=UnitKind.PATROL_CAR), SYSTEM
        )
        s.flush()
        return unit.id


def move(
    unit_id: int, move_name: str, *, incident_id: int | None = None, note: str = "", actor: Actor = SYSTEM
) -> Unit:
    """Move a unit through the actions, as the API does."""
    from pingan.command.choices import UnitMove

    with db.transaction() as s:
        unit = actions.get_unit(s, unit_id, actor, for_update=True)
        incident = s.get(Incident, incident_id) if incident_id else None
        item = actions.UnitMoveRequest(
            unit=unit, move=UnitMove(move_name), actor=actor, incident=incident, note=note
        )
        decision = actions.check_move_unit(item)
        return actions.do_move_unit(s, item, decision)


@pytest.fixture
def at_t0() -> Iterator[None]:
    with clock.frozen(T0):
        yield


@pytest.fixture
def block_roads(database: str) -> None:
    """The hand-made block of tests/command/data/block.osm as the stored road graph."""
    from pathlib import Path

    from pingan.command.roads import do_store_roads, read_osm

    with db.transaction() as s:
        do_store_roads(s, read_osm(Path(__file__).parent / "data" / "block.osm"))
