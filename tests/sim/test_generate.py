"""The generator writes a complete district, the same bytes for the same seed, and a valid one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from typer.testing import CliRunner

from pingan.sim import check_district, generate
from pingan.sim.cli import app
from pingan.sim.writer import file_digests

from .conftest import TINY_SEED


def test_tiny_district_passes_every_check(tiny_district: Path) -> None:
    report = check_district(tiny_district)
    assert report.transactions > 20_000
    assert report.fraud_transactions > 0
    assert report.reports > 0


def test_tiny_district_has_the_documented_layout(tiny_district: Path) -> None:
    for name in ("manifest.json", "stations.geojson", "persons.parquet", "accounts.parquet", "merchants.parquet",
                 "reports.jsonl", "truth/account_roles.parquet", "truth/campaigns.parquet", "truth/victims.parquet",
                 "truth/fraud_flows.parquet"):  # fmt: skip
        assert (tiny_district / name).is_file(), name
    days = sorted(p.name for p in (tiny_district / "transactions").iterdir())
    assert len(days) == 14
    assert days[0] == "day=2026-03-02"
    assert (tiny_district / "transactions" / days[0] / "part-0.parquet").is_file()
    assert (tiny_district / "truth" / "tx_labels" / days[0] / "part-0.parquet").is_file()


def test_transactions_have_the_documented_columns_and_types(tiny_district: Path) -> None:
    tx = pl.read_parquet(tiny_district / "transactions/day=2026-03-02/part-0.parquet")
    assert dict(tx.schema) == {
        "tx_id": pl.Int64, "ts": pl.Datetime("us", "UTC"), "payer_account": pl.Int64, "payee_account": pl.Int64,
        "amount_fen": pl.Int64, "channel": pl.String, "payer_bank": pl.String, "payee_bank": pl.String,
    }  # fmt: skip
    labels = pl.read_parquet(tiny_district / "truth/tx_labels/day=2026-03-02/part-0.parquet")
    assert dict(labels.schema) == {
        "tx_id": pl.Int64, "kind": pl.String, "is_fraud": pl.Boolean, "campaign_id": pl.Int64,
    }  # fmt: skip
    assert labels["tx_id"].sort().equals(tx["tx_id"].sort())


def test_manifest_counts_match_the_files(tiny_district: Path) -> None:
    manifest = json.loads((tiny_district / "manifest.json").read_text())
    tx = pl.scan_parquet(tiny_district / "transactions/**/*.parquet").select(pl.len()).collect().item()
    assert manifest["counts"]["transactions"] == tx
    assert manifest["counts"]["persons"] == pl.read_parquet(tiny_district / "persons.parquet").height
    assert manifest["scale"] == "tiny"
    assert manifest["seed"] == TINY_SEED


def test_same_seed_and_scale_give_byte_identical_files(tiny_district: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate("tiny", TINY_SEED, again, workers=2)  # another process count must not matter either
    assert file_digests(again) == file_digests(tiny_district)


def test_another_seed_gives_other_transactions(tiny_district: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate("tiny", TINY_SEED + 1, other, days=1, workers=1)
    day = "transactions/day=2026-03-02/part-0.parquet"
    assert (
        hashlib.sha256((other / day).read_bytes()).digest()
        != hashlib.sha256((tiny_district / day).read_bytes()).digest()
    )


def test_days_option_shortens_the_run(tmp_path: Path) -> None:
    generate("tiny", 5, tmp_path / "d", days=3, workers=1)
    assert len(list((tmp_path / "d" / "transactions").iterdir())) == 3
    check_district(tmp_path / "d")


def test_csv_format_also_writes_csv_copies(tmp_path: Path) -> None:
    generate("tiny", 5, tmp_path / "c", days=2, fmt="csv", workers=1)
    assert (tmp_path / "c" / "reports.csv").read_text().startswith("external_ref,victim_name,")
    assert (tmp_path / "c" / "transactions/day=2026-03-02/part-0.csv").is_file()
    assert (tmp_path / "c" / "accounts.csv").is_file()


def test_cli_generates_and_checks(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(
        app, ["generate", "--scale", "tiny", "--seed", "2", "--out", str(out), "--days", "2"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["check", str(out)])
    assert result.exit_code == 0, result.output
    assert any(line.startswith("ok:") for line in result.output.splitlines())


def test_cli_refuses_an_unknown_scale(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", "--scale", "city", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0


def test_load_reads_back_every_person_account_station_and_report(tiny_district: Path) -> None:
    from pingan.sim.load import iter_accounts, iter_persons, iter_reports, iter_stations, scan_transactions

    manifest = json.loads((tiny_district / "manifest.json").read_text())
    assert len(list(iter_stations(tiny_district))) == 16
    assert sum(len(b) for b in iter_persons(tiny_district, batch_size=500)) == manifest["counts"]["persons"]
    accounts = [a for b in iter_accounts(tiny_district) for a in b]
    assert len(accounts) == manifest["counts"]["accounts"]
    assert not hasattr(accounts[0], "role")  # the registry does not know which cards are mules
    assert len(list(iter_reports(tiny_district))) == manifest["counts"]["reports"]
    assert (
        scan_transactions(tiny_district).select(pl.len()).collect().item()
        == manifest["counts"]["transactions"]
    )


def test_day_files_hold_a_row_group_per_channel_each_in_time_order(tiny_district: Path) -> None:
    manifest = json.loads((tiny_district / "manifest.json").read_text())
    assert manifest["schema_version"] == 2
    path = tiny_district / "transactions/day=2026-03-03/part-0.parquet"
    pf = pq.ParquetFile(path)
    channels = []
    for g in range(pf.metadata.num_row_groups):
        group = pl.DataFrame(pl.from_arrow(pf.read_row_group(g)))
        assert group["channel"].n_unique() == 1
        channels.append(group["channel"][0])
        assert group["tx_id"].is_sorted() and group["ts"].is_sorted()
        assert "DELTA_BINARY_PACKED" in pf.metadata.row_group(g).column(0).encodings
    assert len(channels) == len(set(channels)) > 3
    # In id order the day is in time order.
    tx = pl.read_parquet(path).sort("tx_id")
    assert tx["ts"].is_sorted()
