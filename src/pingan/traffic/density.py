"""Network kernel density (Okabe's "simple" network KDE): events spread along the road graph, not
across the plane, so an accident on one street does not heat the parallel street behind the houses.

The density at a segment's midpoint is Σ_i k(d_i / h) / h over the events i, where d_i is the
shortest-path distance along the graph from event i to the midpoint, h the bandwidth in metres and
k(u) = 1 − u on [0, 1) the triangular kernel; given per km. On a line with no junction it is the 1-D
KDE. At a junction the simple estimator does not split the mass between the branches (each branch
sees the full kernel), so it overstates density near junctions of high degree; stated, not corrected.

Pure and vectorised: scipy's Dijkstra from the events' end nodes, cut at h, in chunks of events;
only the (event, segment) pairs within h are formed, never an events × segments matrix.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra


def node_ids(
    a_x: np.ndarray, a_y: np.ndarray, b_x: np.ndarray, b_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Node ids for segment ends given by coordinates: ends at the same point (to 1e-7) share a node."""
    ends = np.round(np.stack([np.concatenate([a_x, b_x]), np.concatenate([a_y, b_y])], axis=1), 7)
    _, inverse = np.unique(ends, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse[: a_x.size], inverse[a_x.size :]


def _graph(u: np.ndarray, v: np.ndarray, length_m: np.ndarray, nodes: int) -> csr_matrix:
    """The undirected graph; of parallel segments the shortest counts (a sparse matrix would sum them)."""
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    w = np.maximum(np.concatenate([length_m, length_m]), 1e-6)  # an explicit zero would be no edge
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return csr_matrix((w[first], (rows[first], cols[first])), shape=(nodes, nodes))


def _expand(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of `rows`, the positions ptr[row]..ptr[row+1] of a CSR layout: (which input, position)."""
    counts = ptr[rows + 1] - ptr[rows]
    owner = np.repeat(np.arange(rows.size), counts)
    starts = np.repeat(ptr[rows] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return owner, starts + np.arange(int(counts.sum()))


def _min_by_key(key: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The smallest value of each key."""
    order = np.lexsort((value, key))
    key, value = key[order], value[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return key[first], value[first]


def network_kde(
    u: np.ndarray,
    v: np.ndarray,
    length_m: np.ndarray,
    event_edge: np.ndarray,
    event_offset_m: np.ndarray,
    *,
    bandwidth_m: float,
    chunk: int = 2048,
) -> np.ndarray:
    """Events per km at each segment's midpoint. Segment k runs from node u[k] to node v[k] and is
    length_m[k] long; event i lies on segment event_edge[i], event_offset_m[i] metres from u.

    Sparse throughout: only the (event, segment) pairs within the bandwidth are formed."""
    if bandwidth_m <= 0:
        raise ValueError("bandwidth_m must be positive")
    segments = u.size
    density = np.zeros(segments)
    if segments == 0 or event_edge.size == 0:
        return density
    nodes = int(max(u.max(), v.max())) + 1
    graph = _graph(u, v, length_m, nodes)
    half = length_m / 2.0
    # Events in the order of their segments' first node: a chunk then shares more end nodes, so fewer
    # Dijkstra runs (the density does not depend on the order).
    order = np.argsort(u[event_edge], kind="stable")
    event_edge = event_edge[order]
    offset = np.clip(event_offset_m[order], 0.0, length_m[event_edge])
    h = float(bandwidth_m)
    # The segments at each node, in CSR layout.
    ends = np.concatenate([u, v])
    by_node = np.argsort(ends, kind="stable")
    incident = np.concatenate([np.arange(segments), np.arange(segments)])[by_node]
    node_ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=nodes))])
    for start in range(0, event_edge.size, chunk):
        e = event_edge[start : start + chunk]
        t = offset[start : start + chunk]
        sources, where = np.unique(np.concatenate([u[e], v[e]]), return_inverse=True)
        d = dijkstra(graph, directed=False, indices=sources, limit=h)  # [S, nodes], inf beyond h
        s_i, n_i = np.nonzero(np.isfinite(d))
        # Source to each midpoint of a segment at a reached node: node distance + half the segment.
        owner, pos = _expand(node_ptr, n_i)
        seg = incident[pos]
        key, to_mid = _min_by_key(s_i[owner] * segments + seg, d[s_i, n_i][owner] + half[seg])
        src_of, seg_of = key // segments, key % segments
        src_ptr = np.concatenate([[0], np.cumsum(np.bincount(src_of, minlength=sources.size))])
        # Each event reaches out through both ends of its segment, and along the segment itself.
        legs_src = np.concatenate([where[: e.size], where[e.size :]])
        legs_add = np.concatenate([t, length_m[e] - t])
        legs_event = np.concatenate([np.arange(e.size), np.arange(e.size)])
        owner, pos = _expand(src_ptr, legs_src)
        ev = np.concatenate([legs_event[owner], np.arange(e.size)])
        target = np.concatenate([seg_of[pos], e])
        dist = np.concatenate([legs_add[owner] + to_mid[pos], np.abs(t - half[e])])
        keep = dist < h
        key, dist = _min_by_key(ev[keep] * segments + target[keep], dist[keep])
        density += np.bincount(key % segments, weights=(1.0 - dist / h) / h, minlength=segments)
    return density * 1000.0
