"""The demo's command centre: every station gets units, and a dispatcher who logs in finds work."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pingan.command.seed import DEMO_CALLS, UNITS_PER_STATION, seed_command
from pingan.core import clock
from pingan.sim.geography import district_stations


def test_the_demo_seed_gives_every_station_units_and_the_dispatcher_a_queue(api: TestClient) -> None:
    units, incidents = seed_command(now=clock.now())
    assert (units, incidents) == (UNITS_PER_STATION * len(district_stations()), len(DEMO_CALLS))
    queue = api.get("/api/v1/incidents").json()
    open_new = [
        c for c in DEMO_CALLS if c.disposition.value == "new" and not any(m == "clear" for m, _ in c.moves)
    ]
    assert len(queue) == len(open_new)
    assert queue[0]["priority"] == "1"
    assert any(i["clock_chain"]["steps"]["on_scene"] for i in queue)
    for incident in queue:  # a unit's moves leave every step before them in the log
        steps = incident["clock_chain"]["steps"]
        if steps["acknowledged"]:
            assert steps["signed_off"] and steps["dispatched"]


def test_seeding_twice_adds_nothing(api: TestClient) -> None:
    seed_command(now=clock.now())
    assert seed_command(now=clock.now()) == (0, 0)
