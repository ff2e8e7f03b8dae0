"""The demo's command centre: every station gets units, and a dispatcher who logs in finds work."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pingan.command.seed import (
    DEMO_CALLS,
    HISTORY_PER_STATION_WEEK,
    HISTORY_WEEKS,
    UNITS_PER_STATION,
    seed_command,
)
from pingan.core import clock
from pingan.sim.geography import district_stations


def test_the_demo_seed_gives_every_station_units_and_the_dispatcher_a_queue(api: TestClient) -> None:
    units, incidents = seed_command(now=clock.now())
    history = HISTORY_WEEKS * HISTORY_PER_STATION_WEEK * len(district_stations())
    assert (units, incidents) == (UNITS_PER_STATION * len(district_stations()), len(DEMO_CALLS) + history)
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


def test_the_demo_seed_closes_the_weeks_before_for_the_call_backs_to_sample(api: TestClient) -> None:
    from datetime import timedelta

    from pingan.command import queries
    from pingan.core import db

    now = clock.now()
    seed_command(now=now)
    with db.transaction() as s:
        closed = queries.closed_for_callback(s, since=now - timedelta(weeks=HISTORY_WEEKS), until=now)
    assert {code for code in closed} == {st.code for st in district_stations()}
    # Each station's history, and the demo call at Huaxing cleared 45 minutes ago.
    expected = {c: HISTORY_WEEKS * HISTORY_PER_STATION_WEEK + (c == "WH-HX") for c in closed}
    assert {c: len(ids) for c, ids in closed.items()} == expected


def test_seeding_twice_adds_nothing(api: TestClient) -> None:
    seed_command(now=clock.now())
    assert seed_command(now=clock.now()) == (0, 0)
