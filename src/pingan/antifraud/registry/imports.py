"""Import of the KYC extracts banks deliver (`pingan registry import FILE`), CSV or Parquet.

The same discipline as report import (`antifraud.imports`): good rows are kept, each bad row is
rejected with its line, field and reason, and copied unchanged to a quarantine file beside the input.
Re-importing a file updates the same accounts and adds nothing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pingan.antifraud.registry import actions
from pingan.antifraud.reports.imports import ImportSummary, Rejection, quarantine_path
from pingan.core.db import transaction
from pingan.core.errors import DomainError
from pingan.core.files import write_private
from pingan.core.roles import Actor

KYC_COLUMNS = ("holder_national_id", "holder_name", "bank", "account_number", "kind", "opened_on", "status")


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str], str]]]:
    """(header, [(line, row, raw line)]); Parquet rows are numbered as if line 1 were a header."""
    if path.suffix.lower() == ".parquet":
        import polars as pl

        frame = pl.read_parquet(path)
        header = list(frame.columns)
        rows = []
        for i, rec in enumerate(frame.iter_rows(named=True), start=2):
            row = {k: "" if v is None else str(v) for k, v in rec.items()}
            rows.append((i, row, ""))
        return header, rows
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines(keepends=True)
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    out = []
    for row in reader:
        raw = lines[reader.line_num - 1] if reader.line_num - 1 < len(lines) else ""
        out.append((reader.line_num, {k: (v or "") for k, v in row.items() if k is not None}, raw))
    return header, out


def import_registry(path: Path, *, actor: Actor, batch_size: int = 500) -> ImportSummary:
    """Import every valid KYC row of `path`; quarantine and report the rest."""
    header, rows = _read_rows(path)
    summary = ImportSummary()
    missing = [c for c in KYC_COLUMNS if c not in header]
    bad: list[tuple[int, dict[str, str], str]] = []
    if missing:
        summary.rejected = [Rejection(1, missing[0], "column missing from the header")]
        bad = rows
    else:
        good: list[tuple[int, dict[str, str], str, actions.KycRecord]] = []
        for line, row, raw in rows:
            try:
                good.append((line, row, raw, actions.check_kyc_record(row)))
            except DomainError as exc:
                summary.rejected.append(Rejection(line, exc.field or "row", exc.message))
                bad.append((line, row, raw))
        for start in range(0, len(good), batch_size):
            with transaction() as session:
                for line, row, raw, record in good[start : start + batch_size]:
                    try:
                        with session.begin_nested():
                            actions.do_upsert_account(session, record, actor=actor)
                        summary.imported += 1
                    except DomainError as exc:
                        summary.rejected.append(Rejection(line, exc.field or "row", exc.message))
                        bad.append((line, row, raw))
    if bad or summary.rejected:
        summary.quarantine = _write_quarantine(path, header, bad, summary.rejected)
    summary.rejected.sort(key=lambda r: r.line)
    return summary


def _write_quarantine(
    path: Path, header: list[str], bad: list[tuple[int, dict[str, str], str]], reasons: list[Rejection]
) -> Path:
    out = quarantine_path(path)
    bad = sorted(bad, key=lambda b: b[0])
    if path.suffix.lower() == ".parquet":
        import polars as pl

        buffer = io.BytesIO()
        pl.DataFrame([row for _, row, _ in bad], schema=dict.fromkeys(header, pl.Utf8)).write_parquet(buffer)
        write_private(out, buffer.getvalue())
    else:
        lines = [",".join(header) + "\n", *(raw if raw.endswith("\n") else raw + "\n" for _, _, raw in bad)]
        write_private(out, "".join(lines))
    # Rejected KYC rows hold names and ID numbers in clear: readable by the service's user only.
    write_private(
        out.with_suffix(out.suffix + ".errors.txt"),
        "".join(f"{r}\n" for r in sorted(reasons, key=lambda r: r.line)),
    )
    return out
