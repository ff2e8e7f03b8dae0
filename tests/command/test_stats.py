"""Statistics: year-over-year and month-over-month change by category and station, worked out by
hand; hotspots on H3 cells tested against each cell's own history."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import h3
from fastapi.testclient import TestClient

from pingan.command import stats
from pingan.core import db
from pingan.core.auth import User
from tests.command.conftest import EAST_OF_DISTRICT, YULIN, take_call
from tests.conftest import SYSTEM, bearer

# Mid-month times in UTC (noon Beijing time), far from any month boundary.
OCT_2026 = datetime(2026, 10, 15, 4, tzinfo=UTC)
SEP_2026 = datetime(2026, 9, 15, 4, tzinfo=UTC)
OCT_2025 = datetime(2025, 10, 15, 4, tzinfo=UTC)


def test_the_change_is_the_difference_over_the_base_and_a_zero_base_has_no_rate() -> None:
    assert stats.change(6, 4) == 0.5
    assert stats.change(3, 4) == -0.25
    assert stats.change(5, 0) is None
    assert stats.format_change(stats.change(6, 4)) == "+50.0%"
    assert stats.format_change(stats.change(3, 4)) == "−25.0%"
    assert stats.format_change(stats.change(0, 0)) == "—"
    assert stats.format_change(float("inf")) == "—"


def test_the_year_ago_and_previous_months_of_january_cross_the_year() -> None:
    jan = stats.Period.parse("2026-01")
    assert str(jan.last_year) == "2025-01" and str(jan.previous) == "2025-12"
    start, end = jan.bounds()
    assert start == datetime(2025, 12, 31, 16, tzinfo=UTC) and end == datetime(2026, 1, 31, 16, tzinfo=UTC)


def _fixture() -> None:
    """By hand, for October 2026 (this month), October 2025 (year ago), September 2026 (month before):

    | type            | Oct 2026 | Oct 2025 | Sep 2026 | YoY            | MoM            |
    | 0101 theft      | 3        | 4        | 2        | (3-4)/4 = −25% | (3-2)/2 = +50% |
    | 0202 fights     | 2 + 1    | 0        | 2        | —  (zero base) | (3-2)/2 = +50% |
    | 0201 disputes   | 0        | 1        | 0        | −100%          | —              |

    The third fight lies outside the district, and a duplicate call about it is not counted again.
    """
    here = {"lat": YULIN[0], "lon": YULIN[1]}
    for when, code, n in [
        (OCT_2026, "010103", 3),
        (OCT_2025, "010101", 4),
        (SEP_2026, "010102", 2),
        (OCT_2026, "020201", 2),
        (SEP_2026, "020201", 2),
        (OCT_2025, "020101", 1),
    ]:
        for i in range(n):
            take_call(category_code=code, received_at=when + timedelta(hours=i), **here)
    # Neither an attached call nor a duplicate is a second incident.
    first = take_call(
        category_code="020201", received_at=OCT_2026, lat=EAST_OF_DISTRICT[0], lon=EAST_OF_DISTRICT[1]
    )
    take_call(
        category_code="020201",
        received_at=OCT_2026,
        disposition="duplicate",
        related_incident_id=first,
        disposition_reason="same fight",
    )


def test_yoy_and_mom_by_type_match_the_hand_computed_table(district: None) -> None:
    _fixture()
    with db.read_transaction() as s:
        table = stats.period_table(s, SYSTEM, period=stats.Period(2026, 10), grouping=stats.Grouping.TYPE)
    rows = {r.key: r for r in table.rows}
    assert (rows["0101"].current, rows["0101"].last_year, rows["0101"].previous) == (3, 4, 2)
    assert rows["0101"].yoy == -0.25 and rows["0101"].mom == 0.5
    assert (rows["0202"].current, rows["0202"].last_year, rows["0202"].previous) == (3, 0, 2)
    assert rows["0202"].yoy is None and stats.format_change(rows["0202"].yoy) == "—"
    assert rows["0201"].yoy == -1.0 and rows["0201"].mom is None
    assert (table.total.current, table.total.last_year, table.total.previous) == (6, 5, 4)


def test_by_class_and_by_station_the_same_incidents_add_up(district: None) -> None:
    _fixture()
    with db.read_transaction() as s:
        by_class = stats.period_table(s, SYSTEM, period=stats.Period(2026, 10), grouping=stats.Grouping.CLASS)
        by_station = stats.period_table(
            s, SYSTEM, period=stats.Period(2026, 10), grouping=stats.Grouping.STATION
        )
    classes = {r.key: (r.current, r.last_year, r.previous) for r in by_class.rows}
    assert classes == {"01": (3, 4, 2), "02": (3, 1, 2)}
    yulin = next(r for r in by_station.rows if r.key == "WH-YL")
    assert (yulin.current, yulin.last_year, yulin.previous) == (5, 5, 4)


def test_a_planted_cell_is_a_hotspot_and_a_steady_one_is_not() -> None:
    planted = h3.latlng_to_cell(30.6125, 104.0525, 8)
    steady = h3.latlng_to_cell(30.6500, 104.0800, 8)
    history = [Counter({planted: 1, steady: 5}) for _ in range(8)]
    current = Counter({planted: 9, steady: 6})
    scores = {c.cell: c for c in stats.hotspots(current, history)}
    assert scores[planted].hotspot and scores[planted].p_value < 1e-4
    assert scores[planted].expected == (8 + 0.5) / 8
    assert not scores[steady].hotspot and scores[steady].p_value > 0.2


def test_a_cell_with_few_incidents_is_never_a_hotspot_however_quiet_its_past() -> None:
    cell = h3.latlng_to_cell(30.6125, 104.0525, 8)
    scores = stats.hotspots(Counter({cell: 2}), [Counter() for _ in range(8)])
    assert not scores[0].hotspot


def test_the_hotspot_scan_reads_the_stored_incidents_cell_by_cell(district: None) -> None:
    end = datetime(2026, 11, 1, tzinfo=UTC)
    # Planted: 8 calls in the last 28 days at Yulin, one call in each earlier window.
    for i in range(8):
        take_call(text="有人打架", lat=YULIN[0], lon=YULIN[1], received_at=end - timedelta(days=2, hours=i))
    for w in range(1, 9):
        take_call(text="有人打架", lat=YULIN[0], lon=YULIN[1], received_at=end - timedelta(days=28 * w + 3))
    with db.read_transaction() as s:
        scan = stats.hotspot_scan(s, SYSTEM, end=end, resolution=8)
    cell = h3.latlng_to_cell(YULIN[0], YULIN[1], 8)
    (score,) = [c for c in scan.cells if c.cell == cell]
    assert score.count == 8 and score.history == (1,) * 8 and score.hotspot


def test_the_stats_api_shows_formulas_and_a_dash_for_a_zero_base(api: TestClient) -> None:
    _fixture()
    out = api.get("/api/v1/command/stats", params={"month": "2026-10", "by": "type"})
    assert out.status_code == 200, out.text
    body = out.json()
    assert body["formulas"]["yoy"] == stats.YOY_FORMULA
    fights = next(r for r in body["rows"] if r["key"] == "0202")
    assert fights["yoy"] is None and fights["yoy_text"] == "—" and fights["mom_text"] == "+50.0%"
    assert "None" not in out.text and "inf" not in out.text.lower()


def test_a_bad_month_is_refused_naming_the_field(api: TestClient) -> None:
    out = api.get("/api/v1/command/stats", params={"month": "2026-13"})
    assert out.status_code == 422 and "month" in out.text


def test_the_stats_page_shows_the_formula_and_charts_without_inline_script(api: TestClient) -> None:
    _fixture()
    page = api.get("/command/stats", params={"month": "2026-10", "by": "type"})
    assert page.status_code == 200
    assert stats.YOY_FORMULA in page.text and "/static/command-stats.js" in page.text
    assert "−25.0%" in page.text and "None" not in page.text
    assert "<script>" not in page.text


def test_the_printable_view_has_the_tables_without_the_navigation(api: TestClient) -> None:
    _fixture()
    page = api.get("/command/stats", params={"month": "2026-10", "by": "class", "print": "1"})
    assert page.status_code == 200
    assert stats.MOM_FORMULA in page.text and 'id="change-table"' in page.text
    assert "<nav" not in page.text and 'action="/command/stats"' not in page.text


def test_the_hotspots_api_states_its_method_and_flags_the_planted_cell(api: TestClient) -> None:
    end = datetime(2026, 10, 31, 16, tzinfo=UTC)  # 2026-11-01 00:00 Beijing time
    for i in range(8):
        take_call(text="有人打架", lat=YULIN[0], lon=YULIN[1], received_at=end - timedelta(days=2, hours=i))
    out = api.get("/api/v1/command/stats/hotspots", params={"end": "2026-10-31", "resolution": 9})
    assert out.status_code == 200, out.text
    body = out.json()
    assert body["resolution"] == 9 and "Poisson" in body["method"] and "Bonferroni" in body["method"]
    (cell,) = body["cells"]
    assert cell["cell"] == h3.latlng_to_cell(YULIN[0], YULIN[1], 9)
    assert cell["count"] == 8 and cell["history"] == [0] * 8 and cell["hotspot"] is True
    too_fine = api.get("/api/v1/command/stats/hotspots", params={"resolution": 15})
    assert too_fine.status_code == 422 and "resolution" in too_fine.text


def test_an_officer_s_figures_cover_only_their_own_station(client: TestClient, officer_jtq: User) -> None:
    _fixture()
    client.headers.update(bearer(officer_jtq))
    body = client.get("/api/v1/command/stats", params={"month": "2026-10", "by": "station"}).json()
    assert {r["key"] for r in body["rows"]} <= {"WH-JTQ"}
    assert body["total"]["last_year"] == 0
