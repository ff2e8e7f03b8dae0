"""Invariants of the walk: traced money is conserved, and no transfer or path carries more than entered.

For any store, seeds and limits, under FIFO, LIFO and the haircut:
- a transfer carries no more traced money than its amount, and none more than the seeds brought;
- at every account, what arrived traced is what left traced, plus what is held, plus what arrived in
  parts below the minimum amount (not followed);
- over the trace, held + cashed out + below the minimum never exceeds the seeds' amount;
- a path starts at a seed and each step leaves the account the previous one reached, later, one hop on.
Poison over-attributes by design (its amounts are ceilings), so only the per-transfer bound holds for it.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.antifraud.tracing import Limits, Method, trace
from pingan.antifraud.tracing.engine import TraceResult
from tests.antifraud.tracing.conftest import ATM, Store, at

# (payer, payee, yuan, minute): six accounts and the ATM; few minutes, so many transfers share a time.
transfers = st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from([0, 1, 2, 3, 4, 5, ATM]), st.integers(1, 5_000),
              st.integers(0, 30)),
    min_size=1,
    max_size=30,
)  # fmt: skip
seeds = st.lists(
    st.tuples(st.integers(0, 2), st.integers(1, 8_000), st.integers(0, 20)), min_size=1, max_size=3
)
limits = st.builds(
    Limits,
    max_hops=st.integers(1, 6),
    window=st.sampled_from([timedelta(minutes=10), timedelta(minutes=25), timedelta(hours=72)]),
    min_fen=st.sampled_from([1, 500_00, 2_000_00]),
)
VICTIMS = (100, 101, 102)


def run(
    txs: list[tuple[int, int, int, int]], paid: list[tuple[int, int, int]], method: Method, lim: Limits
) -> TraceResult:
    with TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s")
        seed_ids = [store.tx(at(9, m), VICTIMS[v], 0, yuan) for v, yuan, m in paid]
        for payer, payee, yuan, minute in txs:
            store.tx(at(9, 0) + timedelta(minutes=minute), payer, payee, yuan)
        return trace(store.index(), seed_ids, method=method, limits=lim)


@settings(max_examples=80, deadline=None)
@given(transfers, seeds, st.sampled_from([Method.FIFO, Method.LIFO, Method.PROPORTIONAL]), limits)
def test_traced_money_is_conserved_and_no_hop_carries_more_than_entered(
    txs: list[tuple[int, int, int, int]], paid: list[tuple[int, int, int]], method: Method, lim: Limits
) -> None:
    r = run(txs, paid, method, lim)
    for t in r.transfers:
        assert 0 < t.traced <= t.amount
        assert t.traced <= r.seed_total
    for a in r.accounts.values():
        assert a.traced_in == a.traced_out + a.held + a.below_min, a
    assert r.held_total + r.cashed_out_total + r.below_min_fen <= r.seed_total
    for path in r.paths(limit=200):
        assert path[0].hop == 0
        for before, after in itertools.pairwise(path):
            assert after.payer == before.payee
            assert after.ts >= before.ts
            assert after.hop > before.hop


@settings(max_examples=30, deadline=None)
@given(transfers, seeds, limits)
def test_poison_never_traces_more_than_a_transfer_carries(
    txs: list[tuple[int, int, int, int]], paid: list[tuple[int, int, int]], lim: Limits
) -> None:
    r = run(txs, paid, Method.POISON, lim)
    assert all(0 < t.traced <= t.amount for t in r.transfers)
