"""The 110 clock chain is computed from the incident's event log, with its breaches; the weekly
bulletin's figures match a week worked out by hand."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime, timedelta

import openpyxl
import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.command import queries
from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from tests.command.conftest import T0, YULIN, add_unit, move, take_call
from tests.conftest import bearer


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


@pytest.fixture
def yulin_week(district: None) -> None:
    """Yulin's week (Monday 2026-11-30, Beijing time, long over), worked out by hand:

    1. signed off 20 s, 玉林1 assigned 30 s, on scene 240 s, feedback 840 s: all met;
    2. signed off 50 s (late), 玉林2 assigned 60 s, on scene 400 s (late), feedback 2400 s (late);
    3. not signed off by hand; 玉林3 assigned at 40 s signs it off then (40 s, late), never arrives;
    4. a hoax, which is not an incident of the bulletin;
    5. a Jitouqiao incident, another station's.

    sign-off 1 of 3 = 33.3 %; on scene 1 of 3 = 33.3 %; feedback 1 of 2 = 50.0 %;
    slowest: 玉林2 340 s, 玉林1 210 s (玉林3 never arrived: no time to rank).
    """
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


# The hand-computed week's figures, as the files write them: (heading, within, counted, percent).
WEEK_SHARES = [
    ("30 秒内签收", 1, 3, 33.3),
    ("5 分钟（城区）/ 10 分钟（郊区）内到达现场", 1, 3, 33.3),
    ("30 分钟内反馈", 1, 2, 50.0),
]
# (rank, call sign, mean minutes assigned to on scene, responses): 340 s and 210 s.
WEEK_SLOWEST = [(1, "玉林2", 5.7, 1), (2, "玉林1", 3.5, 1)]
WEEK = {"station": "WH-YL", "week": "2026-11-30"}
ZH = {"Accept-Language": "zh-CN"}


def test_the_weekly_bulletin_matches_the_hand_computed_week(api: TestClient, yulin_week: None) -> None:
    r = api.get("/api/v1/command/bulletin", params={"station_code": "WH-YL", "week_start": "2026-11-30"})
    b = r.json()
    assert b["incidents"] == 3
    assert (b["sign_off"]["within"], b["sign_off"]["total"], b["sign_off"]["percent"]) == (1, 3, 33.3)
    assert (b["on_scene"]["within"], b["on_scene"]["total"], b["on_scene"]["percent"]) == (1, 3, 33.3)
    assert (b["feedback"]["within"], b["feedback"]["total"], b["feedback"]["percent"]) == (1, 2, 50.0)
    assert [(u["call_sign"], u["mean_s"]) for u in b["slowest_units"]] == [("玉林2", 340.0), ("玉林1", 210.0)]


def _sheet_rows(content: bytes) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [tuple(c for c in row if c is not None) for row in book.active.iter_rows(values_only=True)]


def test_the_bulletin_xlsx_holds_the_hand_computed_figures_under_chinese_headings(
    api: TestClient, yulin_week: None
) -> None:
    r = api.get("/command/bulletin.xlsx", params=WEEK, headers=ZH)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="bulletin-WH-YL-2026-11-30.xlsx"'
    rows = _sheet_rows(r.content)
    by_heading = {row[0]: row[1:] for row in rows if row}
    assert rows[0] == ("玉林派出所 · 110 周通报",)
    assert by_heading["接警数"] == (3,)
    # Monday 00:00 to the next Monday 00:00, Beijing time (2026-11-29 16:00 UTC onwards).
    assert by_heading["周期"] == ("2026-11-30 00:00 – 2026-12-07 00:00 北京时间",)
    assert ("指标", "达标", "计数", "达标率（%）") in rows
    assert [row for row in rows if row and row[0] in {h for h, *_ in WEEK_SHARES}] == WEEK_SHARES
    assert [row for row in rows if row and row[0] in (1, 2, 3)] == WEEK_SLOWEST


def test_the_bulletin_pdf_opens_and_carries_the_hand_computed_figures(
    api: TestClient, yulin_week: None
) -> None:
    r = api.get("/command/bulletin.pdf", params=WEEK, headers=ZH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) == 1
    # pypdf spaces out (or NUL-pads) the glyphs of a CID font: compare the text without them.
    text = re.sub(r"[\s\x00]+", "", reader.pages[0].extract_text())
    assert "玉林派出所·110周通报" in text
    assert "周期:2026-11-3000:00–2026-12-0700:00北京时间" in text
    assert "接警数:3" in text
    for heading, within, total, percent in WEEK_SHARES:
        assert re.sub(r"\s+", "", f"{heading}{within}{total}{percent:.1f}") in text
    for rank, call_sign, minutes, responses in WEEK_SLOWEST:
        assert f"{rank}{call_sign}{minutes:.1f}{responses}" in text


def test_a_bulletin_download_is_audited_with_its_week_format_and_scope(
    api: TestClient, yulin_week: None
) -> None:
    assert api.get("/command/bulletin.xlsx", params=WEEK).status_code == 200
    with db.read_transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.export")).one()
    assert (entry.actor, entry.object_id) == ("dispatcher_chen", "WH-YL:2026-11-30")
    assert json.loads(entry.detail) == {
        "filters": {"station": "WH-YL", "week": "2026-11-30"},
        "format": "xlsx",
        "rows": 3,
        "scope": "district",
    }


def test_a_bulletin_download_names_a_week_that_is_not_a_monday(api: TestClient, district: None) -> None:
    r = api.get("/command/bulletin.pdf", params={"station": "WH-YL", "week": "2026-12-01"})
    assert (r.status_code, r.json()["field"]) == (422, "week")


def test_an_officer_cannot_download_another_stations_bulletin(client: TestClient, officer_jtq: User) -> None:
    client.headers.update(bearer(officer_jtq))
    assert client.get("/command/bulletin.xlsx", params=WEEK).status_code == 404


def test_the_bulletin_page_links_its_pdf_and_xlsx(api: TestClient, yulin_week: None) -> None:
    page = api.get("/command/bulletin", params=WEEK, headers={"Accept": "text/html"}).text
    assert 'href="/command/bulletin.pdf?station=WH-YL&amp;week=2026-11-30"' in page
    assert 'href="/command/bulletin.xlsx?station=WH-YL&amp;week=2026-11-30"' in page


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
