"""Road travel times from units to an incident, over the stored road graph.

Both engines answer the same question: for each unit, the fastest drive from the road node nearest
the unit to the road node nearest the incident, respecting one-way streets (the search runs on the
reversed graph from the incident, so a one-way street counts only in its own direction).

- `ScipyRouter` (the default, on SQLite and PostgreSQL): the graph is read once into a CSR matrix of
  the reversed graph (scipy's sparse-graph Dijkstra) and cached per database and graph version; one
  Dijkstra from the incident's node gives every unit's time.
- `PgRouter` (PostgreSQL with the `pgrouting` extension, chosen by `PINGAN_COMMAND_ROUTING_ENGINE=
  pgrouting`): one `pgr_dijkstra` one-to-many from the incident's node on the reversed graph to the
  units' nodes, times and lengths summed over the paths' edges in the database. pgRouting builds its
  graph from the edge query at every call, which keeps it above the 50 ms target on the district's
  50,880 segments (docs/command.md has the figures); it is kept as an option and as a check.

A point reaches its nearest node in a straight line at `ACCESS_SPEED_KMH`: the unit's leg to the road
and the incident's leg from it are added to the travel time and distance. Nearest nodes are found in
a KD-tree over the nodes in a local flat projection, built with the cache, for both engines.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pingan.command.roadmodel import RoadEdge, RoadGraph, RoadNode
from pingan.command.roads import metres_per_degree
from pingan.core.settings import get_settings

ACCESS_SPEED_KMH = 20.0  # from a point to its nearest road node and back: a slow approach


@dataclass(frozen=True)
class Route:
    """A unit's drive to the incident: seconds and metres, access legs included; None: no road route.
    `beyond`: a bounded search (`within_s`) stopped first; the unit has a road route, slower than the
    bound."""

    travel_s: float | None
    distance_m: float | None
    beyond: bool = False


class Router(Protocol):
    name: str

    def routes(
        self,
        session: Session,
        target: tuple[float, float],
        sources: Sequence[tuple[float, float]],
        *,
        within_s: float | None = None,
    ) -> list[Route]: ...


def graph_version(session: Session) -> str:
    """The stored graph's version (`road_graph`, renewed by every store): one primary-key lookup,
    so every request can check that its process's cached graph is still the stored one. "" when no
    graph is stored."""
    return session.execute(select(RoadGraph.version).where(RoadGraph.id == 1)).scalar() or ""


class NodeIndex:
    """The road nodes in a KD-tree of a local flat projection (metres)."""

    def __init__(self, ids: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        self.ids = ids
        self.lat0 = float(lat.mean()) if lat.size else 0.0
        self.my, self.mx = metres_per_degree(self.lat0)
        self.tree = cKDTree(np.column_stack([lat * self.my, lon * self.mx])) if ids.size else None

    def nearest(self, points: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Index of the nearest node of each (lat, lon) point, and the distance to it in metres."""
        if self.tree is None:
            raise LookupError("no road graph is stored")
        xy = np.array([(la * self.my, lo * self.mx) for la, lo in points]).reshape(-1, 2)
        dist, idx = self.tree.query(xy)
        return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)


def _access(metres: float) -> float:
    return metres / (ACCESS_SPEED_KMH / 3.6)


class ScipyRouter:
    """In-process routing over a cached CSR matrix of the reversed road graph (see module)."""

    name = "scipy"

    def __init__(self, nodes: NodeIndex, source: np.ndarray, target: np.ndarray, cost: np.ndarray,
                 reverse_cost: np.ndarray, length: np.ndarray) -> None:  # fmt: skip
        self.nodes = nodes
        pos = {int(i): k for k, i in enumerate(nodes.ids)}
        s = np.array([pos[int(x)] for x in source], dtype=np.int64)
        t = np.array([pos[int(x)] for x in target], dtype=np.int64)
        back = reverse_cost >= 0
        # Directed arcs u → v with their time and length; a two-way segment gives both directions.
        u = np.concatenate([s, t[back]])
        v = np.concatenate([t, s[back]])
        c = np.concatenate([cost, reverse_cost[back]])
        m = np.concatenate([length, length[back]])
        # Keep the fastest of parallel arcs (a CSR matrix would add them up).
        order = np.lexsort((c, v, u))
        u, v, c, m = u[order], v[order], c[order], m[order]
        first = np.ones(u.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, c, m = u[first], v[first], c[first], m[first]
        n = nodes.ids.size
        # Reversed graph: an arc u → v is stored as v → u, so a search from the incident finds the
        # time from every node to it. A zero time is nudged so that the sparse matrix keeps the arc.
        self.reversed = csr_matrix((np.maximum(c, 1e-9), (v, u)), shape=(n, n))
        # Lengths in the same reversed shape: entry [v, u] is the length of the arc u → v.
        self.reversed_length = csr_matrix((m, (v, u)), shape=(n, n))
        # Strongly connected components: two nodes in the same one have a road both ways, so a unit a
        # bounded search did not reach, in the incident's component, has a route beyond the bound.
        self.component = connected_components(self.reversed, directed=True, connection="strong")[1]

    @classmethod
    def load(cls, session: Session) -> ScipyRouter:
        nodes = session.execute(select(RoadNode.id, RoadNode.lat, RoadNode.lon).order_by(RoadNode.id)).all()
        edges = session.execute(
            select(
                RoadEdge.source, RoadEdge.target, RoadEdge.cost_s, RoadEdge.reverse_cost_s, RoadEdge.length_m
            )
        ).all()
        ids = np.array([r[0] for r in nodes], dtype=np.int64)
        index = NodeIndex(
            ids, np.array([r[1] for r in nodes], dtype=float), np.array([r[2] for r in nodes], dtype=float)
        )
        cols = np.array(edges, dtype=float).reshape(-1, 5)
        return cls(
            index,
            cols[:, 0].astype(np.int64),
            cols[:, 1].astype(np.int64),
            cols[:, 2],
            cols[:, 3],
            cols[:, 4],
        )

    def times_to(self, target_idx: int, limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from every node to the node `target_idx`, and each node's next node on the way; a
        node farther than `limit` seconds is not searched (infinite time, no next node)."""
        times, pred = dijkstra(
            self.reversed, directed=True, indices=target_idx, return_predecessors=True, limit=limit
        )
        return np.asarray(times), np.asarray(pred)

    def path_lengths(self, pred: np.ndarray) -> np.ndarray:
        """Metres from every node to the target along the search tree `pred`, by pointer doubling:
        each round adds the length up to the node's pointer and moves the pointer twice as far, so a
        path of n edges takes log2(n) vectorised rounds instead of a walk per unit."""
        n = pred.size
        nodes = np.arange(n)
        has = pred >= 0
        ptr = np.where(has, pred, nodes)
        metres = np.zeros(n)
        metres[has] = np.asarray(self.reversed_length[ptr[has], nodes[has]]).ravel()
        while True:
            nxt = ptr[ptr]
            if np.array_equal(nxt, ptr):
                return metres
            metres = metres + metres[ptr]
            ptr = nxt

    def routes(
        self,
        session: Session,
        target: tuple[float, float],
        sources: Sequence[tuple[float, float]],
        *,
        within_s: float | None = None,
    ) -> list[Route]:
        """Each source's route to `target`. With `within_s`, the search stops at that many seconds of
        road time: a source beyond it in the target's strongly connected component is
        `Route(None, None, beyond=True)`; if any unreached source lies outside it (it may have no
        route at all), the search is run again in full, so `None` always means no road route."""
        del session
        if not sources:
            return []
        (t_idx,), (t_off,) = self.nodes.nearest([target])
        s_idx, s_off = self.nodes.nearest(sources)
        times, pred = self.times_to(int(t_idx), np.inf if within_s is None else within_s)
        unreached = ~np.isfinite(times[s_idx])
        if within_s is not None and np.any(self.component[s_idx[unreached]] != self.component[t_idx]):
            times, pred = self.times_to(int(t_idx))
            unreached = ~np.isfinite(times[s_idx])
        beyond = unreached & (self.component[s_idx] == self.component[t_idx])
        lengths = self.path_lengths(pred)
        secs = np.round(times[s_idx] + (s_off + t_off) / (ACCESS_SPEED_KMH / 3.6), 3).tolist()
        metres = np.round(lengths[s_idx] + s_off + t_off, 1).tolist()
        return [
            Route(sec, m) if math.isfinite(sec) else Route(None, None, beyond=bool(far))
            for sec, m, far in zip(secs, metres, beyond.tolist(), strict=True)
        ]


class PgRouter:
    """Routing by pgRouting in the database (see module); the node index comes from the cache."""

    name = "pgrouting"
    # The reversed graph: each segment turned around, its cost and reverse cost kept, so that the
    # search from the incident's node finds every unit's way to it.
    EDGES_SQL = (
        "SELECT id, target AS source, source AS target, cost_s AS cost, reverse_cost_s AS reverse_cost "
        "FROM road_edge"
    )

    def __init__(self, nodes: NodeIndex) -> None:
        self.nodes = nodes

    def routes(
        self,
        session: Session,
        target: tuple[float, float],
        sources: Sequence[tuple[float, float]],
        *,
        within_s: float | None = None,
    ) -> list[Route]:
        """Every source's route in full: pgRouting's search has no bound (`within_s` is ignored)."""
        del within_s
        if not sources:
            return []
        (t_idx,), (t_off,) = self.nodes.nearest([target])
        s_idx, s_off = self.nodes.nearest(sources)
        t_node = int(self.nodes.ids[t_idx])
        s_nodes = [int(self.nodes.ids[i]) for i in s_idx]
        ends = sorted(set(s_nodes) - {t_node})
        rows = (
            session.execute(
                text(
                    "SELECT d.end_vid, sum(d.cost), sum(e.length_m) "
                    "FROM pgr_dijkstra(:edges, CAST(:target AS bigint), CAST(:ends AS bigint[]), true) d "
                    "JOIN road_edge e ON e.id = d.edge GROUP BY d.end_vid"
                ),
                {"edges": self.EDGES_SQL, "target": t_node, "ends": ends},
            ).all()
            if ends
            else []
        )
        found = {int(r[0]): (float(r[1]), float(r[2])) for r in rows}
        found[t_node] = (0.0, 0.0)
        out = []
        for k, node in enumerate(s_nodes):
            if node not in found:
                out.append(Route(None, None))
                continue
            secs, metres = found[node]
            out.append(
                Route(
                    round(secs + _access(s_off[k]) + _access(t_off), 3), round(metres + s_off[k] + t_off, 1)
                )
            )
        return out


_CACHE: dict[tuple[str, str], ScipyRouter] = {}
_LOCK = threading.Lock()


def scipy_router(session: Session) -> ScipyRouter:
    """The cached in-process router of this database's current road graph (built on first use)."""
    key = (str(session.get_bind().engine.url), graph_version(session))
    with _LOCK:
        router = _CACHE.get(key)
        if router is None:
            for old in [k for k in _CACHE if k[0] == key[0]]:
                del _CACHE[old]
            router = _CACHE[key] = ScipyRouter.load(session)
        return router


def has_pgrouting(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    return bool(session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pgrouting'")).first())


def router_for(session: Session, engine: str | None = None) -> Router:
    """The engine `engine` names, else the setting `PINGAN_COMMAND_ROUTING_ENGINE` (scipy by default).
    pgRouting is used only where the extension is installed; elsewhere scipy answers, and the
    ranking's `engine` says which did."""
    cached = scipy_router(session)
    chosen = engine or get_settings().command.routing_engine
    if chosen == "pgrouting" and has_pgrouting(session):
        return PgRouter(cached.nodes)
    return cached
