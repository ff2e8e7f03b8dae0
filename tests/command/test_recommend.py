"""Recommendations: the nearest suitable units by road travel time, and why the others rank lower."""

from __future__ import annotations

import os
from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from pingan.command import recommend
from pingan.command.choices import UnitKind
from pingan.command.model import Incident, Unit
from pingan.command.roads import do_store_roads
from pingan.command.routing import PgRouter, has_pgrouting, scipy_router
from pingan.core import clock, db
from pingan.core.auth import User
from pingan.sim.geography import LAT_NORTH, LAT_SOUTH, LON_EAST, LON_WEST
from pingan.sim.roads import generate_roads
from tests.command.conftest import T0, add_unit, move, take_call
from tests.conftest import SYSTEM

SW, SE, NW = (30.6000, 104.0000), (30.6000, 104.0100), (30.6090, 104.0000)


def place_unit(
    call_sign: str,
    at: tuple[float, float],
    *,
    fix_age: timedelta = timedelta(seconds=30),
    kind: UnitKind = UnitKind.PATROL_CAR,
    skills: str = "",
) -> int:
    unit_id = add_unit(call_sign)
    with db.transaction() as s:
        unit = s.get(Unit, unit_id)
        assert unit is not None
        unit.kind, unit.skills = kind, skills
        unit.lat, unit.lon, unit.fix_at = at[0], at[1], T0 - fix_age
    return unit_id


def ranking_for(incident_id: int, **kw: object) -> recommend.Ranking:
    with db.transaction() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        return recommend.recommendations(s, incident, SYSTEM, now=T0, **kw)  # type: ignore[arg-type]


def test_a_stale_fix_ranks_a_nearer_unit_lower_and_says_so(dispatcher: User, block_roads: None) -> None:
    incident = take_call(text="有人打架", category_code="0202", lat=SW[0], lon=SW[1])
    place_unit("YL-01", NW)  # two minutes' drive down the west street, fix 30 s old
    place_unit("YL-02", SW, fix_age=timedelta(minutes=10))  # on the spot, but seen 10 minutes ago

    ranking = ranking_for(incident)

    assert [r.call_sign for r in ranking.recommended] == ["YL-01", "YL-02"]
    first, second = ranking.recommended
    assert first.reasons == ("fastest",) and first.stale_penalty_s == 0
    # 10 minutes' fix age, 2 of grace, 1 minute per minute: 8 minutes added.
    assert second.stale_penalty_s == pytest.approx(8 * 60)
    assert "stale_fix:+8.0min" in second.reasons
    assert second.travel_s < first.travel_s  # nearer by road, ranked lower for its fix alone
    assert first.fix_age_s == 30 and first.distance_m == pytest.approx(1000.8, abs=1)


def test_a_unit_of_the_wrong_type_or_busy_is_excluded_with_the_reason(
    dispatcher: User, block_roads: None
) -> None:
    crash = take_call(text="两车相撞", category_code="0301", lat=SW[0], lon=SW[1])
    place_unit("YL-FOOT", SW, kind=UnitKind.FOOT_PATROL)
    place_unit("YL-TRAFFIC", NW, kind=UnitKind.TRAFFIC)
    busy = place_unit("YL-CAR", SW)
    other = take_call(text="噪音扰民", category_code="0203", lat=SE[0], lon=SE[1])
    move(busy, "assign", incident_id=other)

    ranking = ranking_for(crash)

    assert [r.call_sign for r in ranking.recommended] == ["YL-TRAFFIC"]
    excluded = {e.call_sign: e.reasons for e in ranking.excluded}
    assert excluded == {"YL-FOOT": ("wrong_type:foot_patrol",), "YL-CAR": ("busy:assigned",)}


def test_a_missing_skill_and_a_lost_position_exclude_a_unit(dispatcher: User, block_roads: None) -> None:
    hurt = take_call(text="有人被砍伤", category_code="0104", lat=SW[0], lon=SW[1])
    place_unit("YL-MEDIC", NW, skills="first_aid, negotiation")
    place_unit("YL-PLAIN", SW)
    place_unit("YL-LOST", SW, skills="first_aid", fix_age=timedelta(minutes=45))

    ranking = ranking_for(hurt)

    assert [r.call_sign for r in ranking.recommended] == ["YL-MEDIC"]
    excluded = {e.call_sign: e.reasons for e in ranking.excluded}
    assert excluded == {"YL-PLAIN": ("missing_skill:first_aid",), "YL-LOST": ("fix_too_old:45min",)}


def test_the_api_lists_the_recommendations_with_their_explanation(api: TestClient, block_roads: None) -> None:
    incident = take_call(text="有人打架", category_code="0202", lat=SW[0], lon=SW[1])
    place_unit("YL-01", NW)
    place_unit("YL-FOOT", SE, kind=UnitKind.TRAFFIC)

    with clock.frozen(T0):
        r = api.get(f"/api/v1/incidents/{incident}/recommendations")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["engine"] in {"scipy", "pgrouting"}
    (rec,) = body["recommended"]
    assert rec["call_sign"] == "YL-01" and rec["rank"] == 1
    assert rec["travel_s"] == pytest.approx(1000.8 / (30 / 3.6), abs=0.5)
    assert rec["fix_age_s"] == 30 and rec["reasons"] == ["fastest"]
    assert body["excluded"] == [
        {
            "unit_id": rec["unit_id"] + 1,
            "call_sign": "YL-FOOT",
            "kind": "traffic",
            "reasons": ["wrong_type:traffic"],
        }
    ]
    assert api.get("/api/v1/incidents/999999/recommendations").status_code == 404


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_pgrouting_and_scipy_give_the_same_ranking(database: str, dispatcher: User) -> None:
    with db.transaction() as s:
        if not has_pgrouting(s):
            if os.environ.get("CI") == "true":
                pytest.fail("CI=true and the pgrouting extension is missing (make test installs it)")
            pytest.skip("pgRouting is not installed: apt-get install postgresql-15-pgrouting")
        do_store_roads(s, generate_roads(11, size=16))
    rng = np.random.default_rng(5)
    lat = rng.uniform(LAT_SOUTH, LAT_NORTH, 40)
    lon = rng.uniform(LON_WEST, LON_EAST, 40)
    ages = rng.integers(0, 900, 40)
    for k in range(40):
        place_unit(f"U-{k:02d}", (lat[k], lon[k]), fix_age=timedelta(seconds=int(ages[k])))
    incident = take_call(text="有人打架", category_code="0202", lat=30.641, lon=104.037)

    with db.transaction() as s:
        by_scipy = ranking_for(incident, limit=40, router=scipy_router(s))
        by_pg = ranking_for(incident, limit=40, router=PgRouter(scipy_router(s).nodes))
    assert by_pg.engine == "pgrouting" and by_scipy.engine == "scipy"
    assert len(by_scipy.recommended) >= 30
    assert [r.call_sign for r in by_pg.recommended] == [r.call_sign for r in by_scipy.recommended]
    for a, b in zip(by_pg.recommended, by_scipy.recommended, strict=True):
        assert a.travel_s == pytest.approx(b.travel_s, abs=0.01)
        assert a.distance_m == pytest.approx(b.distance_m, abs=0.5)


def test_the_dispatcher_accepts_a_recommendation_from_the_incident_page(
    client: TestClient, dispatcher: User, block_roads: None
) -> None:
    import re

    from pingan.core.auth import issue_token

    incident = take_call(text="有人打架", category_code="0202", lat=SW[0], lon=SW[1])
    near = place_unit("YL-01", NW)
    place_unit("YL-FOOT", SE, kind=UnitKind.TRAFFIC)
    client.cookies.set("pingan_token", issue_token(dispatcher))
    html = {"Accept": "text/html"}
    with clock.frozen(T0):
        page = client.get(f"/command/incidents/{incident}", headers=html).text
        assert f'hx-get="/command/incidents/{incident}/recommendations"' in page
        fragment = client.get(f"/command/incidents/{incident}/recommendations", headers=html)
    assert fragment.status_code == 200
    text = fragment.text
    # The first unit with its drive (1,000.8 m at 30 km/h: 2.0 min) and a dispatch button; the traffic
    # unit is left out as the wrong type.
    assert "YL-01" in text and "2.0" in text and "1.00 km" in text
    assert f'action="/command/units/{near}/moves"' in text
    assert "YL-FOOT" in text and "wrong_type" not in text  # the reason is shown in words, not as a code
    token = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert token is not None
    with clock.frozen(T0):
        r = client.post(
            f"/command/units/{near}/moves",
            data={"csrf_token": token.group(1), "move": "assign", "incident_id": str(incident)},
            headers=html,
            follow_redirects=False,
        )
    assert r.status_code == 303, r.text
    with db.transaction() as s:
        unit = s.get(Unit, near)
        assert unit is not None and unit.state.value == "assigned" and unit.incident_id == incident


def test_without_a_road_graph_no_unit_is_recommended_and_the_note_says_why(api: TestClient) -> None:
    incident = take_call(text="有人打架", category_code="0202", lat=SW[0], lon=SW[1])
    place_unit("YL-01", NW)
    with clock.frozen(T0):
        body = api.get(f"/api/v1/incidents/{incident}/recommendations").json()
    assert body["recommended"] == [] and body["notes"] == ["no_road_graph"]
    assert [e["reasons"] for e in body["excluded"]] == [["no_road_route"]]
    r = api.get(f"/api/v1/incidents/{incident}/recommendations", params={"limit": 0})
    assert r.status_code == 422 and "limit" in r.text


def _forty_units_around_the_district(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(LAT_SOUTH, LAT_NORTH, 40)
    lon = rng.uniform(LON_WEST, LON_EAST, 40)
    ages = rng.integers(0, 1500, 40)
    for k in range(40):
        place_unit(f"U-{k:02d}", (lat[k], lon[k]), fix_age=timedelta(seconds=int(ages[k])))


def test_a_search_stopped_at_a_bound_ranks_the_first_units_as_the_full_search_does(
    dispatcher: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.transaction() as s:
        do_store_roads(s, generate_roads(11, size=16))
    _forty_units_around_the_district(7)
    incidents = [take_call(text="有人打架", category_code="0202", lat=la, lon=lo) for la, lo in [(30.641, 104.037), (30.62, 104.01), (30.66, 104.06)]]  # fmt: skip

    bounded = [ranking_for(i) for i in incidents]
    monkeypatch.setattr(recommend, "SEARCH_BOUNDS_S", (None,))
    full = [ranking_for(i) for i in incidents]

    for b, f in zip(bounded, full, strict=True):
        assert len(b.recommended) == 5
        assert b.recommended == f.recommended  # same units, times, distances and reasons
        assert b.excluded == f.excluded


def test_a_unit_beyond_the_bound_is_never_called_unroutable(
    dispatcher: User, block_roads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = take_call(text="有人打架", category_code="0202", lat=SW[0], lon=SW[1])
    place_unit("YL-01", SW)
    place_unit("YL-02", NW)  # two minutes' drive away
    monkeypatch.setattr(recommend, "SEARCH_BOUNDS_S", (30.0, None))

    one = ranking_for(incident, limit=1)
    two = ranking_for(incident, limit=2)

    # One unit within 30 s suffices for the first place; the other is beyond the bound, not excluded.
    assert [r.call_sign for r in one.recommended] == ["YL-01"] and one.excluded == ()
    # For two places the whole graph is searched.
    assert [r.call_sign for r in two.recommended] == ["YL-01", "YL-02"]
