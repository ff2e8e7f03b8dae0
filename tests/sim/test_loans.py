"""Ordinary life borrows and moves money in before large payments, as victims do: a lender's payout, or
money moved in from one's own account, is no fraud signature in the district."""

from __future__ import annotations

from pathlib import Path

import polars as pl

HOUR_US = 3_600_000_000


def _transfers(district: Path) -> pl.DataFrame:
    return (
        pl.scan_parquet(district / "transactions" / "*" / "*.parquet")
        .select(
            "tx_id", pl.col("ts").dt.epoch("us").alias("t"), "payer_account", "payee_account", "amount_fen"
        )
        .collect()
    )


def _loans_to_non_victims(district: Path) -> pl.DataFrame:
    lenders = pl.read_parquet(district / "merchants.parquet").filter(pl.col("category") == "lender")[
        "account_id"
    ]
    victims = pl.read_parquet(district / "truth" / "victims.parquet")["person_id"]
    holders = pl.read_parquet(district / "accounts.parquet").select("account_id", "holder_person_id")
    return (
        _transfers(district)
        .filter(pl.col("payer_account").is_in(lenders.to_list()))
        .join(holders, left_on="payee_account", right_on="account_id")
        .filter(~pl.col("holder_person_id").is_in(victims.to_list()))
    )


def test_lenders_pay_loans_out_to_people_who_are_not_victims(tiny_district: Path) -> None:
    loans = _loans_to_non_victims(tiny_district)
    assert loans.height >= 20
    assert loans["holder_person_id"].n_unique() >= 20
    # Consumer loans of a few thousand yuan, in whole hundreds (as a victim's loan is).
    assert 2_000_00 <= loans["amount_fen"].median() <= 20_000_00  # type: ignore[operator]
    assert (loans["amount_fen"] % 10_000 == 0).all()


def test_some_borrowers_pay_most_of_the_loan_to_a_new_payee_within_72_hours(tiny_district: Path) -> None:
    tx = _transfers(tiny_district)
    loans = _loans_to_non_victims(tiny_district).select(
        pl.col("payee_account").alias("borrower"),
        pl.col("t").alias("t_loan"),
        pl.col("amount_fen").alias("loan"),
    )
    after = (
        loans.join(tx, left_on="borrower", right_on="payer_account")
        .filter((pl.col("t") > pl.col("t_loan")) & (pl.col("t") <= pl.col("t_loan") + 72 * HOUR_US))
        .filter(pl.col("amount_fen") >= 0.5 * pl.col("loan"))
    )
    earlier = tx.select(
        pl.col("payer_account").alias("borrower"), "payee_account", pl.col("t").alias("t_before")
    )
    new = (
        after.join(earlier, on=["borrower", "payee_account"], how="left")
        .group_by("tx_id")
        .agg((pl.col("t_before") < pl.col("t")).any().alias("paid_before"))
    )
    assert new.filter(~pl.col("paid_before")).height >= 5


def test_some_large_payments_follow_money_moved_in_from_the_payers_own_account(tiny_district: Path) -> None:
    tx = _transfers(tiny_district)
    holder = pl.read_parquet(tiny_district / "accounts.parquet").select("account_id", "holder_person_id")
    victims = pl.read_parquet(tiny_district / "truth" / "victims.parquet")["person_id"].to_list()
    with_holders = tx.join(holder.rename({"holder_person_id": "from"}), left_on="payer_account",
                           right_on="account_id").join(holder.rename({"holder_person_id": "to"}),
                                                       left_on="payee_account", right_on="account_id")  # fmt: skip
    own = with_holders.filter(
        (pl.col("from") == pl.col("to")) & (pl.col("payer_account") != pl.col("payee_account"))
    )
    large = with_holders.filter((pl.col("amount_fen") >= 10_000_00) & (pl.col("from") != pl.col("to")))
    large = large.filter(~pl.col("from").is_in(victims))
    preceded = large.join(
        own.select(pl.col("payee_account").alias("payer_account"), pl.col("t").alias("t_own")),
        on="payer_account",
    ).filter((pl.col("t_own") < pl.col("t")) & (pl.col("t_own") >= pl.col("t") - 24 * HOUR_US))
    assert preceded["tx_id"].n_unique() >= 5
    assert preceded["tx_id"].n_unique() < large.height  # most large payments are paid from what is there
