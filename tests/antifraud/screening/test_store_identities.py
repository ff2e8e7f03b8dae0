"""Identities of a transaction store: looked up for flagged rows only, and never kept in the clear."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pingan.antifraud.screening.engine import FLAG_SCHEMA
from pingan.antifraud.screening.sink import StoreIdentities
from pingan.core.pii import PiiKind, pseudonym

UNKNOWN_ACCOUNT = 10**9  # no account of the store has this id


def flag(payer: int, payee: int, person: int | None) -> pl.DataFrame:
    return pl.DataFrame(
        {"tx_id": [1], "ts": [datetime(2026, 3, 10, 2, tzinfo=UTC)], "payer_account": [payer],
         "payee_account": [payee], "payer_bank": ["ICBC"], "payee_bank": ["CCB"], "amount_fen": [500_000],
         "person_id": [person], "elderly": [False], "reasons": [["P-FIRST-LARGE"]],
         "typology_guess": ["刷单返利"], "amount_at_risk_fen": [500_000]},
        schema=FLAG_SCHEMA,
    )  # fmt: skip


def test_a_flagged_payer_is_keyed_by_the_pseudonym_of_their_national_id(district: Path) -> None:
    accounts = pl.read_parquet(district / "accounts.parquet").head(2)
    persons = pl.read_parquet(district / "persons.parquet")
    holder = int(accounts["holder_person_id"][0])
    national_id = persons.filter(pl.col("person_id") == holder)["national_id"][0]
    (got,) = StoreIdentities(district).flag_inputs(
        flag(int(accounts["account_id"][0]), int(accounts["account_id"][1]), holder)
    )
    assert got.person_key == pseudonym(PiiKind.NATIONAL_ID, national_id)
    assert got.payee_account == pseudonym(PiiKind.CARD, str(accounts["card_number"][1]))
    assert national_id not in repr(got)


def test_a_payer_the_store_does_not_know_is_keyed_by_the_account(district: Path) -> None:
    (got,) = StoreIdentities(district).flag_inputs(flag(UNKNOWN_ACCOUNT, 0, None))
    assert got.payer_account == f"store:{UNKNOWN_ACCOUNT}"
    assert got.person_key == f"account:store:{UNKNOWN_ACCOUNT}"
    assert got.phone is None
