"""The pair state (a compiled hash table): what it says at each row, however the rows are cut into
batches, matches a plain history of every pair; and it survives being saved and loaded."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.antifraud.screening import kernels
from pingan.antifraud.screening.engine import DAY_US, PairTable, ScreenState, TxColumns

YOUNG_US = 7 * DAY_US


def batch(rows: list[tuple[int, int, int, int]]) -> TxColumns:
    """Transfers (time in µs, payer, payee, amount), in the order given."""
    cols = np.array(rows, dtype=np.int64).reshape(-1, 4)
    ids = np.arange(len(rows), dtype=np.int64)
    return TxColumns(ids, cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3], pa.array([]), pa.array([]))


def fold_all(
    table: PairTable, rows: list[tuple[int, int, int, int]], cuts: list[int]
) -> list[tuple[int, ...]]:
    """Fold `rows` cut at `cuts`; per row (new, n_before, prev_amount, first_ts, at_risk)."""
    out: list[tuple[int, ...]] = []
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(rows)), len(rows)]
    for lo, hi in pairwise(bounds):
        if lo == hi:
            continue
        p = table.fold(batch(rows[lo:hi]), YOUNG_US)
        for i in range(hi - lo):
            out.append(
                (
                    int(p.new_pair[i]),
                    int(p.n_before[i]),
                    int(p.prev_amount[i]),
                    int(p.first_ts[i]),
                    int(p.at_risk[i]),
                )
            )
    return out


_ROWS = st.lists(
    st.tuples(st.integers(0, 30 * DAY_US), st.integers(0, 20), st.integers(0, 20), st.integers(1, 10**9)),
    min_size=1,
    max_size=300,
).map(lambda rows: sorted(rows))


def assert_rows_read_their_pair_history(
    table: PairTable, rows: list[tuple[int, int, int, int]], cuts: list[int]
) -> None:
    """Fold `rows` (in time order) cut at `cuts`, and check every row against a plain history of its pair."""
    got = fold_all(table, rows, cuts)
    history: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for (ts, payer, payee, amount), (new, n, prev, first, at_risk) in zip(rows, got, strict=True):
        seen = history.setdefault((payer, payee), [])
        assert new == (not seen)
        assert at_risk == sum(a for _, a in seen) + amount
        if seen and ts - seen[0][0] <= YOUNG_US:
            # Young pairs (an escalation rule may still look at them) keep count, last amount, first time.
            assert (n, prev, first) == (len(seen), seen[-1][1], seen[0][0])
        elif seen:
            # Older ones may have left the young table: then nothing a rule could use is read.
            assert (n, first) in {(len(seen), seen[0][0]), (-1, -(1 << 62))}
        seen.append((ts, amount))


@settings(max_examples=60, deadline=None)
@given(rows=_ROWS, cuts=st.lists(st.integers(0, 300), max_size=12))
def test_each_row_reads_the_pair_history_before_it_however_the_rows_are_batched(
    rows: list[tuple[int, int, int, int]], cuts: list[int]
) -> None:
    assert_rows_read_their_pair_history(PairTable(), rows, cuts)


def test_a_month_of_daily_batches_reads_the_same_history_while_the_young_pairs_are_rebuilt_in_place() -> None:
    # 60 new pairs a day and a few repeats, a batch a day: the young table fills with pairs older than
    # the window and is rebuilt at the same size, in place.
    rng = np.random.default_rng(5)
    rows = []
    for day in range(30):
        for i in range(60):
            rows.append(
                (
                    day * DAY_US + int(rng.integers(0, DAY_US // 2)),
                    day * 100 + i,
                    7,
                    int(rng.integers(1, 10**6)),
                )
            )
        for _ in range(20):
            back = int(rng.integers(0, min(day, 9) + 1))
            ts = day * DAY_US + DAY_US // 2 + int(rng.integers(0, DAY_US // 2))
            rows.append((ts, (day - back) * 100 + int(rng.integers(0, 60)), 7, 5))
    table = PairTable()
    assert_rows_read_their_pair_history(table, sorted(rows), [80 * d for d in range(1, 30)])
    assert table.scratch.size > 0  # the in-place rebuild ran


def test_a_saved_state_loads_back_to_the_same_answers(tmp_path: Path) -> None:
    day = DAY_US
    first = [(0, 1, 2, 100), (day, 1, 3, 200), (2 * day, 4, 2, 300)]
    later = [(20 * day, 1, 2, 400), (20 * day + 1, 1, 3, 500), (20 * day + 2, 5, 6, 600)]
    kept = ScreenState()
    kept.pairs.fold(batch(first), YOUNG_US)
    kept.save(tmp_path)
    loaded = ScreenState.load(tmp_path, None)
    assert len(loaded.pairs) == 3
    assert fold_all(loaded.pairs, later, []) == fold_all(kept.pairs, later, [])


def test_a_snapshot_saved_after_later_batches_holds_the_state_as_it_was_when_taken(tmp_path: Path) -> None:
    # The stream consumer takes a snapshot, then writes it in a thread while it screens on.
    day = DAY_US
    first = [(0, 1, 2, 100), (day, 1, 3, 200)]
    meanwhile = [(2 * day, 1, 2, 300), (2 * day + 1, 7, 8, 50)] + [
        (3 * day, 100 + i, 200 + i, 1) for i in range(40)
    ]
    later = [(4 * day, 1, 2, 400), (4 * day + 1, 7, 8, 60)]
    state = ScreenState()
    state.pairs.fold(batch(first), YOUNG_US)
    (tmp_path / "now").mkdir()
    state.save(tmp_path / "now")
    snap = state.snapshot()
    state.pairs.fold(batch(meanwhile), YOUNG_US)  # grows and rebuilds the live tables
    snap.save(tmp_path / "snap")
    from_snapshot = ScreenState.load(tmp_path / "snap", None)
    from_then = ScreenState.load(tmp_path / "now", None)
    assert len(from_snapshot.pairs) == 2
    assert fold_all(from_snapshot.pairs, later, []) == fold_all(from_then.pairs, later, [])


def test_a_pair_first_paid_within_the_window_keeps_its_history_when_the_young_pairs_are_rebuilt() -> None:
    table = PairTable()
    table.fold(batch([(0, 1, 2, 100)]), YOUNG_US)
    # Forty new pairs six and a half days later fill the young table, which is rebuilt without the
    # pairs no later row can need: (1, 2), first paid 6.5 days before, is still needed.
    crowd = [(13 * DAY_US // 2, 100 + i, 200 + i, 1) for i in range(40)]
    table.fold(batch(crowd), YOUNG_US)
    p = table.fold(batch([(69 * DAY_US // 10, 1, 2, 300)]), YOUNG_US)
    assert (int(p.n_before[0]), int(p.prev_amount[0]), int(p.first_ts[0]), int(p.at_risk[0])) == (
        1,
        100,
        0,
        400,
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(4, 9), st.floats(0.05, 0.5))
def test_purging_the_young_table_in_place_keeps_exactly_the_young_pairs_findable(
    seed: int, bits: int, load: float
) -> None:
    rng = np.random.default_rng(seed)
    table = np.zeros((1 << bits, kernels.YOUNG_COLUMNS), np.int64)
    n = int(load * table.shape[0])
    keys = rng.choice(1 << 20, size=n, replace=False).astype(np.int64) + 1
    rows = np.stack([keys, rng.integers(0, 100, n), rng.integers(1, 9, n), rng.integers(1, 999, n)], axis=1)
    kernels.insert_rows(table, rows)
    since = int(rng.integers(0, 101))
    kept = kernels.purge_young(table, since)
    young = rows[rows[:, kernels.FIRST_TS] >= since]
    assert kept == young.shape[0] == int(np.count_nonzero(table[:, kernels.KEY]))
    # Every kept pair is found by probing from its home slot, with what it had.
    shift, mask = kernels.shift_of(table), table.shape[0] - 1
    for row in young:
        s = kernels.slot_of(int(row[kernels.KEY]), shift)
        while table[s, kernels.KEY] != row[kernels.KEY]:
            assert table[s, kernels.KEY] != 0
            s = (s + 1) & mask
        assert np.array_equal(table[s], row)
