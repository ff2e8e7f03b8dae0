"""`pingan registry import`: KYC extracts with bad rows keep the good ones and quarantine the rest."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import func, select
from typer.testing import CliRunner

from pingan.antifraud.registry.model import AccountHolder, BankAccount
from pingan.cli import app as cli
from pingan.core import db
from tests.factories import card, national_id

HEADER = "holder_national_id,holder_name,bank,account_number,kind,opened_on,status\n"
ZHAO = national_id("51010719900101003")


def _count(model: type[object]) -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())  # type: ignore[arg-type]


def test_a_kyc_file_with_bad_rows_keeps_the_good_and_quarantines_the_bad(
    database: str, tmp_path: Path
) -> None:
    f = tmp_path / "kyc.csv"
    good1 = f"{ZHAO},赵六,CCB,{card('621700', 1)},debit,2024-03-01,active\n"
    bad_card = f"{ZHAO},赵六,ICBC,6222020000000000001,debit,2024-03-01,active\n"
    good2 = f"{ZHAO},赵六,ICBC,{card('622202', 2)},credit,2023-01-09,active\n"
    bad_bank = f"{ZHAO},赵六,XXB,{card('622202', 3)},debit,2023-01-09,active\n"
    f.write_text(HEADER + good1 + bad_card + good2 + bad_bank, encoding="utf-8")
    result = CliRunner().invoke(cli, ["registry", "import", str(f)])
    assert result.exit_code == 3, result.output
    assert "line 3" in result.output and "account_number" in result.output
    assert "line 5" in result.output and "bank" in result.output
    assert _count(BankAccount) == 2 and _count(AccountHolder) == 1
    quarantine = tmp_path / "kyc.rejected.csv"
    assert quarantine.read_text(encoding="utf-8") == HEADER + bad_card + bad_bank


def test_reimporting_a_kyc_file_adds_nothing(database: str, tmp_path: Path) -> None:
    f = tmp_path / "kyc.csv"
    f.write_text(HEADER + f"{ZHAO},赵六,CCB,{card('621700', 1)},debit,2024-03-01,active\n", encoding="utf-8")
    for _ in range(2):
        assert CliRunner().invoke(cli, ["registry", "import", str(f)]).exit_code == 0
    assert _count(BankAccount) == 1


def test_a_parquet_kyc_extract_is_read_too(database: str, tmp_path: Path) -> None:
    f = tmp_path / "kyc.parquet"
    pl.DataFrame(
        {
            "holder_national_id": [ZHAO, ZHAO],
            "holder_name": ["赵六", "赵六"],
            "bank": ["CCB", "ABC"],
            "account_number": [card("621700", 1), "123"],
            "kind": ["debit", "e-wallet"],
            "opened_on": ["2024-03-01", "2024-03-01"],
            "status": ["active", "active"],
        }
    ).write_parquet(f)
    result = CliRunner().invoke(cli, ["registry", "import", str(f)])
    assert result.exit_code == 3
    assert _count(BankAccount) == 1
    assert pl.read_parquet(tmp_path / "kyc.rejected.parquet")["account_number"].to_list() == ["123"]
