"""Tricycles and other enforcement campaigns: violations by kind, place and hour; a campaign's
figures before and during, by the EB before–after method where accidents are the outcome, plain
counts with the caveat where violations are (or where no comparison group exists)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from pingan.command.roads import Roads
from pingan.core.auth import User
from pingan.traffic.queries import BEIJING
from tests.traffic.conftest import on_segment
from tests.traffic.test_pages import seed_accidents
from tests.traffic.test_racing import HTML, browser, csrf


def violation(api: TestClient, grid: Roads, k: int, kind: str, at: datetime) -> None:
    lat, lon = on_segment(grid, k)
    r = api.post(
        "/api/v1/traffic/violations",
        json={"kind": kind, "occurred_at": at.isoformat(), "lat": lat, "lon": lon},
    )
    assert r.status_code == 201, r.text


def campaign(api: TestClient, **extra: Any) -> dict[str, Any]:
    today = datetime.now(BEIJING).date()
    body: dict[str, Any] = {
        "name": "三轮车专项整治",
        "target": "tri_passengers",
        "outcome": "violations",
        "started_on": (today - timedelta(days=10)).isoformat(),
        "ended_on": today.isoformat(),
    }
    body.update(extra)
    return body


def test_violations_count_plainly_before_and_during_with_the_caveat(api: TestClient, grid: Roads) -> None:
    now = datetime.now(UTC)
    for days in (12, 15):  # before the campaign (the 11 days before it)
        violation(api, grid, 3, "tri_passengers", now - timedelta(days=days))
    for days in (1, 2, 3, 4, 5):  # during it
        violation(api, grid, 3, "tri_passengers", now - timedelta(days=days))
    violation(api, grid, 3, "ebike_no_helmet", now - timedelta(days=2))  # another kind: not counted
    created = api.post("/api/v1/traffic/campaigns", json=campaign(api))
    assert created.status_code == 201
    figures = api.get(f"/api/v1/traffic/campaigns/{created.json()['id']}").json()
    assert (figures["method"], figures["before"], figures["during"]) == ("plain_counts", 2, 5)
    assert figures["effect"] is None and "not an effect estimate" in figures["caveat"]


def test_a_campaign_starting_in_the_future_or_ending_before_it_starts_gets_422(
    api: TestClient, grid: Roads
) -> None:
    today = datetime.now(BEIJING).date()
    later = api.post("/api/v1/traffic/campaigns", json=campaign(api, started_on=(today + timedelta(days=3)).isoformat(),
                                                                 ended_on=(today + timedelta(days=9)).isoformat()))  # fmt: skip
    assert later.status_code == 422 and later.json()["field"] == "started_on"
    backwards = api.post(
        "/api/v1/traffic/campaigns", json=campaign(api, ended_on=(today - timedelta(days=20)).isoformat())
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "ended_on"
    nowhere = api.post("/api/v1/traffic/campaigns", json=campaign(api, edges=[int(grid.edge_id[0]), 999_999]))
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "edges.1"


def test_an_accident_campaign_on_segments_gets_the_eb_estimate(api: TestClient, grid: Roads) -> None:
    seed_accidents(grid, n=150)
    today = datetime.now(BEIJING).date()  # the campaign's days are Beijing days, whatever UTC says
    body = campaign(api, outcome="accidents", target=None, edges=[int(grid.edge_id[3]), int(grid.edge_id[17])],
                    started_on=(today - timedelta(days=200)).isoformat())  # fmt: skip
    created = api.post("/api/v1/traffic/campaigns", json=body).json()
    figures = api.get(f"/api/v1/traffic/campaigns/{created['id']}").json()
    assert figures["method"] == "eb_before_after" and figures["effect"]["method"]
    e = figures["effect"]
    assert e["theta_low"] <= e["theta"] <= e["theta_high"] and e["sites"] == 2
    # The same length before as during: from its first day (Beijing time) until now, in whole days.
    assert figures["during_days"] == figures["before_days"] in {199, 200}


def test_a_district_wide_accident_campaign_says_why_it_has_no_estimate(api: TestClient, grid: Roads) -> None:
    seed_accidents(grid, n=40)
    created = api.post(
        "/api/v1/traffic/campaigns", json=campaign(api, outcome="accidents", target=None)
    ).json()
    figures = api.get(f"/api/v1/traffic/campaigns/{created['id']}").json()
    assert figures["method"] == "plain_counts" and "comparison group" in figures["caveat"]


def test_the_campaign_page_tallies_violations_and_refuses_a_bad_form_naming_the_field(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    page = b.get("/traffic/campaigns", headers=HTML)
    assert page.status_code == 200
    lat, lon = on_segment(grid, 6)
    at = (datetime.now(UTC) + timedelta(hours=8) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    ok = b.post("/traffic/violations", headers=HTML, follow_redirects=False,
                data={"csrf_token": csrf(page.text), "kind": "tri_unlicensed", "occurred_at": at, "lat": str(lat), "lon": str(lon)})  # fmt: skip
    assert ok.status_code == 303
    shown = b.get("/traffic/campaigns", headers=HTML).text
    # Tallied by kind and by place, the place said by its street between the cross streets.
    assert (
        "unlicensed tricycle" in shown
        and "纬2街 between 经2街 and 经3街" in shown
        and "segment:" not in shown
    )
    bad = b.post("/traffic/campaigns", headers=HTML,
                 data={"csrf_token": csrf(page.text), "name": "x", "outcome": "violations",
                       "started_on": "2026-02-30", "ended_on": "2026-03-01"})  # fmt: skip
    assert bad.status_code == 422 and "started_on" in bad.text
    # A campaign on two streets lists them by name.
    today = datetime.now(UTC).date().isoformat()
    two = b.post("/traffic/campaigns", headers=HTML, follow_redirects=False,
                 data={"csrf_token": csrf(page.text), "name": "三轮车整治", "outcome": "violations",
                       "started_on": today, "ended_on": today, "edges": "7, 8"})  # fmt: skip
    assert two.status_code == 303
    listed = b.get("/traffic/campaigns", headers=HTML).text
    assert "纬2街 between 经2街 and 经3街、纬2街 between 经3街 and 经4街" in listed


def test_a_date_outside_this_century_gets_422_naming_it(api: TestClient, grid: Roads) -> None:
    old = api.post("/api/v1/traffic/campaigns", json=campaign(api, started_on="1999-12-31"))
    assert old.status_code == 422 and "started_on" in old.text
    measure = {"kind": "camera", "edge_id": int(grid.edge_id[0]), "installed_on": "0001-01-01"}
    r = api.post("/api/v1/traffic/countermeasures", json=measure)
    assert r.status_code == 422 and "installed_on" in r.text
