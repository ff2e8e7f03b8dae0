"""The district's road graph: generated from a seed (`pingan.sim.roads`, the district generator) or
imported from an OpenStreetMap extract, and stored in `road_node` / `road_edge`.

**Imported** (`read_osm`): the ways of an `.osm`/`.pbf` file with a `highway` tag a car may use, cut
into segments at every node two ways share and at their ends; `oneway=yes|true|1|-1` is honoured,
`maxspeed` in km/h where given, else the class's default speed (`CLASS_SPEED_KMH`).
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from pingan.command.roadmodel import RoadEdge, RoadGraph, RoadNode
from pingan.core import clock

EARTH_RADIUS_M = 6_371_008.8
# Default speeds (km/h) by OSM highway class, for ways without a usable `maxspeed`.
CLASS_SPEED_KMH: dict[str, float] = {
    "motorway": 80.0,
    "trunk": 70.0,
    "primary": 60.0,
    "secondary": 40.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 15.0,
}
for _cls in ("motorway", "trunk", "primary", "secondary", "tertiary"):
    CLASS_SPEED_KMH[f"{_cls}_link"] = CLASS_SPEED_KMH[_cls]


@dataclass(frozen=True)
class Roads:
    """A road graph in arrays: node i has id `node_id[i]`; edge k joins `source[k]` → `target[k]`
    (node ids), `reverse_cost_s[k]` is -1 where the edge is one-way; `name[k]` is its road's name
    (OpenStreetMap's `name`; empty for an unnamed road, and all empty where `name` is not given)."""

    node_id: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    edge_id: np.ndarray
    source: np.ndarray
    target: np.ndarray
    length_m: np.ndarray
    speed_kmh: np.ndarray
    one_way: np.ndarray
    road_class: tuple[str, ...]
    name: tuple[str, ...] = ()

    @property
    def cost_s(self) -> np.ndarray:
        return np.round(self.length_m / (self.speed_kmh / 3.6), 3)

    @property
    def reverse_cost_s(self) -> np.ndarray:
        return np.where(self.one_way, -1.0, self.cost_s)


def haversine_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres, elementwise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(1.0, a))))


# ---------------------------------------------------------------------------------------------------
# OpenStreetMap

_ONEWAY_FORWARD = {"yes", "true", "1"}


def _maxspeed_kmh(value: str | None) -> float | None:
    if not value:
        return None
    head = value.strip().split()[0].split(";")[0]
    try:
        speed = float(head)
    except ValueError:
        return None
    return speed * 1.609344 if "mph" in value else speed


def read_osm(path: Path) -> Roads:
    """The drivable road graph of an OpenStreetMap file (see module); nodes are numbered 1, 2, ... in
    the order of their OSM ids, edges in the order of the ways and along each way."""
    import osmium  # imported here: only the import needs the C++ binding

    ways: list[tuple[str, float, str | None, list[int], str]] = []
    where: dict[int, tuple[float, float]] = {}
    for way in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        if not isinstance(way, osmium.osm.Way):
            continue
        cls = way.tags.get("highway")
        if cls not in CLASS_SPEED_KMH:
            continue
        refs = []
        for n in way.nodes:
            if n.location.valid():
                where[n.ref] = (n.location.lat, n.location.lon)
                refs.append(n.ref)
        if len(refs) < 2:
            continue
        speed = _maxspeed_kmh(way.tags.get("maxspeed")) or CLASS_SPEED_KMH[cls]
        ways.append((cls, speed, way.tags.get("oneway"), refs, way.tags.get("name") or ""))
    return _roads_from_ways(ways, where)


def _roads_from_ways(
    ways: list[tuple[str, float, str | None, list[int], str]], where: dict[int, tuple[float, float]]
) -> Roads:
    uses: dict[int, int] = {}
    for _, _, _, refs, _ in ways:
        for k, ref in enumerate(refs):
            uses[ref] = uses.get(ref, 0) + (2 if k in (0, len(refs) - 1) else 1)
    junctions = sorted(ref for ref, n in uses.items() if n >= 2)
    number = {ref: i + 1 for i, ref in enumerate(junctions)}
    src: list[int] = []
    dst: list[int] = []
    length: list[float] = []
    speed: list[float] = []
    one_way: list[bool] = []
    classes: list[str] = []
    names: list[str] = []
    for cls, kmh, oneway_tag, refs, name in ways:
        tag = (oneway_tag or "").strip().lower()
        backwards = tag == "-1"
        oneway = backwards or tag in _ONEWAY_FORWARD
        start, metres = refs[0], 0.0
        for prev, ref in itertools.pairwise(refs):
            (la1, lo1), (la2, lo2) = where[prev], where[ref]
            metres += float(haversine_m(np.array(la1), np.array(lo1), np.array(la2), np.array(lo2)))
            if ref in number:
                a, b = (number[ref], number[start]) if backwards else (number[start], number[ref])
                src.append(a)
                dst.append(b)
                length.append(round(metres, 2))
                speed.append(kmh)
                one_way.append(oneway)
                classes.append(cls)
                names.append(name[:128])
                start, metres = ref, 0.0
    return Roads(
        node_id=np.arange(1, len(junctions) + 1),
        lat=np.array([where[r][0] for r in junctions]),
        lon=np.array([where[r][1] for r in junctions]),
        edge_id=np.arange(1, len(src) + 1),
        source=np.array(src, dtype=np.int64),
        target=np.array(dst, dtype=np.int64),
        length_m=np.array(length),
        speed_kmh=np.array(speed),
        one_way=np.array(one_way, dtype=bool),
        road_class=tuple(classes),
        name=tuple(names),
    )


# ---------------------------------------------------------------------------------------------------
# Storage


def _chunks(rows: list[dict[str, object]], size: int = 5000) -> Iterable[list[dict[str, object]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def has_roads(session: Session) -> bool:
    """Whether a road graph is stored."""
    return session.execute(select(RoadEdge.id).limit(1)).first() is not None


def do_store_roads(session: Session, roads: Roads) -> None:
    """Replace the stored road graph with `roads` (in the caller's transaction), under a new version."""
    session.execute(delete(RoadGraph))
    session.execute(delete(RoadEdge))
    session.execute(delete(RoadNode))
    nodes: list[dict[str, object]] = [
        {"id": int(i), "lat": float(la), "lon": float(lo)}
        for i, la, lo in zip(roads.node_id, roads.lat, roads.lon, strict=True)
    ]
    for chunk in _chunks(nodes):
        session.execute(insert(RoadNode), chunk)
    cost, reverse = roads.cost_s, roads.reverse_cost_s
    edges: list[dict[str, object]] = [
        {
            "id": int(roads.edge_id[k]),
            "source": int(roads.source[k]),
            "target": int(roads.target[k]),
            "length_m": float(roads.length_m[k]),
            "speed_kmh": float(roads.speed_kmh[k]),
            "one_way": bool(roads.one_way[k]),
            "road_class": roads.road_class[k],
            "name": roads.name[k] if roads.name else "",
            "cost_s": float(cost[k]),
            "reverse_cost_s": float(reverse[k]),
        }
        for k in range(roads.edge_id.size)
    ]
    for chunk in _chunks(edges):
        session.execute(insert(RoadEdge), chunk)
    session.add(
        RoadGraph(
            id=1,
            version=uuid.uuid4().hex,
            nodes=len(nodes),
            edges=len(edges),
            stored_at=clock.now(),
        )
    )
    session.flush()


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of latitude and of longitude at `lat` (the local flat projection)."""
    return math.pi * EARTH_RADIUS_M / 180, math.pi * EARTH_RADIUS_M / 180 * math.cos(math.radians(lat))
