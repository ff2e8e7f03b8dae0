"""The worked example of docs/tracing.md, under each attribution method.

08:00 Chengdu Tech pays mule_t1_zhao a salary of 2,000 yuan.
10:00 victim_wang pays zhao 10,000 yuan (the seed).
10:05 zhao pays mule_t2_qian 6,000 yuan; 10:10 zhao pays mule_t2_sun 5,000 yuan.
10:20 qian withdraws 5,000 yuan at an ATM. sun keeps his.
"""

from __future__ import annotations

import pytest

from pingan.antifraud.tracing import Method, TraceResult, trace
from tests.antifraud.tracing.conftest import (
    ATM,
    EMPLOYER_CHENGDU_TECH,
    MULE_T1_ZHAO,
    MULE_T2_QIAN,
    MULE_T2_SUN,
    VICTIM_WANG,
    Store,
    at,
)


def run(store: Store, method: Method) -> TraceResult:
    store.tx(at(8, 0), EMPLOYER_CHENGDU_TECH, MULE_T1_ZHAO, 2_000)
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 10_000)
    store.tx(at(10, 5), MULE_T1_ZHAO, MULE_T2_QIAN, 6_000)
    store.tx(at(10, 10), MULE_T1_ZHAO, MULE_T2_SUN, 5_000)
    store.tx(at(10, 20), MULE_T2_QIAN, ATM, 5_000)
    return trace(store.index(), [seed], method=method)


def held(result: TraceResult) -> dict[int, int]:
    return {a: f.held for a, f in result.accounts.items() if f.held}


def test_fifo_spends_zhaos_salary_first_and_follows_the_rest(store: Store) -> None:
    r = run(store, Method.FIFO)
    zhao = r.accounts[MULE_T1_ZHAO]
    assert (zhao.traced_in, zhao.traced_out, zhao.held) == (1_000_000, 900_000, 100_000)
    assert r.accounts[MULE_T2_QIAN].traced_in == 400_000
    assert held(r) == {MULE_T1_ZHAO: 100_000, MULE_T2_SUN: 500_000}
    assert [(c.account, c.kind, c.traced) for c in r.cashouts] == [(MULE_T2_QIAN, "atm", 400_000)]


def test_lifo_sends_the_victims_money_on_first(store: Store) -> None:
    r = run(store, Method.LIFO)
    assert r.accounts[MULE_T2_QIAN].traced_in == 600_000
    assert r.accounts[MULE_T2_SUN].traced_in == 400_000
    assert held(r) == {MULE_T2_QIAN: 100_000, MULE_T2_SUN: 400_000}
    assert r.cashed_out_total == 500_000


def test_proportional_haircut_rounds_each_outflow_down_to_the_fen(store: Store) -> None:
    r = run(store, Method.PROPORTIONAL)
    # 6,000 × 10,000/12,000 = 5,000 yuan; then 5,000 × 5,000/6,000 = 4,166.666… → 416,666 fen.
    assert r.accounts[MULE_T2_QIAN].traced_in == 500_000
    assert r.accounts[MULE_T2_SUN].traced_in == 416_666
    assert held(r) == {MULE_T1_ZHAO: 83_334, MULE_T2_QIAN: 83_334, MULE_T2_SUN: 416_666}
    assert r.cashed_out_total == 416_666


def test_poison_taints_every_later_outflow_in_full(store: Store) -> None:
    r = run(store, Method.POISON)
    assert r.accounts[MULE_T2_QIAN].traced_in == 600_000
    assert held(r) == {MULE_T1_ZHAO: 100_000, MULE_T2_QIAN: 100_000, MULE_T2_SUN: 500_000}
    assert r.cashed_out_total == 500_000


@pytest.mark.parametrize("method", [Method.FIFO, Method.LIFO, Method.PROPORTIONAL])
def test_traced_money_is_conserved_by_the_amount_attributing_methods(store: Store, method: Method) -> None:
    r = run(store, method)
    assert r.held_total + r.cashed_out_total + r.below_min_fen == r.seed_total == 1_000_000


def test_the_victims_own_account_is_not_walked(store: Store) -> None:
    r = run(store, Method.FIFO)
    assert VICTIM_WANG not in r.accounts
    assert r.accounts[MULE_T1_ZHAO].hop == 1
    assert r.accounts[MULE_T2_SUN].hop == 2
