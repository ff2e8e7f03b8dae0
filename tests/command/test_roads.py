"""The road graph: generated from a seed, imported from OpenStreetMap, and routed over with one-ways."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from pingan.command.queries import SegmentPlace, segment_places
from pingan.command.roads import do_store_roads, haversine_m, read_osm
from pingan.command.routing import PgRouter, Router, ScipyRouter, has_pgrouting, router_for, scipy_router
from pingan.core import db
from pingan.sim.roads import generate_roads

BLOCK = Path(__file__).parent / "data" / "block.osm"
# The corners of the hand-made block (block.osm): the south street runs east only.
SW, SE, NE, NW = (30.6000, 104.0000), (30.6000, 104.0100), (30.6090, 104.0100), (30.6090, 104.0000)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(haversine_m(np.array(a[0]), np.array(a[1]), np.array(b[0]), np.array(b[1])))


def test_osm_import_of_the_hand_made_block_gives_its_junctions_and_segments() -> None:
    roads = read_osm(BLOCK)
    # The four corners and the one-way's far end; the south street's middle point is no junction and
    # the footway is not a road.
    assert roads.node_id.tolist() == [1, 2, 3, 4, 5]
    assert list(zip(roads.lat.tolist(), roads.lon.tolist(), strict=True)) == [
        SW,
        SE,
        NE,
        NW,
        (30.6135, 104.01),
    ]
    edges = list(zip(roads.source.tolist(), roads.target.tolist(), roads.one_way.tolist(), strict=True))
    assert edges == [(1, 2, True), (2, 3, False), (3, 4, False), (4, 1, False), (5, 3, True)]
    assert roads.road_class == ("residential", "secondary", "primary", "residential", "residential")
    assert roads.name == ("南街", "东街", "北大街", "西街", ""), "OSM's name; the last way has none"
    # The south street is measured along its shape point; maxspeed wins over the class's speed.
    assert roads.length_m[0] == pytest.approx(
        metres(SW, (30.6, 104.005)) + metres((30.6, 104.005), SE), abs=0.01
    )
    assert roads.speed_kmh.tolist() == [30.0, 50.0, 60.0, 30.0, 30.0]
    assert roads.reverse_cost_s[0] == -1 and roads.reverse_cost_s[1] == roads.cost_s[1]


def test_generated_roads_are_deterministic_from_the_seed_with_one_ways_and_classes() -> None:
    a, b, c = generate_roads(7, size=12), generate_roads(7, size=12), generate_roads(8, size=12)
    assert np.array_equal(a.lat, b.lat) and np.array_equal(a.speed_kmh, b.speed_kmh)
    assert not np.array_equal(a.lat, c.lat)
    assert a.edge_id.size == 2 * 12 * 11
    assert set(a.road_class) == {"primary", "secondary", "residential"}
    assert 0.2 < a.one_way.mean() < 0.5
    assert not any(o for o, cls in zip(a.one_way, a.road_class, strict=True) if cls != "residential")


def test_a_segment_is_placed_by_its_road_between_the_cross_streets_at_its_ends(database: str) -> None:
    roads = generate_roads(7, size=12)  # east-west streets 纬1.., north-south 经1..; 大道, 路, 街 by class
    with db.transaction() as s:
        do_store_roads(s, roads)
        # The east-west street of row 1 (纬2街, one-way east) from column 4 to 5 (edge 1 * 11 + 4 + 1).
        places = segment_places(s, {16, 1, 10_000})
    assert places[16] == SegmentPlace("纬2街", "经5街", "经6路")
    assert places[1] == SegmentPlace("纬1大道", "经1大道", "经2街"), "the grid's corner"
    assert 10_000 not in places, "no such segment"
    unnamed = dataclasses.replace(roads, name=())
    with db.transaction() as s:
        do_store_roads(s, unnamed)
        assert segment_places(s, {16}) == {}, "an unnamed road: the page shows the segment's number"


def test_the_bench_scale_grid_has_at_least_50000_segments() -> None:
    assert generate_roads(1).edge_id.size >= 50_000


def routers(session: object) -> list[Router]:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    found: list[Router] = [scipy_router(session)]
    if has_pgrouting(session):
        found.append(PgRouter(found[0].nodes))  # type: ignore[attr-defined]
    return found


def test_a_one_way_street_is_driven_only_its_own_way(database: str, block_roads: None) -> None:
    with db.transaction() as s:
        for router in routers(s):
            # From the south-east corner to the south-west one, the south street is against the
            # traffic: the drive goes round the block (east, north and west streets).
            (against,) = router.routes(s, SW, [SE])
            around = metres(SE, NE) / (50 / 3.6) + metres(NE, NW) / (60 / 3.6) + metres(NW, SW) / (30 / 3.6)
            assert against.travel_s == pytest.approx(around, abs=0.01), router.name
            # The other way the south street is the drive.
            (along,) = router.routes(s, SE, [SW])
            assert along.travel_s == pytest.approx(metres(SW, SE) / (30 / 3.6), abs=0.01), router.name
            assert along.distance_m == pytest.approx(metres(SW, SE), abs=0.1)


def test_scipy_router_is_built_once_and_rebuilt_when_the_graph_changes(
    database: str, block_roads: None
) -> None:
    from pingan.command.roads import do_store_roads

    with db.transaction() as s:
        first = scipy_router(s)
        assert scipy_router(s) is first
        do_store_roads(s, generate_roads(3, size=4))
        assert scipy_router(s) is not first
    assert isinstance(first, ScipyRouter)


def test_the_cli_stores_an_imported_extract_and_a_generated_grid(database: str, tmp_path: Path) -> None:
    from sqlalchemy import func, select
    from typer.testing import CliRunner

    from pingan.cli import app
    from pingan.command.roadmodel import RoadEdge

    def edges() -> int:
        with db.transaction() as s:
            return int(s.execute(select(func.count(RoadEdge.id))).scalar_one())

    runner = CliRunner()
    out = runner.invoke(app, ["command", "roads", "import", str(BLOCK)])
    assert out.exit_code == 0, out.output
    assert "5 junctions, 5 segments" in out.output and edges() == 5
    out = runner.invoke(app, ["sim", "roads", "--seed", "2", "--size", "6"])
    assert out.exit_code == 0, out.output
    assert edges() == 2 * 6 * 5
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"></osm>', encoding="utf-8")
    out = runner.invoke(app, ["command", "roads", "import", str(empty)])
    assert out.exit_code != 0 and "no drivable road" in out.output and edges() == 60


def test_a_graph_stored_twice_in_one_transaction_is_noticed(database: str, block_roads: None) -> None:
    from pingan.command.roads import do_store_roads

    with db.transaction() as s:
        do_store_roads(s, generate_roads(3, size=4))
        first = scipy_router(s)
        do_store_roads(s, generate_roads(4, size=4))  # the same ids, other junctions and times
        assert scipy_router(s) is not first


def test_scipy_routes_by_default_and_the_setting_chooses_pgrouting(
    database: str, block_roads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan.core.settings import get_settings

    with db.transaction() as s:
        assert router_for(s).name == "scipy"
        monkeypatch.setenv("PINGAN_COMMAND_ROUTING_ENGINE", "pgrouting")
        get_settings.cache_clear()
        try:
            # pgRouting where the extension is installed; elsewhere scipy answers, and says so.
            assert router_for(s).name == ("pgrouting" if has_pgrouting(s) else "scipy")
        finally:
            monkeypatch.delenv("PINGAN_COMMAND_ROUTING_ENGINE")
            get_settings.cache_clear()
