"""The stream consumer's de-duplication window: a transaction id screened within the window is never
screened again, the window forgets what lies wholly before it, and it stays a few runs however long
the stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from pingan.antifraud.screening import dedup
from pingan.antifraud.screening import stream as st
from pingan.antifraud.screening.dedup import SeenIds
from pingan.antifraud.screening.engine import ScreenState

MINUTE = 60_000_000
WINDOW = 60 * MINUTE


def screen(seen: SeenIds, ids: list[int], at: int) -> tuple[SeenIds, list[int]]:
    """One micro-batch at time `at`: what is screened, and the window after it."""
    batch = np.array(ids, np.int64)
    fresh = seen.fresh(batch)
    kept = batch[fresh]
    return seen.remembered(kept, np.full(kept.size, at, np.int64), window_us=WINDOW), kept.tolist()


@settings(max_examples=80, deadline=None)
@given(
    hst.lists(
        hst.tuples(hst.lists(hst.integers(0, 300), max_size=25), hst.integers(0, 20 * MINUTE)), max_size=40
    )
)
def test_an_id_screened_within_the_window_is_not_screened_again(batches: list[tuple[list[int], int]]) -> None:
    seen, now = SeenIds(), 0
    last_screened: dict[int, int] = {}
    for ids, step in batches:
        now += step
        seen, screened = screen(seen, ids, now)
        for i in set(ids):
            if i in last_screened and now - last_screened[i] < WINDOW:
                assert i not in screened
        assert len(screened) == len(set(screened))
        last_screened |= dict.fromkeys(screened, now)


def test_an_id_is_screened_again_once_the_stream_has_moved_a_window_past_it() -> None:
    # The window ends at the latest transaction remembered, so it moves with the stream.
    seen, first = screen(SeenIds(), [1, 2, 3], 0)
    seen, again = screen(seen, [1, 2, 3], 30 * MINUTE)
    seen, _ = screen(seen, [9], 2 * WINDOW)
    seen, later = screen(seen, [1, 2, 3, 4], 2 * WINDOW)
    assert (first, again, later) == ([1, 2, 3], [], [1, 2, 3, 4])


def test_a_long_stream_keeps_about_one_window_of_ids_in_a_few_runs() -> None:
    seen = SeenIds()
    per_batch, batches_a_minute = 100, 20
    for k in range(6 * 60 * batches_a_minute):  # six hours of batches, three seconds apart
        at = k * MINUTE // batches_a_minute
        ids = np.arange(k * per_batch, (k + 1) * per_batch, dtype=np.int64)
        seen = seen.remembered(ids, np.full(per_batch, at, np.int64), window_us=WINDOW)
    one_window = 60 * batches_a_minute * per_batch
    assert one_window <= len(seen) <= 1.25 * one_window + per_batch
    assert len(seen.runs) <= 40
    assert all(np.all(np.diff(r) > 0) for r in seen.runs)


def test_the_window_saved_and_loaded_drops_the_same_ids(tmp_path: Path) -> None:
    seen = SeenIds()
    for k in range(50):
        seen, _ = screen(seen, list(range(k * 7, k * 7 + 10)), k * MINUTE)
    seen.save(tmp_path / "seen.npz")
    loaded = SeenIds.load(tmp_path / "seen.npz")
    probe = np.arange(0, 400, dtype=np.int64)
    assert loaded.fresh(probe).tolist() == seen.fresh(probe).tolist()
    assert (loaded.first_ts, loaded.last_ts) == (seen.first_ts, seen.last_ts)


def test_no_merge_makes_a_run_longer_than_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup, "MAX_RUN", 1_000)
    seen = SeenIds()
    for k in range(200):
        seen, _ = screen(seen, list(range(k * 100, (k + 1) * 100)), k * MINUTE // 10)
    assert max(r.size for r in seen.runs) <= 1_000
    assert len(seen) == 20_000  # 20 minutes of ids, all within the window
    assert not seen.fresh(np.arange(0, 20_000, dtype=np.int64)).any()


def test_a_checkpoint_written_before_the_window_was_kept_in_runs_still_loads(tmp_path: Path) -> None:
    ckpt = st.Checkpoint(tmp_path)
    seen, _ = screen(SeenIds(), [5, 3, 8], 7 * MINUTE)
    ckpt.save(ScreenState(), seen, st.Counters(last_seq=4))
    (ckpt.current / "seen.npz").unlink()
    ts = pl.Series([7 * MINUTE] * 3).cast(pl.Datetime("us", "UTC"))
    pl.DataFrame({"tx_id": [3, 5, 8], "ts": ts}).write_parquet(ckpt.current / "seen.parquet")
    loaded = ckpt.load()
    assert loaded is not None
    _, old, counters = loaded
    assert old.fresh(np.array([3, 4, 5, 8, 9], np.int64)).tolist() == [False, True, False, False, True]
    assert counters.last_seq == 4
