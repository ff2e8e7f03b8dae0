"""`sim check` names the first broken invariant of a district that was tampered with."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pingan.sim import Violation, check_district
from pingan.sim.cli import app
from pingan.sim.truth import read_labels


def _rewrite_day(root: Path, fn: object) -> Path:
    """Apply `fn` to the first day file that has a layering transfer, with that day's layering tx ids
    (from truth/); returns the file."""
    layering = read_labels(root).transactions().filter(pl.col("kind") == "layering").collect()["tx_id"]
    for path in sorted((root / "transactions").glob("day=*/part-0.parquet")):
        df = pl.read_parquet(path)
        ids = df.filter(pl.col("tx_id").is_in(layering.implode()))["tx_id"]
        if ids.len():
            fn(df, path, ids)  # type: ignore[operator]
            return path
    raise AssertionError("no layering transfer in the district")


def test_a_mule_passing_on_more_than_it_received_is_a_negative_balance(damaged_copy: Path) -> None:
    def inflate(df: pl.DataFrame, path: Path, layering: pl.Series) -> None:
        df.with_columns(
            pl.when(pl.col("tx_id") == layering.min())
            .then(pl.col("amount_fen") * 1000)
            .otherwise(pl.col("amount_fen"))
        ).write_parquet(path)

    _rewrite_day(damaged_copy, inflate)
    with pytest.raises(Violation) as exc:
        check_district(damaged_copy)
    assert exc.value.check == "negative_balance"


def test_cli_exits_non_zero_naming_the_negative_balance(damaged_copy: Path) -> None:
    def inflate(df: pl.DataFrame, path: Path, layering: pl.Series) -> None:
        df.with_columns(
            pl.when(pl.col("tx_id").is_in(layering.implode()))
            .then(pl.col("amount_fen") * 1000)
            .otherwise(pl.col("amount_fen"))
        ).write_parquet(path)

    _rewrite_day(damaged_copy, inflate)
    result = CliRunner().invoke(app, ["check", str(damaged_copy)])
    assert result.exit_code == 1
    assert "negative_balance" in result.output


def test_rows_out_of_time_order_are_a_time_order_violation(damaged_copy: Path) -> None:
    _rewrite_day(
        damaged_copy, lambda df, path, _: df.with_columns(pl.col("ts").reverse()).write_parquet(path)
    )
    with pytest.raises(Violation) as exc:
        check_district(damaged_copy)
    assert exc.value.check == "time_order"


def test_a_fraud_row_without_a_campaign_is_a_label_violation(damaged_copy: Path) -> None:
    path = sorted((damaged_copy / "truth" / "tx_labels").glob("day=*/part-0.parquet"))[3]
    labels = pl.read_parquet(path)
    assert (labels["kind"] == "layering").any()
    labels.with_columns(
        pl.when(pl.col("kind") == "layering").then(-1).otherwise(pl.col("campaign_id")).alias("campaign_id")
    ).write_parquet(path)
    with pytest.raises(Violation) as exc:
        check_district(damaged_copy)
    assert exc.value.check == "labels"


def test_a_label_column_in_the_bank_files_is_a_label_violation(damaged_copy: Path) -> None:
    day = sorted((damaged_copy / "transactions").glob("day=*/part-0.parquet"))[0]
    pl.read_parquet(day).with_columns(is_fraud=pl.lit(False)).write_parquet(day)
    with pytest.raises(Violation, match="is_fraud") as exc:
        check_district(damaged_copy)
    assert exc.value.check == "labels"


def test_an_ordinary_account_spending_more_than_it_holds_is_a_negative_balance(damaged_copy: Path) -> None:
    """Every account's balance is replayed from its opening balance, not only the mule cards'."""
    roles = read_labels(damaged_copy).accounts
    day = sorted((damaged_copy / "transactions").glob("day=*/part-0.parquet"))[0]
    df = pl.read_parquet(day)
    qr = df.filter(
        (pl.col("channel") == "qr") & ~pl.col("payer_account").is_in(roles["account_id"].implode())
    )
    tx = qr["tx_id"][0]
    df.with_columns(
        pl.when(pl.col("tx_id") == tx).then(10**13).otherwise(pl.col("amount_fen")).alias("amount_fen")
    ).write_parquet(day)
    with pytest.raises(Violation) as exc:
        check_district(damaged_copy)
    assert exc.value.check == "negative_balance"
    assert f"tx {tx}" in exc.value.detail


def test_a_report_with_a_wrong_id_check_character_is_named_with_its_line(damaged_copy: Path) -> None:
    path = damaged_copy / "reports.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    report = json.loads(lines[1])
    nid = report["victim"]["national_id"]
    report["victim"]["national_id"] = nid[:17] + ("0" if nid[17] != "0" else "1")
    lines[1] = json.dumps(report, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(Violation) as exc:
        check_district(damaged_copy)
    assert exc.value.check == "reports"
    assert "line 2" in exc.value.detail
    assert "victim.national_id" in exc.value.detail


def test_a_report_at_an_unknown_station_is_refused(damaged_copy: Path) -> None:
    path = damaged_copy / "reports.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    report = json.loads(lines[0])
    report["station_code"] = "XX-NOWHERE"
    lines[0] = json.dumps(report, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(Violation, match="station_code"):
        check_district(damaged_copy)


def test_a_missing_file_is_named(damaged_copy: Path) -> None:
    (damaged_copy / "accounts.parquet").unlink()
    with pytest.raises(Violation, match=r"accounts\.parquet"):
        check_district(damaged_copy)
