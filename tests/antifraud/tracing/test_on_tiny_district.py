"""Integration: trace the synthetic district's `tiny` reports against its ground truth."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from pingan.antifraud.tracing import Limits, Method, TraceIndex, trace
from pingan.sim.truth import read_labels

pytest.importorskip("pingan.sim.cli")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "store"
    cmd = [
        sys.executable,
        "-m",
        "pingan.sim.cli",
        "generate",
        "--scale",
        "tiny",
        "--seed",
        "1",
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def test_fifo_puts_nearly_all_stolen_money_on_the_gangs_accounts(tiny: Path) -> None:
    index = TraceIndex.build(tiny)
    flows = read_labels(tiny).fraud_flows
    gang = flows.group_by("campaign_id").agg(pl.col("payee_account").unique(), pl.col("tx_id"))
    accounts = {r["campaign_id"]: set(r["payee_account"]) for r in gang.iter_rows(named=True)}
    txs = {r["campaign_id"]: set(r["tx_id"]) for r in gang.iter_rows(named=True)}
    seeds = (
        flows.filter(pl.col("hop") == 0)
        .group_by("victim_id", "campaign_id")
        .agg("tx_id", pl.col("amount_fen").sum())
    )
    right = stolen = 0
    for r in seeds.iter_rows(named=True):
        res = trace(
            index,
            r["tx_id"],
            method=Method.FIFO,
            limits=Limits(max_hops=64, window=timedelta(days=30), min_fen=1),
        )
        c = r["campaign_id"]
        right += sum(a.held for k, a in res.accounts.items() if k in accounts[c])
        right += sum(x.traced for x in res.cashouts if x.tx_id in txs[c])
        stolen += r["amount_fen"]
    assert right / stolen >= 0.9
    assert not index.missing_days
