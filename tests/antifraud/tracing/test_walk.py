"""Limits of the walk, and what it does with bad input."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from pingan.antifraud.tracing import Limits, Method, trace
from pingan.cli import app
from pingan.core.errors import NotFound
from tests.antifraud.tracing.conftest import (
    ATM,
    MULE_T1_ZHAO,
    MULE_T2_QIAN,
    MULE_T3_ZHOU,
    MULE_T4_WU,
    SHOP_HOTPOT,
    VICTIM_LIU,
    VICTIM_WANG,
    Store,
    at,
    card_of,
)


def test_an_outflow_only_carries_money_that_arrived_before_it(store: Store) -> None:
    store.tx(at(8, 0), VICTIM_LIU, MULE_T1_ZHAO, 3_000)
    store.tx(at(9, 0), MULE_T1_ZHAO, MULE_T2_QIAN, 3_000)  # before wang's money came
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    r = trace(store.index(), [seed])
    assert MULE_T2_QIAN not in r.accounts
    assert r.accounts[MULE_T1_ZHAO].held == 500_000


def test_hops_beyond_the_limit_are_recorded_but_not_followed(store: Store) -> None:
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    store.tx(at(10, 1), MULE_T1_ZHAO, MULE_T2_QIAN, 5_000)
    store.tx(at(10, 2), MULE_T2_QIAN, MULE_T3_ZHOU, 5_000)
    store.tx(at(10, 3), MULE_T3_ZHOU, MULE_T4_WU, 5_000)
    r = trace(store.index(), [seed], limits=Limits(max_hops=2))
    zhou = r.accounts[MULE_T3_ZHOU]
    assert (zhou.hop, zhou.traced_in, zhou.followed) == (3, 500_000, False)
    assert MULE_T4_WU not in r.accounts


def test_transfers_after_the_window_are_not_followed(store: Store) -> None:
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    store.tx(at(10, 0, day=2), MULE_T1_ZHAO, MULE_T2_QIAN, 5_000)
    r = trace(store.index(), [seed], limits=Limits(window=timedelta(hours=24)))
    assert r.accounts[MULE_T1_ZHAO].held == 500_000
    assert MULE_T2_QIAN not in r.accounts


def test_parts_below_the_minimum_amount_are_counted_but_not_followed(store: Store) -> None:
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    store.tx(at(10, 1), MULE_T1_ZHAO, MULE_T2_QIAN, 50)
    store.tx(at(10, 2), MULE_T2_QIAN, SHOP_HOTPOT, 50)
    r = trace(store.index(), [seed], limits=Limits(min_fen=100_00))
    assert r.below_min_fen == 5_000
    assert r.accounts[MULE_T2_QIAN].followed is False
    assert SHOP_HOTPOT not in r.accounts


def test_a_cycle_between_two_mules_ends_with_the_money_where_it_stopped(store: Store) -> None:
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    for minute in range(1, 30, 2):
        store.tx(at(10, minute), MULE_T1_ZHAO, MULE_T2_QIAN, 5_000)
        store.tx(at(10, minute + 1), MULE_T2_QIAN, MULE_T1_ZHAO, 5_000)
    r = trace(store.index(), [seed], limits=Limits(max_hops=50))
    assert r.accounts[MULE_T1_ZHAO].held == 500_000
    assert r.held_total == 500_000
    assert len(r.paths()) >= 1


def test_a_seed_missing_from_the_store_is_named_in_the_error(store: Store) -> None:
    store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    with pytest.raises(NotFound, match="tx_id 4242"):
        trace(store.index(), [1, 4242])


def test_a_missing_day_inside_the_window_is_reported_as_a_gap(store: Store) -> None:
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    r = trace(store.index(skip_days=(1,)), [seed])
    assert r.gaps == (date(2026, 11, 21),)
    assert all("store_gaps:1" in rec.reasons for rec in r.recommendations())


def test_cash_outs_name_their_kind(store: Store) -> None:
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    store.tx(at(10, 1), MULE_T1_ZHAO, ATM, 2_000)
    store.tx(at(10, 2), MULE_T1_ZHAO, SHOP_HOTPOT, 3_000, channel="qr")
    r = trace(store.index(), [seed])
    assert sorted((c.kind, c.traced) for c in r.cashouts) == [("atm", 200_000), ("merchant", 300_000)]
    assert r.accounts[SHOP_HOTPOT].cashout == "merchant"
    assert r.held_total + r.cashed_out_total == r.seed_total  # a merchant cash-out is not also "held"


def test_freeze_recommendations_ask_for_what_is_held(store: Store) -> None:
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    store.tx(at(10, 1), MULE_T1_ZHAO, MULE_T2_QIAN, 3_000)
    recs = trace(store.index(), [seed], method=Method.FIFO).recommendations()
    assert [(r.account, r.recoverable_fen) for r in recs] == [
        (MULE_T2_QIAN, 300_000),
        (MULE_T1_ZHAO, 200_000),
    ]
    assert recs[0].reasons[0] == "traced_held"
    assert 0 < recs[0].confidence <= 1


def test_cli_traces_a_seed_and_prints_json(store: Store) -> None:
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    root = store.write()
    out = CliRunner().invoke(app, ["trace", "run", str(root), "--tx", str(seed), "--method", "lifo"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["held_total_fen"] == 500_000
    assert doc["recommendations"][0]["account"] == MULE_T1_ZHAO


def test_cli_takes_seeds_from_a_report_file(store: Store) -> None:
    store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    root = store.write()
    report = {
        "external_ref": "510107-2026-000123",
        "transfers": [
            {
                "occurred_at": "2026-11-20T10:00:00+08:00",
                "amount_fen": 500_000,
                "payer_card": card_of(VICTIM_WANG),
                "payee_account": card_of(MULE_T1_ZHAO),
            }
        ],
    }
    path = root / "reports.jsonl"
    path.write_text(json.dumps(report) + "\n")
    out = CliRunner().invoke(app, ["trace", "run", str(root), "--report", str(path)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["seeds"] == [1]


def test_cli_names_a_missing_seed(store: Store) -> None:
    store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    out = CliRunner().invoke(app, ["trace", "run", str(store.write()), "--tx", "99"])
    assert out.exit_code == 2
    assert "tx_id 99" in out.output


def test_a_later_seed_reaches_a_mule_the_walk_had_already_let_go(store: Store) -> None:
    first = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    store.tx(at(10, 5), MULE_T1_ZHAO, MULE_T2_QIAN, 5_000)
    second = store.tx(at(11, 0), VICTIM_WANG, MULE_T1_ZHAO, 2_000)
    r = trace(store.index(), [first, second])
    assert r.accounts[MULE_T1_ZHAO].held == 200_000
    assert r.held_total == r.seed_total == 700_000


def test_a_seed_paid_after_the_first_seeds_window_is_still_traced(store: Store) -> None:
    first = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 5_000)
    later = store.tx(at(11, 0), VICTIM_WANG, MULE_T1_ZHAO, 2_000)
    store.tx(at(11, 30), MULE_T1_ZHAO, MULE_T2_QIAN, 7_000)
    r = trace(store.index(), [first, later], limits=Limits(window=timedelta(minutes=45)))
    assert r.accounts[MULE_T2_QIAN].held == r.seed_total == 700_000
