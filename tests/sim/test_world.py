"""Persons, accounts and cards of the district look real in form and never collide."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.core.pii import luhn_check_digit, national_id_check_char, normalize_card, normalize_national_id
from pingan.sim.geography import read_station_codes
from pingan.sim.idnumbers import card_matrix, national_id_matrix, strings_from_matrix
from pingan.sim.truth import read_labels


@given(st.integers(0, 999_999), st.integers(19000101, 20091231), st.integers(0, 999))
def test_vectorised_id_check_character_agrees_with_core(region: int, birth: int, seq: int) -> None:
    nid = strings_from_matrix(national_id_matrix(np.array([region]), np.array([birth]), np.array([seq])))[
        0
    ].as_py()
    assert nid[17] == national_id_check_char(nid[:17])


@given(st.integers(0, 999_999), st.integers(0, 10**12 - 1), st.sampled_from([9, 12]))
def test_vectorised_luhn_digit_agrees_with_core(bin_prefix: int, body: int, width: int) -> None:
    mat, lengths = card_matrix(np.array([bin_prefix]), np.array([body % 10**width]), np.array([width]))
    card = strings_from_matrix(mat, lengths)[0].as_py()
    assert len(card) == 6 + width + 1
    assert card[-1] == luhn_check_digit(card[:-1])


def test_every_person_has_a_valid_unique_id_and_phone(tiny_district: Path) -> None:
    persons = pl.read_parquet(tiny_district / "persons.parquet")
    assert persons["national_id"].n_unique() == persons.height
    assert persons["phone"].n_unique() == persons.height
    for nid in persons["national_id"].sample(200, seed=1):
        normalize_national_id(nid)
    assert persons["phone"].str.contains(r"^1\d{10}$").all()


def test_residents_live_inside_a_known_station_area(tiny_district: Path) -> None:
    codes = read_station_codes((tiny_district / "stations.geojson").read_text())
    residents = pl.read_parquet(tiny_district / "persons.parquet").filter(pl.col("resident"))
    assert set(residents["home_station"].unique()) <= codes
    assert residents["home_lat"].is_between(30.59, 30.69).all()
    assert residents["home_lon"].is_between(103.99, 104.09).all()


def test_each_resident_holds_one_to_eight_ordinary_accounts(tiny_district: Path) -> None:
    residents = pl.read_parquet(tiny_district / "persons.parquet").filter(pl.col("resident"))["person_id"]
    acc = pl.read_parquet(tiny_district / "accounts.parquet").filter(
        (pl.col("holder_type") == "personal") & pl.col("holder_person_id").is_in(residents.implode())
    )
    per = acc.group_by("holder_person_id").len()["len"]
    assert per.min() >= 1
    assert per.max() <= 8


def test_cards_carry_their_bank_prefix_and_a_luhn_digit(tiny_district: Path) -> None:
    acc = pl.read_parquet(tiny_district / "accounts.parquet")
    assert acc["card_number"].n_unique() == acc.height
    for row in acc.sample(300, seed=2).iter_rows(named=True):
        normalize_card(row["card_number"])
        assert row["card_number"].startswith(BANKS_BY_CODE[row["bank"]].bin_prefix)


def test_rented_mule_cards_are_their_holders_everyday_cards_with_a_past(tiny_district: Path) -> None:
    """A rented card (卡农) is the renter's own debit card: opened long before, its salary, shopping and
    transfers going on beside the gang's money."""
    labels = read_labels(tiny_district)
    acc = pl.read_parquet(tiny_district / "accounts.parquet")
    persons = pl.read_parquet(tiny_district / "persons.parquet", columns=["person_id", "resident"])
    t1 = (
        labels.accounts.filter(pl.col("role") == "mule_t1")
        .join(acc, on="account_id")
        .join(persons, left_on="holder_person_id", right_on="person_id")
    )
    rented = t1.filter(pl.col("resident"))
    assert rented.height > 0
    start = date.fromisoformat(json.loads((tiny_district / "manifest.json").read_text())["start"])
    assert (rented["opened"] < start - timedelta(days=30)).all()
    tx = pl.scan_parquet(tiny_district / "transactions/**/*.parquet").join(labels.transactions(), on="tx_id")
    ordinary = (
        tx.filter(~pl.col("is_fraud"))
        .filter(
            pl.col("payer_account").is_in(rented["account_id"].implode())
            | pl.col("payee_account").is_in(rented["account_id"].implode())
        )
        .select(pl.col("payer_account"), pl.col("payee_account"))
        .collect()
    )
    touched = set(ordinary["payer_account"]) | set(ordinary["payee_account"])
    assert len(touched & set(rented["account_id"])) >= rented.height // 2


def test_some_bought_mule_cards_are_a_companys_account(tiny_district: Path) -> None:
    labels = read_labels(tiny_district)
    acc = pl.read_parquet(tiny_district / "accounts.parquet")
    mules = labels.accounts.filter(pl.col("is_mule")).join(acc, on="account_id")
    assert 0 < (mules["holder_type"] == "business").sum() < mules.height
