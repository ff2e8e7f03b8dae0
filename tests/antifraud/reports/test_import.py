"""`pingan reports import`: good reports in, bad ones quarantined with line and field, re-import adds nothing."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from pingan.antifraud.reports import actions
from pingan.antifraud.reports.imports import CSV_COLUMNS, import_reports
from pingan.antifraud.reports.model import FraudReport, ReportTransfer
from pingan.cli import app
from pingan.core import clock, db
from pingan.core.auth import User
from pingan.core.roles import Actor
from pingan.core.settings import get_settings
from tests.conftest import bearer
from tests.factories import card, report_payload

pytestmark = pytest.mark.usefixtures("station_yulin")
IMPORTER = Actor.system("import")


def _count(model: type[Any] = FraudReport) -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _good(i: int) -> dict[str, Any]:
    body = report_payload(external_ref=f"IMP-{i:04d}")
    body["transfers"][0]["payee_account"] = card("621700", 500 + i)
    return body


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)
    )
    return path


def test_valid_rows_are_imported_and_bad_rows_rejected_with_line_and_field(tmp_path: Path) -> None:
    bad_amount = _good(2)
    bad_amount["transfers"][0]["amount_fen"] = 0
    src = _write_jsonl(tmp_path / "reports.jsonl", [_good(1), bad_amount, "{not json", _good(4)])
    summary = import_reports(src, actor=IMPORTER)
    assert summary.imported == 2
    assert [(r.line, r.field) for r in summary.rejected] == [(2, "transfers.0.amount_fen"), (3, "line")]
    assert _count() == 2


def test_rejected_rows_are_copied_unchanged_to_a_quarantine_file_beside_the_input(tmp_path: Path) -> None:
    bad = _good(2)
    bad["typology"] = "彩票"
    src = _write_jsonl(tmp_path / "reports.jsonl", [_good(1), bad])
    summary = import_reports(src, actor=IMPORTER)
    assert summary.quarantine == tmp_path / "reports.rejected.jsonl"
    original_line = src.read_text().splitlines()[1]
    assert summary.quarantine.read_text().splitlines() == [original_line]


def test_the_quarantine_and_its_reasons_are_readable_by_the_service_user_only(tmp_path: Path) -> None:
    bad = _good(2)
    bad["typology"] = "彩票"
    summary = import_reports(_write_jsonl(tmp_path / "reports.jsonl", [bad]), actor=IMPORTER)
    assert summary.quarantine is not None
    reasons = summary.quarantine.with_suffix(".jsonl.errors.txt")
    assert stat.S_IMODE(summary.quarantine.stat().st_mode) == 0o600
    assert stat.S_IMODE(reasons.stat().st_mode) == 0o600


def test_an_uploaded_file_is_private_and_old_uploads_are_deleted_after_the_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: TestClient, officer_li: User
) -> None:
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    old = uploads / "20250101T000000-abcdef.jsonl"
    old.write_text("{}\n")
    month_ago = (clock.now() - timedelta(days=get_settings().upload_retention_days + 1)).timestamp()
    os.utime(old, (month_ago, month_ago))
    body = json.dumps(_good(1), ensure_ascii=False).encode()
    r = client.post(
        "/reports/import", files={"file": ("r.jsonl", body, "application/jsonl")}, headers=bearer(officer_li)
    )
    assert r.status_code == 200
    [stored] = list(uploads.iterdir())
    assert stored != old
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_importing_the_same_file_twice_adds_nothing(tmp_path: Path) -> None:
    src = _write_jsonl(tmp_path / "reports.jsonl", [_good(1), _good(2)])
    import_reports(src, actor=IMPORTER)
    again = import_reports(src, actor=IMPORTER)
    assert (again.imported, again.duplicates) == (0, 2)
    assert _count() == 2


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def _csv_row(ref: str, payee: str, amount: int = 100_000, suspects: str = "") -> dict[str, str]:
    body = report_payload()
    t = body["transfers"][0]
    return {
        "external_ref": ref,
        "victim_name": body["victim"]["name"],
        "victim_national_id": body["victim"]["national_id"],
        "victim_phone": body["victim"]["phone"],
        "fraud_started_at": body["fraud_started_at"],
        "reported_at": body["reported_at"],
        "station_code": "WH-YL",
        "officer": "李强",
        "typology": "虚假投资理财",
        "narrative": "",
        "occurred_at": t["occurred_at"],
        "amount_fen": str(amount),
        "payer_card": t["payer_card"],
        "payer_bank": "CMB",
        "payee_account": payee,
        "payee_bank": "CCB",
        "channel": "mobile_banking",
        "suspects": suspects,
    }


def test_csv_rows_with_the_same_reference_become_one_report_with_several_transfers(tmp_path: Path) -> None:
    src = tmp_path / "reports.csv"
    src.write_text(
        _csv(
            [
                _csv_row("C-1", card("621700", 1), 100_000, "phone:17000003333;url:http://x.example"),
                _csv_row("C-1", card("621700", 2), 300_000),
                _csv_row("C-2", card("621700", 3)),
            ]
        )
    )
    summary = import_reports(src, actor=IMPORTER)
    assert summary.imported == 2
    assert _count(ReportTransfer) == 3
    with db.transaction() as s:
        c1 = s.execute(select(FraudReport).where(FraudReport.external_ref == "C-1")).scalar_one()
        assert c1.total_amount_fen == 400_000
        assert len(c1.suspects) == 2


def test_a_bad_csv_row_rejects_its_whole_report_and_names_its_line(tmp_path: Path) -> None:
    src = tmp_path / "reports.csv"
    bad_card = card("621700", 2)[:-1] + str((int(card("621700", 2)[-1]) + 1) % 10)
    src.write_text(
        _csv(
            [
                _csv_row("C-1", card("621700", 1)),
                _csv_row("C-1", bad_card),
                _csv_row("C-2", card("621700", 3)),
            ]
        )
    )
    summary = import_reports(src, actor=IMPORTER)
    assert summary.imported == 1
    assert [(r.line, r.field) for r in summary.rejected] == [(3, "transfers.1.payee_account")]
    assert summary.quarantine is not None
    quarantined = summary.quarantine.read_text().splitlines()
    assert quarantined[0] == ",".join(CSV_COLUMNS)
    assert len(quarantined) == 3  # the header and both lines of report C-1


def test_a_crash_mid_import_keeps_whole_committed_batches_and_no_half_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _write_jsonl(tmp_path / "reports.jsonl", [_good(i) for i in range(7)])
    real = actions.do_register_report
    calls = {"n": 0}

    def crash_on_sixth(*args: Any, **kwargs: Any) -> FraudReport:
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "do_register_report", crash_on_sixth)
    with pytest.raises(RuntimeError, match="power cut"):
        import_reports(src, actor=IMPORTER, batch_size=3)
    assert _count() == 3  # the first batch of three; the second batch rolled back whole
    with db.transaction() as s:
        orphans = s.execute(
            select(func.count())
            .select_from(ReportTransfer)
            .where(~ReportTransfer.report_id.in_(select(FraudReport.id)))
        ).scalar_one()
    assert orphans == 0


def test_the_cli_prints_a_summary_and_exits_non_zero_when_rows_were_rejected(tmp_path: Path) -> None:
    bad = _good(2)
    bad["victim"]["phone"] = "12"
    src = _write_jsonl(tmp_path / "reports.jsonl", [_good(1), bad])
    result = CliRunner().invoke(app, ["reports", "import", str(src)])
    assert result.exit_code == 3
    assert "line 2" in result.output and "victim.phone" in result.output
    assert "imported 1, rejected 1, duplicates 0" in result.output
