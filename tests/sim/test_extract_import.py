"""Importing bank transaction extracts: PaySim and AMLSim, and a bank's own Parquet extract.

The extracts under tests/sim/extracts/ are hand-written in the public schemas, with bad rows among
good ones; each test imports one, then reads the store as screening, tracing and mule scoring do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from pingan.antifraud.mules.district import read_transfers as mule_transfers
from pingan.antifraud.mules.features import ACCOUNT
from pingan.antifraud.mules.model import graph, score, train
from pingan.antifraud.screening.ruleset import load_rules
from pingan.antifraud.screening.store import screen_store
from pingan.antifraud.tracing.engine import Limits, trace
from pingan.antifraud.tracing.index import TraceIndex
from pingan.antifraud.watchlist.frames import WATCHLIST_SCHEMA
from pingan.cli import app
from pingan.core.errors import Invalid
from pingan.sim.check import check_district
from pingan.sim.extract_import import QUARANTINE, import_extract
from pingan.sim.extract_mapping import load_mapping

ROOT = Path(__file__).resolve().parents[2]
EXTRACTS = Path(__file__).parent / "extracts"
PAYSIM = ROOT / "examples" / "mappings" / "paysim.toml"
AMLSIM = ROOT / "examples" / "mappings" / "amlsim.toml"


def _quarantined(store: Path) -> set[tuple[int, str, str]]:
    q = pl.read_csv(store / QUARANTINE)
    return {(r["line"], r["field"], r["reason"]) for r in q.iter_rows(named=True)}


def _accounts(store: Path) -> dict[str, int]:
    acc = pl.read_parquet(store / "accounts.parquet")
    return dict(zip(acc["card_number"].to_list(), acc["account_id"].to_list(), strict=True))


def _watchlist(*accounts: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": list(accounts),
            "listed_from": [datetime(2023, 1, 1, tzinfo=UTC)] * len(accounts),
            "expires_at": [None] * len(accounts),
            "source": ["report"] * len(accounts),
            "confidence": [1.0] * len(accounts),
            "typology": ["impersonation"] * len(accounts),
        },
        schema=WATCHLIST_SCHEMA,
    )


@pytest.fixture(scope="module")
def paysim_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("paysim") / "store"
    import_extract(EXTRACTS / "paysim_small.csv", load_mapping(PAYSIM), out)
    return out


@pytest.fixture(scope="module")
def amlsim_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("amlsim") / "store"
    import_extract(EXTRACTS / "amlsim_small.csv", load_mapping(AMLSIM), out)
    return out


def test_paysim_bad_rows_are_quarantined_with_their_line_field_and_reason(paysim_store: Path) -> None:
    assert _quarantined(paysim_store) == {
        (11, "step", "unparsable_time"),
        (15, "type", "unknown_channel"),
        (18, "amount", "negative_amount"),
        (20, "nameOrig", "empty_account"),
        (22, "nameDest", "empty_account"),
        (23, "amount", "unparsable_amount"),
        (28, "amount", "zero_amount"),
    }


def test_every_valid_paysim_row_is_written_once(paysim_store: Path) -> None:
    manifest = json.loads((paysim_store / "manifest.json").read_text())
    lines = pl.read_parquet(paysim_store / "transactions" / "**" / "*.parquet")["source_line"].sort()
    assert manifest["counts"]["rows_read"] == 30
    assert lines.to_list() == sorted(set(range(2, 32)) - {11, 15, 18, 20, 22, 23, 28})


def test_paysim_step_counts_hours_from_the_mapping_start(paysim_store: Path) -> None:
    tx = pl.read_parquet(paysim_store / "transactions" / "**" / "*.parquet")
    row = tx.filter(pl.col("source_line") == 7).row(0, named=True)  # step 2, 20,000.00 yuan
    assert row["ts"] == datetime(2024, 1, 1, 2, tzinfo=UTC) - timedelta(hours=8)
    assert row["amount_fen"] == 2_000_000


def test_an_imported_paysim_store_passes_sim_check(paysim_store: Path) -> None:
    report = check_district(paysim_store)
    assert report.transactions == 23


def test_screening_an_imported_paysim_store_flags_its_victims(paysim_store: Path) -> None:
    ids = _accounts(paysim_store)
    run = screen_store(paysim_store, rules=load_rules(), watchlist=_watchlist(ids["C553264065"]))
    flags = {(r["payer_account"], r["payee_account"]): r["reasons"] for r in run.flags.iter_rows(named=True)}
    # 800 yuan to a reported payee; 20,000 yuan as a first transfer to a new payee.
    assert "WL-PAYEE-REPORTED:report" in flags[(ids["C1100000001"], ids["C553264065"])]
    assert "P-FIRST-LARGE" in flags[(ids["C1900366749"], ids["C997608398"])]


def test_tracing_follows_a_paysim_victims_money_to_the_cash_out(paysim_store: Path) -> None:
    ids = _accounts(paysim_store)
    tx = pl.read_parquet(paysim_store / "transactions" / "**" / "*.parquet")
    seed = tx.filter(pl.col("source_line") == 7)["tx_id"].to_list()
    result = trace(TraceIndex.build(paysim_store), seed, limits=Limits(window=timedelta(hours=72)))
    assert {ids["C997608398"], ids["C1000000001"], ids["C1000000002"]} <= set(result.accounts)


def test_mule_scoring_runs_on_an_imported_store(paysim_store: Path) -> None:
    transfers = mule_transfers(paysim_store)
    ids = _accounts(paysim_store)
    mules = {ids["C997608398"], ids["C1000000001"], ids["C553264065"]}
    g = graph(transfers)
    labels = pl.DataFrame({ACCOUNT: g.features[ACCOUNT], "is_mule": g.features[ACCOUNT].is_in(list(mules))})
    scored = score(train([graph(transfers, labels=labels)], propagation_rounds=1), g)
    assert scored.scores.shape == (g.features.height,) and np.isfinite(scored.scores).all()


def test_amlsim_bad_rows_are_quarantined_with_their_line_field_and_reason(amlsim_store: Path) -> None:
    assert _quarantined(amlsim_store) == {
        (19, "sourceNodeId", "empty_account"),
        (20, "targetNodeId", "empty_account"),
        (21, "value", "negative_amount"),
        (22, "time", "unparsable_time"),
    }


def test_an_imported_amlsim_store_is_screened_traced_and_checked(amlsim_store: Path) -> None:
    assert check_district(amlsim_store).transactions == 26
    ids = _accounts(amlsim_store)
    run = screen_store(amlsim_store, rules=load_rules(), watchlist=_watchlist(ids["77"]))
    flagged = {(r["payer_account"], r["payee_account"]) for r in run.flags.iter_rows(named=True)}
    assert {(ids[p], ids["77"]) for p in ("1212", "1213", "1214", "1215")} <= flagged
    assert (ids["900"], ids["901"]) in flagged  # 25,000 yuan to a new payee
    tx = pl.read_parquet(amlsim_store / "transactions" / "**" / "*.parquet")
    seed = tx.filter(pl.col("source_line") == 9)["tx_id"].to_list()
    result = trace(TraceIndex.build(amlsim_store), seed, limits=Limits(window=timedelta(hours=72)))
    assert {ids["901"], ids["902"], ids["903"]} <= set(result.accounts)


BANK_ROWS = [
    ("T1", "2024-03-01 09:15:00", "1200000", "MB", "622202000000000001", "ICBC", "621700000000000002", "CCB"),
    ("T2", "2024-03-01 09:20:00", "50000", "MB", "622202000000000001", "ICBC", "621700000000000003", "CCB"),
    ("T2", "2024-03-01 09:25:00", "50000", "MB", "622202000000000004", "ICBC", "621700000000000003", "CCB"),
    ("T3", "2024-03-01 25:00:00", "50000", "MB", "622202000000000004", "ICBC", "621700000000000003", "CCB"),
    ("T4", "2024-03-02 10:00:00", "70000", "MB", "622202000000000004", "XXBANK", "621700000000000003", "CCB"),
    ("T5", "2024-03-02 11:00:00", "70000", "NB", "622202000000000004", "ICBC", "621700000000000003", "CCB"),
    ("T6", "2024-03-02 23:30:00", "90000", "GT", "622202000000000001", "ICBC", "621700000000000002", "CCB"),
    ("", "2024-03-02 23:40:00", "90000", "GT", "622202000000000001", "ICBC", "621700000000000002", "CCB"),
]
BANK_MAPPING = """
tx_id = "流水号"
[time]
column = "交易时间"
format = "%Y-%m-%d %H:%M:%S"
[amount]
column = "金额"
unit = "fen"
[channel]
column = "渠道"
codes = { MB = "mobile_banking", GT = "counter" }
[accounts]
payer = "付款账号"
payee = "收款账号"
payer_bank = "付款行"
payee_bank = "收款行"
"""


def _bank_extract(tmp_path: Path) -> tuple[Path, Path]:
    cols = ["流水号", "交易时间", "金额", "渠道", "付款账号", "付款行", "收款账号", "收款行"]
    path = tmp_path / "extract.parquet"
    pl.DataFrame(BANK_ROWS, schema=cols, orient="row").write_parquet(path)
    mapping = tmp_path / "bank.toml"
    mapping.write_text(BANK_MAPPING, encoding="utf-8")
    return path, mapping


def test_a_parquet_extract_quarantines_duplicate_ids_unknown_banks_and_codes(tmp_path: Path) -> None:
    path, mapping = _bank_extract(tmp_path)
    summary = import_extract(path, load_mapping(mapping), tmp_path / "store")
    assert _quarantined(tmp_path / "store") == {
        (3, "流水号", "duplicate_tx_id"),
        (4, "交易时间", "unparsable_time"),
        (5, "付款行", "unknown_bank"),
        (6, "渠道", "unknown_channel"),
        (8, "流水号", "empty_tx_id"),
    }
    assert (summary.rows_read, summary.rows_written, summary.rows_quarantined) == (8, 3, 5)
    # Local times are Beijing time; 23:30 on 2 March is that Beijing day's partition.
    days = sorted(p.name for p in (tmp_path / "store" / "transactions").iterdir())
    assert days == ["day=2024-03-01", "day=2024-03-02"]
    assert check_district(tmp_path / "store").transactions == 3


def test_accounts_are_one_per_bank_and_number_with_no_opening_date(tmp_path: Path) -> None:
    path, mapping = _bank_extract(tmp_path)
    import_extract(path, load_mapping(mapping), tmp_path / "store")
    acc = pl.read_parquet(tmp_path / "store" / "accounts.parquet")
    assert acc.select("bank", "card_number").rows() == [
        ("CCB", "621700000000000002"),
        ("CCB", "621700000000000003"),
        ("ICBC", "622202000000000001"),
    ]
    assert acc["opened"].null_count() == acc.height


def test_a_crash_mid_import_leaves_no_store(tmp_path: Path) -> None:
    def crash(_: Path) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        import_extract(
            EXTRACTS / "paysim_small.csv", load_mapping(PAYSIM), tmp_path / "store", after_days=crash
        )
    assert list(tmp_path.iterdir()) == []


def test_an_existing_store_is_not_overwritten(paysim_store: Path) -> None:
    with pytest.raises(Invalid) as err:
        import_extract(EXTRACTS / "paysim_small.csv", load_mapping(PAYSIM), paysim_store)
    assert err.value.field == "out"


def test_a_mapping_error_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(PAYSIM.read_text().replace('unit = "hours"', 'unit = "fortnights"'))
    with pytest.raises(Invalid) as err:
        load_mapping(bad)
    assert err.value.field == "time.unit"


def test_an_unknown_channel_in_the_code_table_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(PAYSIM.read_text().replace('PAYMENT = "third_party"', 'PAYMENT = "carrier_pigeon"'))
    with pytest.raises(Invalid) as err:
        load_mapping(bad)
    assert err.value.field == "channel" and "carrier_pigeon" in err.value.message


def test_a_column_the_extract_lacks_is_named_with_its_mapping_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(AMLSIM.read_text().replace('column = "value"', 'column = "amount"'))
    with pytest.raises(Invalid) as err:
        import_extract(EXTRACTS / "amlsim_small.csv", load_mapping(bad), tmp_path / "store")
    assert (err.value.field, err.value.line) == ("amount.column", 1)
    assert not (tmp_path / "store").exists()


def test_the_command_prints_the_summary_by_reason(tmp_path: Path) -> None:
    out = tmp_path / "store"
    result = CliRunner().invoke(
        app, ["transactions", "import", str(EXTRACTS / "amlsim_small.csv"), "--mapping", str(AMLSIM),
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["rows_read"], summary["rows_written"], summary["rows_quarantined"]) == (30, 26, 4)
    assert summary["failures_by_reason"] == {"empty_account": 2, "negative_amount": 1, "unparsable_time": 1}


def test_the_shipped_mappings_read_the_shared_amlsim_header() -> None:
    shared = ROOT.parent / "shared" / "data" / "amlsim" / "20K_cycle200" / "transactions.csv"
    if not shared.exists():
        pytest.skip("the shared AMLSim sample is not on this machine")
    header = shared.open().readline().strip().split(",")
    assert set(load_mapping(AMLSIM).columns()) <= set(header)


def test_the_extract_day_of_a_late_evening_utc_time_is_its_beijing_day(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("sourceNodeId,targetNodeId,value,time\n1,2,10.00,1\n")
    import_extract(path, load_mapping(AMLSIM), tmp_path / "store")
    # Step 1 is a day after the mapping's start, 2024-01-01 09:00 Beijing time.
    assert [p.name for p in (tmp_path / "store" / "transactions").iterdir()] == ["day=2024-01-02"]


def test_the_screen_and_trace_commands_run_on_an_imported_store(paysim_store: Path, tmp_path: Path) -> None:
    ids = _accounts(paysim_store)
    watchlist = tmp_path / "watchlist.parquet"
    _watchlist(ids["C553264065"]).write_parquet(watchlist)
    flags = tmp_path / "flags.parquet"
    screened = CliRunner().invoke(
        app, ["screen", str(paysim_store), "--watchlist", str(watchlist), "--no-persist", "--out", str(flags)]
    )
    assert screened.exit_code == 0, screened.output
    assert ids["C1100000001"] in pl.read_parquet(flags)["payer_account"].to_list()
    tx = pl.read_parquet(paysim_store / "transactions" / "**" / "*.parquet")
    seed = tx.filter(pl.col("source_line") == 7)["tx_id"][0]
    traced = CliRunner().invoke(
        app, ["trace", "run", str(paysim_store), "--tx", str(seed), "--index-dir", str(tmp_path / "index")]
    )
    assert traced.exit_code == 0, traced.output
    result = json.loads(traced.stdout)
    assert result["seed_total_fen"] == 2_000_000
    assert ids["C1000000001"] in {a["account"] for a in result["accounts"]}
