"""The traffic pages: the accident list, an accident, the black spots with their map layer, the
monthly bulletin and its XLSX, each in the menu of the traffic police."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from pingan.command.roads import Roads
from pingan.core import db
from pingan.core.auth import User
from pingan.core.roles import Actor
from pingan.traffic import actions
from pingan.traffic.schemas import AccidentIn
from tests.conftest import bearer
from tests.traffic.conftest import accident_body, on_segment


def seed_accidents(grid: Roads, n: int = 120) -> None:
    """`n` accidents over the last two years, most on a few segments."""
    rng = np.random.default_rng(5)
    now = datetime.now(UTC)
    with db.transaction() as s:
        snapper = actions.Snapper.load(s)
        for _ in range(n):
            k = int(rng.choice([3, 3, 3, 17, 17, int(rng.integers(0, grid.edge_id.size))]))
            lat, lon = on_segment(grid, k)
            body = accident_body(
                lat, lon, occurred_at=(now - timedelta(days=int(rng.integers(1, 700)))).isoformat()
            )
            item = actions.NewAccident(accident=AccidentIn.model_validate(body), actor=Actor.system("test"))
            actions.do_record_accident(s, item, actions.check_record_accident(s, item), snapper=snapper)


def test_the_accident_list_and_an_accident_show_labels_and_a_masked_plate(
    api: TestClient, grid: Roads
) -> None:
    lat, lon = on_segment(grid, 3)
    accident_id = api.post("/api/v1/traffic/accidents", json=accident_body(lat, lon)).json()["id"]
    page = api.get("/traffic")
    assert page.status_code == 200 and "rear-end" in page.text and 'sse-swap="major"' in page.text
    one = api.get(f"/traffic/accidents/{accident_id}")
    assert one.status_code == 200 and "川A***45" in one.text and "川A12345" not in one.text
    assert "seriously injured" in one.text


def test_the_black_spot_page_ranks_the_segment_with_the_most_accidents_first(
    api: TestClient, grid: Roads, dispatcher_chen: User
) -> None:
    seed_accidents(grid)
    spots = api.get("/api/v1/traffic/blackspots", params={"top": 5}).json()
    assert spots[0]["edge_id"] in {int(grid.edge_id[3]), int(grid.edge_id[17])}
    assert spots[0]["excess_low"] <= spots[0]["excess"] <= spots[0]["excess_high"]
    page = api.get("/traffic/blackspots")
    assert page.status_code == 200 and 'id="traffic-map"' in page.text
    layer = api.get("/traffic/blackspots.geojson").json()
    assert layer["features"][0]["properties"]["rank"] == 1
    # Each spot is placed by its road between its cross streets, on the page and on the map.
    top = {
        int(grid.edge_id[3]): "纬1大道 between 经4街 and 经5街",
        int(grid.edge_id[17]): "纬4街 between 经3街 and 经4街",
    }
    place = layer["features"][0]["properties"]["place"]
    assert place == top[spots[0]["edge_id"]] and place in page.text
    # The brigade records a countermeasure at a spot from its row.
    assert f'href="/traffic/countermeasures/new?edge_id={spots[0]["edge_id"]}"' in page.text
    # A dispatcher reads the same ranking, without the links to a form that is not theirs.
    seen = api.get("/traffic/blackspots", headers=bearer(dispatcher_chen)).text
    assert top[spots[0]["edge_id"]] in seen and "/traffic/countermeasures/new" not in seen


def test_the_monthly_bulletin_and_its_workbook_hold_the_month_year_over_year(
    api: TestClient, grid: Roads
) -> None:
    seed_accidents(grid, n=60)
    month = datetime.now(UTC).strftime("%Y-%m")
    page = api.get("/traffic/bulletin", params={"month": month})
    assert page.status_code == 200 and "traffic-yoy" in page.text and "not estimable yet" in page.text
    x = api.get("/traffic/bulletin.xlsx", params={"month": month})
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == month and rows[1][1] == "Accidents"


def test_a_bad_month_gets_422_naming_it(api: TestClient, grid: Roads) -> None:
    r = api.get("/traffic/bulletin", params={"month": "2026-13"})
    assert r.status_code == 422


def test_the_traffic_police_menu_holds_the_traffic_pages(api: TestClient, grid: Roads) -> None:
    page = api.get("/traffic")
    for href in ("/traffic/blackspots", "/traffic/bulletin"):
        assert f'href="{href}"' in page.text


def test_the_bulletin_pdf_opens_with_the_months_spots_and_the_method(api: TestClient, grid: Roads) -> None:
    import pypdf

    seed_accidents(grid, n=40)
    month = datetime.now(UTC).strftime("%Y-%m")
    r = api.get("/traffic/bulletin.pdf", params={"month": month}, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages).replace("\x00", "")
    assert "交通安全月报" in text and "Hauer" in text and "前 20 个黑点" in text


def test_the_density_layer_spreads_accidents_along_the_roads_from_their_segment(
    api: TestClient, grid: Roads
) -> None:
    lat, lon = on_segment(grid, 7)
    for _ in range(2):
        assert api.post("/api/v1/traffic/accidents", json=accident_body(lat, lon)).status_code == 201
    layer = api.get("/traffic/density.geojson", params={"bandwidth": 300}).json()
    by_edge = {f["properties"]["edge_id"]: f["properties"]["density"] for f in layer["features"]}
    # Both at the segment's midpoint: 2 x (1 - 0)/300 m = 6.667 per km there, less on its neighbours.
    assert by_edge[int(grid.edge_id[7])] == pytest.approx(2000 / 300, abs=0.01)
    assert max(by_edge, key=lambda e: by_edge[e]) == int(grid.edge_id[7])
    assert layer["events"] == 2 and layer["bandwidth_m"] == 300
    assert 'data-density="/traffic/density.geojson' in api.get("/traffic/blackspots").text
