"""Invariant: a freeze recommendation never exceeds the account's traced amount (DESIGN.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.antifraud.tracing import Limits, Method, trace
from tests.antifraud.tracing.conftest import Store, at

transfers = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 5_000), st.integers(1, 600)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(transfers, st.sampled_from(list(Method)), st.integers(1, 6))
def test_a_recommendation_never_exceeds_the_traced_amount(
    txs: list[tuple[int, int, int, int]], method: Method, hops: int
) -> None:
    with TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s")
        seed = store.tx(at(9, 0), 100, 0, 3_000)
        for payer, payee, yuan, minute in txs:
            store.tx(at(9, 0) + timedelta(minutes=minute), payer, payee, yuan)
        result = trace(store.index(), [seed], method=method, limits=Limits(max_hops=hops, min_fen=1))
    for rec in result.recommendations(min_fen=1):
        found = result.accounts[rec.account]
        assert 0 < rec.recoverable_fen <= found.traced_in
        assert rec.recoverable_fen <= found.held
        if method is not Method.POISON:
            assert rec.recoverable_fen <= result.seed_total
    if method is not Method.POISON:
        assert result.held_total + result.cashed_out_total + result.below_min_fen == result.seed_total
