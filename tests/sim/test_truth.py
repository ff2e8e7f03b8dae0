"""The bank's files hold no labels, and screening, tracing and mule scoring never open truth/."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pingan.antifraud.mules.district import (
    account_openings,
    inflow_sources,
    labelled_graph,
    read_transfers,
    split_day,
)
from pingan.antifraud.mules.model import graph, score, train
from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import load_rules
from pingan.antifraud.screening.scorer import FEATURES, Scorer, fit, screen_with_scorer, transfer_features
from pingan.antifraud.screening.store import screen_store
from pingan.antifraud.tracing import Limits, Method, TraceIndex, trace
from pingan.core.errors import NotFound
from pingan.sim.truth import Labels, read_labels

LABELS = {"kind", "is_fraud", "campaign_id", "role"}


def test_no_bank_file_carries_a_label_column(tiny_district: Path) -> None:
    for name in ("accounts.parquet", "persons.parquet", "merchants.parquet"):
        assert not LABELS & set(pl.read_parquet_schema(tiny_district / name)), name
    for day in (tiny_district / "transactions").glob("day=*/part-0.parquet"):
        assert not LABELS & set(pl.read_parquet_schema(day)), day


def test_accounts_carry_the_fields_a_bank_keeps(tiny_district: Path) -> None:
    acc = pl.read_parquet(tiny_district / "accounts.parquet")
    assert set(acc["holder_type"].unique()) == {"personal", "business"}
    assert acc["kyc_occupation"].null_count() == 0
    assert acc["opened"].null_count() == 0
    assert (acc["opening_balance_fen"] >= 0).all()


def test_read_labels_gives_a_label_for_every_transaction(tiny_district: Path) -> None:
    labels = read_labels(tiny_district)
    tx = pl.scan_parquet(tiny_district / "transactions/**/*.parquet").select("tx_id").collect()
    known = labels.transactions().select("tx_id", "is_fraud").collect()
    assert known.height == tx.height
    assert set(known["tx_id"]) == set(tx["tx_id"])
    assert known["is_fraud"].sum() == labels.fraud_flows.height
    mules = labels.accounts.filter(pl.col("is_mule"))["account_id"]
    assert set(labels.role_of(mules).unique()) <= {"mule_t1", "mule_t2", "mule_t3", "mule_t4", "cashout"}


def test_a_store_without_truth_has_no_labels_to_read(tiny_district: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        read_labels(tmp_path)


def _screen(store: Path, scorer: Scorer) -> pl.DataFrame:
    """The rules' flags and the scorer's beside them (M-SCORE)."""
    since, watchlist = since_of(store, 3), watchlist_from_reports(store)
    run = screen_store(store, rules=load_rules(), watchlist=watchlist, since=since)
    return screen_with_scorer(store, scorer, run.flags, watchlist=watchlist, since=since).sort(pl.all())


def _scorer(store: Path, labels: Labels) -> Scorer:
    """A scorer trained on the store's own victims' payments (labels read by the test, not the scorer)."""
    paid = labels.fraud_flows.filter(pl.col("hop") == 0)["tx_id"].implode()
    frame = transfer_features(store, watchlist_from_reports(store), since=since_of(store, 3))
    booster = fit([frame.with_columns(label=pl.col("tx_id").is_in(paid).cast(pl.Int64))])
    return Scorer(booster, FEATURES, threshold=0.5, rule_gate=0.2)


def _trace(store: Path, seeds: list[int]) -> list[tuple[int, ...]]:
    index = TraceIndex.build(store)
    limits = Limits(max_hops=6, window=timedelta(hours=72), min_fen=1)
    out = []
    for tx in seeds:
        res = trace(index, tx, method=Method.FIFO, limits=limits)
        out.append(tuple(sorted((int(k), int(a.held)) for k, a in res.accounts.items())))
    return out


def _mule_scores(store: Path, model: object) -> np.ndarray:
    g = graph(read_transfers(store, start=split_day(store)), opened=account_openings(store),
              flagged=inflow_sources(store))  # fmt: skip
    return np.asarray(score(model, g).scores)  # type: ignore[arg-type]


def test_screening_tracing_and_mule_scoring_run_the_same_with_truth_taken_away(
    damaged_copy: Path, tmp_path: Path
) -> None:
    """Run each engine (screening with the scorer beside the rules included) on the store, then move
    truth/ out of the store and run them again: had any of them opened a file under truth/, the second
    run would fail or differ."""
    labels = read_labels(damaged_copy)  # the test's own label read, before the engines run
    seeds = labels.fraud_flows.filter(pl.col("hop") == 0)["tx_id"].head(20).to_list()
    day = split_day(damaged_copy)
    truth = labels.accounts.select(pl.col("account_id").alias("account"), "is_mule")
    model = train([labelled_graph(read_transfers(damaged_copy, end=day), truth,
                                  opened=account_openings(damaged_copy), flagged=inflow_sources(damaged_copy))],
                  propagation_rounds=1)  # fmt: skip
    scorer = _scorer(damaged_copy, labels)
    with_truth = (
        _screen(damaged_copy, scorer),
        _trace(damaged_copy, seeds),
        _mule_scores(damaged_copy, model),
    )
    assert with_truth[0].height > 0 and any(with_truth[1])
    assert with_truth[0]["reasons"].list.eval(pl.element().str.starts_with("M-SCORE:")).list.any().any()

    shutil.move(damaged_copy / "truth", tmp_path / "truth-elsewhere")
    assert not (damaged_copy / "truth").exists()
    without = (_screen(damaged_copy, scorer), _trace(damaged_copy, seeds), _mule_scores(damaged_copy, model))

    assert without[0].equals(with_truth[0])
    assert without[1] == with_truth[1]
    assert np.array_equal(without[2], with_truth[2])
