"""Street racing and loud exhausts (飙车炸街): the hot-spot rule at its thresholds, the patrols it
proposes, the noise message reading (levels only, audio refused), citizen reports and enforcement
results over the API and the page forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.command.roads import Roads
from pingan.core import db
from pingan.core.auth import User, issue_token
from pingan.traffic import actions, rules
from pingan.traffic.choices import NoiseRefusal
from pingan.traffic.model import NoiseDeadLetter, NoiseReading
from tests.conftest import bearer
from tests.traffic.conftest import on_segment

BEIJING = ZoneInfo("Asia/Shanghai")
HTML = {"Accept": "text/html,application/xhtml+xml"}


def noise(sensor: str, seq: int, *, at: datetime, lat: float, lon: float, lmax: float, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "v": 1, "sensor": sensor, "seq": seq, "ts": at.isoformat(), "lat": lat, "lon": lon,
        "laeq_db": min(lmax, 70.0), "lmax_db": lmax, "window_s": 60,
    }  # fmt: skip
    body.update(extra)
    return json.dumps(body).encode()


def ingest(topic: str, raw: bytes) -> actions.NoiseIngested:
    with db.transaction() as s:
        return actions.do_ingest_noise(
            s, topic=topic, raw=raw, now=datetime.now(UTC), snapper=actions.Snapper.load(s)
        )


# ------------------------------------------------------------------------------------------ rules


def test_a_reading_just_below_the_threshold_counts_for_nothing_and_one_at_it_counts() -> None:
    spots = rules.racing_hot_spots(
        ["segment:1", "segment:2"], np.array([14, 14]), np.array([84.9, 85.0]), [], np.array([], dtype=int)
    )
    assert [(s.place, s.score) for s in spots] == [("segment:2", 1.0)]
    assert spots[0].reasons == ("loud_readings:1>=85dB",)


def test_night_starts_at_22_and_ends_at_6() -> None:
    assert [rules.is_night(h) for h in (21, 22, 23, 0, 5, 6)] == [False, True, True, True, True, False]
    spots = rules.racing_hot_spots(
        ["a", "a", "b"], np.array([22, 22, 21]), np.array([95.0, 95, 95]), [], np.array([], dtype=int)
    )
    by_place = {s.place: s for s in spots}
    assert by_place["a"].score == 4.0 and by_place["a"].night_readings == 2
    assert by_place["b"].score == 1.0 and by_place["b"].night_readings == 0


def test_a_citizen_report_weighs_three_loud_readings_and_says_so() -> None:
    spots = rules.racing_hot_spots(
        ["a"] * 3, np.array([15, 15, 15]), np.array([90.0] * 3), ["b"], np.array([15])
    )
    assert spots[0].score == spots[1].score == 3.0
    b = next(s for s in spots if s.place == "b")
    assert b.reports == 1 and b.reasons == ("citizen_reports:1x3",)


def test_a_patrol_covers_the_hottest_run_of_hours_across_midnight() -> None:
    spots = [
        rules.HotSpot("segment:7", 23, 4.0, 2, 2, 0, ("at_night:2x2",)),
        rules.HotSpot("segment:7", 0, 6.0, 3, 3, 0, ()),
        rules.HotSpot("segment:7", 1, 2.0, 1, 1, 0, ()),
        rules.HotSpot("segment:7", 12, 1.0, 1, 0, 0, ()),
        rules.HotSpot("segment:9", 20, 3.0, 0, 0, 1, ("citizen_reports:1x3",)),
    ]
    plans = rules.propose_patrols(spots, places=5, max_hours=3)
    assert [(p.place, p.start_hour, p.end_hour, p.score) for p in plans] == [
        ("segment:7", 23, 2, 12.0),
        ("segment:9", 20, 21, 3.0),
    ]
    assert "at_night:2x2" in plans[0].reasons


# ---------------------------------------------------------------------------- the noise message


def test_a_patrols_reasons_are_said_in_words_each_kind_summed_over_its_hours() -> None:
    from pingan.traffic.pages import hot_reasons

    hours = ["loud_readings:12>=85dB", "at_night:12x2", "citizen_reports:5x3", "loud_readings:3>=85dB"]
    assert hot_reasons([*hours, "something_new:1"]) == (
        "15次读数达85分贝（A计权最大声级）以上，其中夜间12次（计2倍），群众举报5件（每件计3分），something_new:1"
    )
    assert hot_reasons([]) == ""


def test_an_audio_field_anywhere_refuses_the_whole_message_and_keeps_no_content() -> None:
    at = datetime.now(UTC)
    for extra in (
        {"audio": "UklGRiQAAABXQVZF"},
        {"meta": {"clip": "x"}},
        {"note": "data:audio/wav;base64,AAAA"},
    ):
        raw = noise("N-1", 1, at=at, lat=30.6, lon=104.0, lmax=96.0, **extra)
        read = rules.read_noise_message("pingan/noise/N-1/level", raw, root="pingan", now=at)
        assert isinstance(read, rules.NoiseRefused) and read.reason is NoiseRefusal.FORBIDDEN_MEDIA


def test_a_noise_message_is_read_with_its_levels_and_bad_fields_are_named() -> None:
    at = datetime.now(UTC)
    ok = rules.read_noise_message(
        "pingan/noise/N-1/level",
        noise("N-1", 3, at=at, lat=30.6, lon=104.0, lmax=96.5),
        root="pingan",
        now=at,
    )
    assert isinstance(ok, rules.NoiseMessage) and ok.lmax_db == 96.5 and ok.seq == 3
    cases = [
        (
            "pingan/noise/N-1/audio",
            noise("N-1", 1, at=at, lat=30.6, lon=104.0, lmax=90),
            NoiseRefusal.UNKNOWN_TOPIC,
        ),
        (
            "pingan/noise/N-2/level",
            noise("N-1", 1, at=at, lat=30.6, lon=104.0, lmax=90),
            NoiseRefusal.INVALID_FIELD,
        ),
        (
            "pingan/noise/N-1/level",
            noise("N-1", 1, at=at, lat=30.6, lon=104.0, lmax=141),
            NoiseRefusal.INVALID_FIELD,
        ),
        ("pingan/noise/N-1/level", b"{not json", NoiseRefusal.MALFORMED_JSON),
    ]
    for topic, raw, reason in cases:
        read = rules.read_noise_message(topic, raw, root="pingan", now=at)
        assert isinstance(read, rules.NoiseRefused) and read.reason is reason, (topic, read)
    low = rules.read_noise_message(
        "pingan/noise/N-1/level",
        noise("N-1", 1, at=at, lat=30.6, lon=104.0, lmax=60, laeq_db=65.0),
        root="pingan",
        now=at,
    )
    assert isinstance(low, rules.NoiseRefused) and low.detail.startswith("lmax_db")
    # Five minutes ahead of the ingest's clock is taken; a second more is a sensor clock gone wrong.
    for ahead, taken in ((300, True), (301, False)):
        raw = noise("N-1", 1, at=at + timedelta(seconds=ahead), lat=30.6, lon=104.0, lmax=90)
        read = rules.read_noise_message("pingan/noise/N-1/level", raw, root="pingan", now=at)
        assert isinstance(read, rules.NoiseMessage) is taken, (ahead, read)


def test_a_reading_is_placed_on_its_segment_and_a_copy_is_refused_as_replayed(grid: Roads) -> None:
    lat, lon = on_segment(grid, 4)
    raw = noise("N-7", 1, at=datetime.now(UTC), lat=lat, lon=lon, lmax=98.0)
    first = ingest("pingan/noise/N-7/level", raw)
    again = ingest("pingan/noise/N-7/level", raw)
    assert first.accepted and not again.accepted and again.refusal is NoiseRefusal.REPLAYED
    with db.transaction() as s:
        reading = s.execute(select(NoiseReading)).scalar_one()
        assert reading.edge_id == int(grid.edge_id[4]) and reading.lmax_db == 98.0


def test_an_audio_payload_is_a_dead_letter_with_the_field_name_only(grid: Roads) -> None:
    result = ingest(
        "pingan/noise/N-8/level",
        noise("N-8", 1, at=datetime.now(UTC), lat=30.6, lon=104.0, lmax=99, recording="UklGR"),
    )
    assert result.refusal is NoiseRefusal.FORBIDDEN_MEDIA
    with db.transaction() as s:
        letter = s.execute(select(NoiseDeadLetter)).scalar_one()
        assert (letter.detail, letter.excerpt, letter.sensor) == ("recording", "", "N-8")
        assert s.execute(select(func.count()).select_from(NoiseReading)).scalar_one() == 0


# ------------------------------------------------------------------------------ API and pages


def night_hour_utc(days_ago: int, hour_bj: int) -> datetime:
    day = (datetime.now(BEIJING) - timedelta(days=days_ago)).date()
    return datetime(day.year, day.month, day.day, hour_bj, 10, tzinfo=BEIJING).astimezone(UTC)


def test_loud_nights_and_reports_make_the_hot_spot_and_its_patrol(api: TestClient, grid: Roads) -> None:
    lat, lon = on_segment(grid, 10)
    for n in range(1, 6):
        assert ingest(
            "pingan/noise/N-9/level", noise("N-9", n, at=night_hour_utc(n, 23), lat=lat, lon=lon, lmax=97.0)
        ).accepted
    quiet_lat, quiet_lon = on_segment(grid, 20)
    assert ingest(
        "pingan/noise/N-10/level",
        noise("N-10", 1, at=night_hour_utc(1, 23), lat=quiet_lat, lon=quiet_lon, lmax=70.0),
    ).accepted
    r = api.post(
        "/api/v1/traffic/racing/reports",
        json={
            "occurred_at": night_hour_utc(2, 0).isoformat(),
            "lat": lat,
            "lon": lon,
            "kind": "loud_exhaust",
        },
    )
    assert r.status_code == 201 and r.json()["edge_id"] == int(grid.edge_id[10])
    picture = api.get("/api/v1/traffic/racing").json()
    top = picture["hot_spots"][0]
    assert (top["place"], top["hour"], top["score"]) == (f"segment:{int(grid.edge_id[10])}", 23, 10.0)
    assert all(h["place"] != f"segment:{int(grid.edge_id[20])}" for h in picture["hot_spots"])
    patrol = picture["patrols"][0]
    assert (patrol["place"], patrol["start_hour"], patrol["end_hour"]) == (top["place"], 23, 1)
    layer = api.get("/traffic/racing.geojson").json()
    assert (
        layer["features"][0]["properties"]["rank"] == 1
        and layer["features"][0]["geometry"]["type"] == "Point"
    )
    # Page and map say where, by street; the patrol links to its results form at that segment.
    where = "纬3街 between 经1大道 and 经2街"
    assert layer["features"][0]["properties"]["name"] == where
    page = api.get("/traffic/racing", headers=HTML).text
    assert where in page and "segment:" not in page
    assert f"/traffic/racing?days=30&amp;edge_id={int(grid.edge_id[10])}#enforcement" in page
    form = api.get("/traffic/racing", params={"edge_id": int(grid.edge_id[10])}, headers=HTML).text
    assert f'name="edge_id" value="{int(grid.edge_id[10])}"' in form


def test_a_report_of_something_in_the_future_gets_422_naming_the_field(api: TestClient, grid: Roads) -> None:
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = api.post(
        "/api/v1/traffic/racing/reports",
        json={"occurred_at": later, "lat": 30.6, "lon": 104.0, "kind": "racing"},
    )
    assert r.status_code == 422 and r.json()["field"] == "occurred_at"


def test_enforcement_results_are_recorded_and_bad_ones_refused_naming_the_field(
    api: TestClient, grid: Roads
) -> None:
    start = datetime.now(UTC) - timedelta(hours=5)
    body = {"edge_id": int(grid.edge_id[10]), "started_at": start.isoformat(),
            "ended_at": (start + timedelta(hours=3)).isoformat(), "stops": 14, "vehicles_seized": 3, "cases": 2}  # fmt: skip
    r = api.post("/api/v1/traffic/racing/enforcement", json=body)
    assert r.status_code == 201 and r.json()["vehicles_seized"] == 3
    backwards = api.post(
        "/api/v1/traffic/racing/enforcement",
        json={**body, "ended_at": (start - timedelta(hours=1)).isoformat()},
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "ended_at"
    nowhere = api.post("/api/v1/traffic/racing/enforcement", json={**body, "edge_id": 999_999})
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "edge_id"
    negative = api.post("/api/v1/traffic/racing/enforcement", json={**body, "stops": -1})
    assert negative.status_code == 422


def browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


def csrf(page: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_racing_page_takes_a_report_and_shows_a_refusal_naming_the_field(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    page = b.get("/traffic/racing", headers=HTML)
    assert page.status_code == 200 and 'data-racing="/traffic/racing.geojson' in page.text
    lat, lon = on_segment(grid, 2)
    form = {"csrf_token": csrf(page.text), "kind": "racing", "lat": str(lat), "lon": str(lon), "note": "摩托车",
            "occurred_at": (datetime.now(BEIJING) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
    done = b.post("/traffic/racing/reports", data=form, headers=HTML, follow_redirects=False)
    assert done.status_code == 303
    assert "摩托车" in b.get("/traffic/racing", headers=HTML).text
    bad = b.post("/traffic/racing/reports", data={**form, "lat": "north"}, headers=HTML)
    assert bad.status_code == 422 and 'role="alert"' in bad.text and "lat" in bad.text
    future = (datetime.now(BEIJING) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    later = b.post("/traffic/racing/reports", data={**form, "occurred_at": future}, headers=HTML)
    assert later.status_code == 422 and "occurred_at" in later.text


def test_a_dispatcher_takes_reports_but_may_not_record_enforcement(
    client: TestClient, dispatcher_chen: User, grid: Roads
) -> None:
    h = bearer(dispatcher_chen)
    ok = client.post("/api/v1/traffic/racing/reports", headers=h,
                     json={"occurred_at": datetime.now(UTC).isoformat(), "lat": 30.6, "lon": 104.0, "kind": "racing"})  # fmt: skip
    assert ok.status_code == 201
    now = datetime.now(UTC)
    no = client.post("/api/v1/traffic/racing/enforcement", headers=h,
                     json={"edge_id": int(grid.edge_id[0]), "started_at": now.isoformat(), "ended_at": now.isoformat()})  # fmt: skip
    assert no.status_code == 403


@pytest.mark.browser_language("zh-CN")
def test_the_racing_and_campaign_pages_read_in_chinese(
    client: TestClient, officer_sun: User, grid: Roads
) -> None:
    b = browser(client, officer_sun)
    racing = b.get("/traffic/racing", headers=HTML).text
    assert "飙车炸街" in racing and "建议巡逻" in racing and "受理举报" in racing
    campaigns = b.get("/traffic/campaigns", headers=HTML).text
    assert "专项整治" in campaigns and "无牌无证三轮车" in campaigns
