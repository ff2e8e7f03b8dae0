"""The 110 clock chain is computed from the incident's event log, with its breaches; the weekly
bulletin's figures match a week worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi.testclient import TestClient

from pingan.command import queries
from pingan.core import clock, db
from tests.command.conftest import T0, YULIN, add_unit, move, take_call


def _at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _respond(
    incident: int, unit: int, *, sign_off: int | None, assign: int, arrive: int | None, feedback: int | None
) -> None:
    """Walk one incident through its chain at the given seconds after T0."""
    from pingan.command import actions
    from tests.conftest import SYSTEM

    if sign_off is not None:
        with clock.frozen(_at(sign_off)), db.transaction() as s:
            inc = actions.get_incident(s, incident, SYSTEM)
            actions.check_sign_off(inc, SYSTEM)
            actions.do_sign_off(s, inc, SYSTEM)
    with clock.frozen(_at(assign)):
        move(unit, "assign", incident_id=incident)
        move(unit, "acknowledge")
        move(unit, "depart")
    if arrive is not None:
        with clock.frozen(_at(arrive)):
            move(unit, "arrive")
    if feedback is not None:
        with clock.frozen(_at(feedback)):
            move(unit, "clear", note="处理完毕")


def test_the_chain_comes_from_the_event_log_and_names_a_late_sign_off(api: TestClient) -> None:
    incident = take_call(text="有人打架", category_code="020201", lat=YULIN[0], lon=YULIN[1], received_at=T0)
    unit = add_unit("玉林1")
    _respond(incident, unit, sign_off=45, assign=60, arrive=250, feedback=900)
    chain = api.get(f"/api/v1/incidents/{incident}").json()["clock_chain"]
    assert chain["steps"]["signed_off"].startswith("2026-11-30T01:00:45")
    assert chain["steps"]["on_scene"].startswith("2026-11-30T01:04:10")
    assert chain["breached"] is True
    assert chain["reasons"] == ["sign_off:45s>30s"]


def test_a_suburban_incident_has_ten_minutes_to_reach_the_scene(api: TestClient) -> None:
    # Jitouqiao (WH-JTQ) is suburban in the default settings: 480 s is within its 600 s.
    incident = take_call(
        text="交通事故有人受伤", category_code="030101", lat=30.625, lon=104.05, received_at=T0
    )
    unit = add_unit("机投1", station="WH-JTQ")
    _respond(incident, unit, sign_off=10, assign=20, arrive=480, feedback=600)
    chain = api.get(f"/api/v1/incidents/{incident}").json()["clock_chain"]
    on_scene = next(m for m in chain["measures"] if m["name"] == "on_scene")
    assert (on_scene["target_s"], on_scene["breached"]) == (600, False)


def test_the_weekly_bulletin_matches_the_hand_computed_week(api: TestClient) -> None:
    # Yulin's week (Monday 2026-11-30, Beijing time, long over), worked out by hand:
    #   1: signed off 20 s, 玉林1 assigned 30 s, on scene 240 s, feedback 840 s  -> all met
    #   2: signed off 50 s (late), 玉林2 assigned 60 s, on scene 400 s (late), feedback 2400 s (late)
    #   3: not signed off by hand; 玉林3 assigned at 40 s signs it off then (40 s, late), never arrives
    #   4: a hoax, which is not an incident of the bulletin
    #   5: a Jitouqiao incident, another station's
    # sign-off 1 of 3 = 33.3 %; on scene 1 of 3 = 33.3 %; feedback 1 of 2 = 50.0 %
    # slowest: 玉林2 340 s, 玉林1 210 s (玉林3 never arrived: no time to rank)
    ids = [
        take_call(
            text=f"警情{i}", category_code="020201", lat=YULIN[0], lon=YULIN[1] - 0.003 * i, received_at=T0
        )
        for i in range(3)
    ]
    take_call(
        text="骗你的",
        disposition="hoax",
        disposition_reason="prank",
        lat=YULIN[0],
        lon=YULIN[1],
        received_at=T0,
    )
    take_call(text="别处的", lat=30.625, lon=104.05, received_at=T0)
    units = [add_unit(f"玉林{i + 1}") for i in range(3)]
    _respond(ids[0], units[0], sign_off=20, assign=30, arrive=240, feedback=840)
    _respond(ids[1], units[1], sign_off=50, assign=60, arrive=400, feedback=2400)
    _respond(ids[2], units[2], sign_off=None, assign=40, arrive=None, feedback=None)
    r = api.get("/api/v1/command/bulletin", params={"station_code": "WH-YL", "week_start": "2026-11-30"})
    b = r.json()
    assert b["incidents"] == 3
    assert (b["sign_off"]["within"], b["sign_off"]["total"], b["sign_off"]["percent"]) == (1, 3, 33.3)
    assert (b["on_scene"]["within"], b["on_scene"]["total"], b["on_scene"]["percent"]) == (1, 3, 33.3)
    assert (b["feedback"]["within"], b["feedback"]["total"], b["feedback"]["percent"]) == (1, 2, 50.0)
    assert [(u["call_sign"], u["mean_s"]) for u in b["slowest_units"]] == [("玉林2", 340.0), ("玉林1", 210.0)]


def test_the_week_is_counted_in_beijing_time(district: None) -> None:
    # Sunday 2026-11-29 23:30 Beijing is 15:30 UTC: the week before's, not this week's.
    take_call(text="深夜噪音", lat=YULIN[0], lon=YULIN[1], received_at=T0 - timedelta(hours=9, minutes=30))
    with db.read_transaction() as s:
        this_week = queries.station_bulletin(
            s, station_code="WH-YL", week_start=date(2026, 11, 30), now=_at(0)
        )
        last_week = queries.station_bulletin(
            s, station_code="WH-YL", week_start=date(2026, 11, 23), now=_at(0)
        )
    assert (this_week.incidents, last_week.incidents) == (0, 1)


def test_a_bulletin_week_must_start_on_a_monday(api: TestClient) -> None:
    r = api.get("/api/v1/command/bulletin", params={"station_code": "WH-YL", "week_start": "2026-12-01"})
    assert (r.status_code, r.json()["field"]) == (422, "week_start")
