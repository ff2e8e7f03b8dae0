"""Screening in partitions gives the single screening's risk events, field for field.

Each partition screens its payers' transfers and folds in copies of the transfers to its payees, so
its state is exact for its accounts on both sides; it starts from the part of the history's state
that concerns its accounts (`ScreenState.of_partition`). A transfer whose payee lies in another partition
and that the collecting-card rule counts is held until that partition's note says whether the rule
fits. Here the partitions run in one process, with their notes handed over after each slice of the
stream, as the stream consumers exchange them over NATS (test_stream_partitions.py).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pingan.antifraud.screening.engine import (
    FLAG_SCHEMA,
    NOTE_SCHEMA,
    Partition,
    ScreenState,
    partition_of,
    screen_batch,
    screen_partition,
    settle,
)
from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.screening.store import history_state, iter_batches, read_reference

from .test_batch_matches_stream import edgy_store


def screen_single(days: list[pl.DataFrame], state: ScreenState, rules: RuleSet, wl: pl.DataFrame,
                  ref: pl.DataFrame) -> pl.DataFrame:  # fmt: skip
    out = []
    for tx in days:
        flags, state = screen_batch(tx, state, rules, wl, ref)
        out.append(flags)
    return pl.concat(out).sort("tx_id")


def screen_in_partitions(
    days: list[pl.DataFrame], base: ScreenState, rules: RuleSet, wl: pl.DataFrame, ref: pl.DataFrame,
    partitions: int, slice_rows: int, *, checkpoint_dir: Path | None = None, twice: bool = False,
) -> tuple[pl.DataFrame, int]:  # fmt: skip
    """(every partition's risk events, how many were held for a note at some point)."""
    parts = [Partition(k, partitions) for k in range(partitions)]
    states = [base.of_partition(part) for part in parts]
    out, held = [], 0
    for tx in days:
        payer, payee = tx["payer_account"].to_numpy(), tx["payee_account"].to_numpy()
        home, away = partition_of(payer, partitions), partition_of(payee, partitions)
        ts = tx["ts"].to_numpy()
        lo = 0
        while lo < tx.height:
            # A slice ends with the end of an instant: the frames of one instant are never cut.
            hi = min(lo + slice_rows, tx.height)
            while hi < tx.height and ts[hi] == ts[hi - 1]:
                hi += 1
            notes = []
            for part in parts:
                k = part.k
                mine = (home[lo:hi] == k) | ((away[lo:hi] == k) & (payee[lo:hi] >= 0))
                result, states[k] = screen_partition(
                    tx.slice(lo, hi - lo).filter(pl.Series(mine)), states[k], rules, wl, ref, part
                )
                out.append(result.flags)
                held += result.held.height
                notes.append(result.notes)
            every = pl.concat(notes) if notes else pl.DataFrame(schema=NOTE_SCHEMA)
            if twice:  # every note sent again at once, as by a partition that restarted
                every = pl.concat([every, every])
            to = partition_of(every["payer_account"].to_numpy(), partitions)
            for part in parts:
                if checkpoint_dir is not None:
                    # A held event survives a restart: the state is saved and read back between slices.
                    folder = checkpoint_dir / f"p{part.k}"
                    states[part.k].save(folder)
                    states[part.k] = ScreenState.load(folder, states[part.k].high_water)
                settled, states[part.k] = settle(states[part.k], every.filter(pl.Series(to == part.k)), rules)
                out.append(settled)
            lo = hi
    assert all(s.pending.height == 0 for s in states), "a held risk event got no note"
    return pl.concat(out).sort("tx_id"), held


def test_four_partitions_of_the_tiny_district_raise_the_single_screenings_risk_events(
    district: Path, rules: RuleSet
) -> None:
    since = since_of(district, 3)
    wl, ref = watchlist_from_reports(district), read_reference(district)
    days = [d.sort(["ts", "tx_id"]) for d in iter_batches(district, since, None)]
    expected = screen_single(days, history_state(district, since, rules), rules, wl, ref)

    got, held = screen_in_partitions(days, history_state(district, since, rules), rules, wl, ref, 4, 2_000)

    assert expected.height > 100
    assert held > 0, "no transfer waited for its payee's partition: the test proves nothing"
    assert got.equals(expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("partitions", "slice_rows"), [(2, 1), (3, 37), (5, 400)])
def test_partitions_of_a_store_built_to_hit_the_edges_raise_the_same_risk_events(
    tmp_path: Path, rules: RuleSet, seed: int, partitions: int, slice_rows: int
) -> None:
    # 14 accounts paying one another: payees shared across partitions, a crowd at one instant, gaps of
    # exactly a window, amounts exactly at the floors.
    wl, ref = edgy_store(tmp_path / "store", seed)
    days = [d.sort(["ts", "tx_id"]) for d in iter_batches(tmp_path / "store", None, None)]
    expected = screen_single(days, ScreenState(), rules, wl, ref)

    got, held = screen_in_partitions(days, ScreenState(), rules, wl, ref, partitions, slice_rows)

    assert expected.height > 20 and held > 0
    assert got.equals(expected)


def test_a_held_risk_event_survives_a_checkpoint_and_a_note_sent_twice_settles_it_once(
    tmp_path: Path, rules: RuleSet
) -> None:
    wl, ref = edgy_store(tmp_path / "store", 4)
    days = [d.sort(["ts", "tx_id"]) for d in iter_batches(tmp_path / "store", None, None)]
    expected = screen_single(days, ScreenState(), rules, wl, ref)

    got, held = screen_in_partitions(
        days, ScreenState(), rules, wl, ref, 3, 50, checkpoint_dir=tmp_path / "ckpt", twice=True
    )

    assert held > 0 and got.equals(expected)
    state = ScreenState(pending=pl.DataFrame(schema=FLAG_SCHEMA))
    again = pl.DataFrame({"tx_id": [1], "payer_account": [2], "fits": [["P-MULE-PAYEE"]]}, schema=NOTE_SCHEMA)
    flags, after = settle(state, again, rules)
    assert flags.height == 0 and after.pending.height == 0
