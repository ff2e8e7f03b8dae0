"""The windowed counts the burst and collecting-card rules read, against counting by hand."""

from __future__ import annotations

import numpy as np
import pytest

from pingan.antifraud.screening.engine import count_in_window


def by_hand(key: np.ndarray, ts: np.ndarray, window: int, cap: int) -> np.ndarray:
    return np.array(
        [
            min(cap, int(np.sum((key == key[i]) & (ts > ts[i] - window) & (ts <= ts[i]))))
            for i in range(key.size)
        ],
        dtype=np.int64,
    )


@pytest.mark.parametrize("seed", range(6))
def test_counts_match_counting_by_hand_with_ties_and_caps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    key = rng.integers(0, 1 + n // 10, n)
    ts = np.sort(rng.integers(0, 50, n))  # in time order, many rows at the same time
    window = int(rng.integers(0, 20))
    cap = int(rng.integers(1, 12))
    assert np.array_equal(count_in_window(key, ts, window, cap=cap), by_hand(key, ts, window, cap))
    last = int(rng.integers(0, n + 1))
    got = count_in_window(key, ts, window, last=last, cap=cap)
    assert np.array_equal(got, by_hand(key, ts, window, cap)[n - last :])


def test_no_rows_count_nothing() -> None:
    z = np.zeros(0, np.int64)
    assert count_in_window(z, z, 10, cap=3).size == 0
