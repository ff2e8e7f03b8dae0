"""The index reads any store of the layout: partitions out of time order, account ids of any size."""

from __future__ import annotations

from collections.abc import Callable

from pingan.antifraud.tracing import trace
from tests.antifraud.tracing.conftest import ATM, Store, at

BIG = 10**12  # beyond the index's lookup table of account ids: numbered by a sorted search instead


def wang_zhao_qian(store: Store, offset: int = 0) -> int:
    """Wang pays Zhao 10,000 yuan; Zhao passes 6,000 to Qian and draws 1,000 at an ATM (written last first)."""
    store.tx(at(10, 20), 10 + offset, ATM, 1_000)
    store.tx(at(10, 5), 10 + offset, 20 + offset, 6_000)
    return store.tx(at(10, 0), 1 + offset, 10 + offset, 10_000)


def test_a_partition_out_of_time_order_traces_as_a_sorted_one(make_store: Callable[[str], Store]) -> None:
    shuffled = make_store("shuffled")
    seed = wang_zhao_qian(shuffled)
    index = shuffled.index()
    assert list(index.tx_ts) == sorted(index.tx_ts)
    r = trace(index, [seed])
    assert (r.accounts[10].held, r.accounts[20].held, r.cashed_out_total) == (300_000, 600_000, 100_000)


def test_account_ids_beyond_the_lookup_table_are_numbered_too(make_store: Callable[[str], Store]) -> None:
    big = make_store("big")
    seed = wang_zhao_qian(big, offset=BIG)
    r = trace(big.index(), [seed])
    assert (r.accounts[BIG + 10].held, r.accounts[BIG + 20].held) == (300_000, 600_000)
