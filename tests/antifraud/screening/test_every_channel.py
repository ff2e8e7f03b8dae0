"""Every channel is screened against the watchlist; the pattern rules run on account transfers only."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from pingan.antifraud.screening.engine import TX_SCHEMA, ScreenState, screen_batch
from pingan.antifraud.screening.ruleset import RuleSet
from tests.antifraud.screening.test_screening_rules import (
    GRANDMA_LI,
    MULE_CARD,
    MULE_CARD_2,
    MULE_CARD_3,
    T0,
    WANG,
    listed,
    no_watchlist,
    reference,
)

SHOP, COLLECTION_CODE = 31, 32  # a merchant's account; a person's account behind a 收款码


def payments(rows: list[tuple[int, timedelta, int, int, int, str]]) -> pl.DataFrame:
    """Payments as (tx_id, time after T0, payer, payee, amount in fen, channel)."""
    return pl.DataFrame(
        {
            "tx_id": [r[0] for r in rows],
            "ts": [T0 + r[1] for r in rows],
            "payer_account": [r[2] for r in rows],
            "payee_account": [r[3] for r in rows],
            "amount_fen": [r[4] for r in rows],
            "channel": [r[5] for r in rows],
            "payer_bank": ["ICBC"] * len(rows),
            "payee_bank": ["TENPAY"] * len(rows),
        },
        schema=TX_SCHEMA,
    )


def flags_of(rules: RuleSet, tx: pl.DataFrame, watchlist: pl.DataFrame) -> dict[int, list[str]]:
    flags, _ = screen_batch(tx, ScreenState(), rules, watchlist, reference())
    return {r["tx_id"]: r["reasons"] for r in flags.iter_rows(named=True)}


def test_a_qr_payment_to_a_watchlisted_personal_collection_code_is_flagged(rules: RuleSet) -> None:
    got = flags_of(
        rules,
        payments([(1, timedelta(hours=1), WANG, COLLECTION_CODE, 30_000, "qr")]),
        listed(COLLECTION_CODE, T0),
    )
    assert got == {1: ["WL-PAYEE-REPORTED:reported_payee"]}


def test_a_pos_payment_at_a_listed_merchant_is_flagged(rules: RuleSet) -> None:
    got = flags_of(
        rules,
        payments([(1, timedelta(hours=1), GRANDMA_LI, SHOP, 90_000, "pos")]),
        listed(SHOP, T0, "suspected", 0.6),
    )
    assert got == {1: ["WL-PAYEE:suspected"]}


def test_a_qr_payment_from_a_listed_payer_is_not_flagged_as_a_victims(rules: RuleSet) -> None:
    watchlist = pl.concat([listed(COLLECTION_CODE, T0), listed(WANG, T0)])
    got = flags_of(rules, payments([(1, timedelta(hours=1), WANG, COLLECTION_CODE, 30_000, "qr")]), watchlist)
    assert got == {}


def test_a_qr_payment_passing_on_money_just_received_by_transfer_is_suppressed(rules: RuleSet) -> None:
    got = flags_of(
        rules,
        payments(
            [
                (1, timedelta(hours=1), GRANDMA_LI, WANG, 40_000, "mobile_banking"),
                (2, timedelta(hours=2), WANG, COLLECTION_CODE, 30_000, "qr"),
            ]
        ),
        listed(COLLECTION_CODE, T0),
    )
    assert got == {}


def test_the_burst_of_new_payees_rule_does_not_fire_on_pos_payments(rules: RuleSet) -> None:
    # Three new shops within half an hour is an afternoon's shopping, not a burst of new payees.
    shops = [(i, timedelta(minutes=5 * i), WANG, payee, 50_000) for i, payee in
             enumerate([MULE_CARD, MULE_CARD_2, MULE_CARD_3], start=1)]  # fmt: skip
    assert flags_of(rules, payments([(*r, "pos") for r in shops]), no_watchlist()) == {}
    by_transfer = flags_of(rules, payments([(*r, "mobile_banking") for r in shops]), no_watchlist())
    assert by_transfer[3] == ["P-NEW-PAYEE-BURST"]


def test_a_large_first_qr_payment_is_not_a_first_large_transfer(rules: RuleSet) -> None:
    assert flags_of(rules, payments([(1, timedelta(0), WANG, SHOP, 2_000_000, "qr")]), no_watchlist()) == {}


def test_a_qr_payment_does_not_make_a_later_transfer_to_that_payee_a_repeat(rules: RuleSet) -> None:
    got = flags_of(
        rules,
        payments(
            [
                (1, timedelta(0), WANG, MULE_CARD, 10_000, "qr"),
                (2, timedelta(hours=1), WANG, MULE_CARD, 2_000_000, "online_banking"),
            ]
        ),
        no_watchlist(),
    )
    assert got == {2: ["P-FIRST-LARGE"]}
