"""The network kernel density: events spread along the road graph within the bandwidth, checked on a
hand-built graph against densities computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from pingan.traffic.density import network_kde, node_ids

# A --100 m-- B --100 m-- C, and a branch B --200 m-- D. Nodes A=0, B=1, C=2, D=3.
U = np.array([0, 1, 1])
V = np.array([1, 2, 3])
LENGTH = np.array([100.0, 100.0, 200.0])


def test_one_accident_spreads_along_the_roads_by_network_distance() -> None:
    # One accident on A-B, 25 m from A; bandwidth 200 m, triangular kernel k(u) = 1 - u, per km.
    # A-B midpoint: 25 m away -> (1 - 25/200)/200 m = 4.375 per km.
    # B-C midpoint: 75 m to B, 50 m on -> 125 m -> (1 - 125/200)/200 m = 1.875 per km.
    # B-D midpoint: 75 + 100 = 175 m -> (1 - 175/200)/200 m = 0.625 per km.
    d = network_kde(U, V, LENGTH, np.array([0]), np.array([25.0]), bandwidth_m=200)
    assert d == pytest.approx([4.375, 1.875, 0.625])


def test_densities_add_up_and_stop_at_the_bandwidth() -> None:
    # A second accident at D (200 m along B-D): B-D midpoint is 100 m away -> 2.5 per km; the other
    # midpoints are 250 m away, beyond the bandwidth, and get nothing from it.
    d = network_kde(U, V, LENGTH, np.array([0, 2]), np.array([25.0, 200.0]), bandwidth_m=200, chunk=1)
    assert d == pytest.approx([4.375, 1.875, 0.625 + 2.5])


def test_a_segment_just_beyond_the_bandwidth_gets_nothing() -> None:
    # B-C midpoint is exactly 125 m from the accident: a bandwidth of 125 m gives it zero.
    d = network_kde(U, V, LENGTH, np.array([0]), np.array([25.0]), bandwidth_m=125)
    assert d[1] == 0.0 and d[0] > 0


def test_a_parallel_street_across_the_block_is_far_along_the_network() -> None:
    # Two parallel 100 m streets joined only at one end, 400 m round: a planar kernel would heat the
    # second street; along the network its midpoint is 50 + 10 + 50 = 110 m away from the first's.
    u, v = np.array([0, 1, 2]), np.array([1, 2, 3])
    length = np.array([100.0, 10.0, 100.0])
    d = network_kde(u, v, length, np.array([0]), np.array([50.0]), bandwidth_m=100)
    assert d[0] == pytest.approx(10.0) and d[2] == 0.0


def test_node_ids_join_segment_ends_at_the_same_point() -> None:
    u, v = node_ids(
        np.array([30.0, 30.1]), np.array([104.0, 104.0]), np.array([30.1, 30.2]), np.array([104.0, 104.0])
    )
    assert u[1] == v[0] and len({*u.tolist(), *v.tolist()}) == 3


def test_no_accidents_give_zero_and_a_bad_bandwidth_is_refused() -> None:
    assert network_kde(U, V, LENGTH, np.array([], dtype=int), np.array([]), bandwidth_m=100).sum() == 0
    with pytest.raises(ValueError, match="bandwidth_m"):
        network_kde(U, V, LENGTH, np.array([0]), np.array([1.0]), bandwidth_m=0)
