"""Bulk import of fraud reports from CSV or JSONL (`pingan reports import`).

Valid reports are imported; each bad one is rejected with its line number, field and reason and its
lines are copied unchanged to a quarantine file beside the input; re-importing a file adds nothing.
Reports are committed in batches, each report whole: a crash leaves the batches committed so far.
Imported reports wait for an officer's confirmation before anything acts on them (`ReportIntake`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.reports import actions
from pingan.antifraud.reports.model import FraudReport
from pingan.antifraud.reports.schemas import ReportIn
from pingan.core.db import transaction
from pingan.core.errors import DomainError
from pingan.core.files import write_private
from pingan.core.roles import Actor

CSV_COLUMNS = [
    "external_ref",
    "victim_name",
    "victim_national_id",
    "victim_phone",
    "fraud_started_at",
    "reported_at",
    "station_code",
    "officer",
    "typology",
    "narrative",
    "occurred_at",
    "amount_fen",
    "payer_card",
    "payer_bank",
    "payee_account",
    "payee_bank",
    "channel",
    "suspects",
]
_REPORT_COLUMNS = CSV_COLUMNS[:10]


@dataclass
class Candidate:
    """One report read from the file: its source lines (1-based), the raw text, and the parsed object."""

    lines: list[int]
    raw: list[str]
    payload: dict[str, Any] | None = None
    error: Rejection | None = None


@dataclass(frozen=True)
class Rejection:
    """Why a report was refused: the first line it came from, the field and the reason."""

    line: int
    field: str
    reason: str
    external_ref: str | None = None

    def __str__(self) -> str:
        ref = f" ({self.external_ref})" if self.external_ref else ""
        return f"line {self.line}{ref}: {self.field}: {self.reason}"


@dataclass
class ImportSummary:
    """What an import did."""

    imported: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    quarantine: Path | None = None
    report_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {
            "imported": self.imported,
            "rejected": len(self.rejected),
            "duplicates": self.duplicates,
            "quarantine": str(self.quarantine) if self.quarantine else None,
            "errors": [str(r) for r in self.rejected],
        }


def _read_jsonl(text: str) -> Iterator[Candidate]:
    for lineno, line in enumerate(text.splitlines(keepends=True), start=1):
        if not line.strip():
            continue
        c = Candidate([lineno], [line])
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("a line must hold one JSON object")
            c.payload = obj
        except ValueError as exc:
            c.error = Rejection(lineno, "line", f"malformed JSON: {exc}")
        yield c


def _split_suspects(cell: str, lineno: int) -> list[dict[str, str]]:
    out = []
    for item in filter(None, (p.strip() for p in cell.split(";"))):
        kind, sep, value = item.partition(":")
        if not sep:
            raise ValueError(f"suspect {item!r} is not kind:value")
        out.append({"kind": kind.strip(), "value": value.strip()})
    return out


def _read_csv(text: str) -> Iterator[Candidate]:
    lines = text.splitlines(keepends=True)
    if not lines:
        return
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        # Without the columns no row can be read: the whole file is quarantined.
        yield Candidate(
            list(range(1, len(lines) + 1)),
            lines,
            error=Rejection(1, missing[0], "column missing from the header"),
        )
        return
    groups: dict[str, Candidate] = {}
    order: list[str] = []
    for row in reader:
        lineno = reader.line_num
        raw = lines[lineno - 1] if lineno - 1 < len(lines) else ""
        ref = (row.get("external_ref") or "").strip() or f"__line{lineno}"
        c = groups.get(ref)
        if c is None:
            c = groups[ref] = Candidate([], [])
            order.append(ref)
        c.lines.append(lineno)
        c.raw.append(raw)
        if c.error is not None:
            continue
        try:
            transfer = {
                "occurred_at": row["occurred_at"],
                "amount_fen": row["amount_fen"],
                "payer_card": row["payer_card"],
                "payer_bank": row["payer_bank"],
                "payee_account": row["payee_account"],
                "payee_bank": row["payee_bank"],
                "channel": row["channel"] or "mobile_banking",
            }
            suspects = _split_suspects(row.get("suspects") or "", lineno)
        except ValueError as exc:
            c.error = Rejection(lineno, "suspects", str(exc), ref)
            continue
        if c.payload is None:
            c.payload = {
                "external_ref": row["external_ref"] or None,
                "victim": {
                    "name": row["victim_name"],
                    "national_id": row["victim_national_id"],
                    "phone": row["victim_phone"],
                },
                "fraud_started_at": row["fraud_started_at"],
                "reported_at": row["reported_at"],
                "station_code": row["station_code"],
                "officer": row["officer"] or None,
                "typology": row["typology"],
                "narrative": row["narrative"],
                "transfers": [],
                "suspects": [],
            }
            c.payload["_first"] = {k: row[k] for k in _REPORT_COLUMNS}
        elif any(c.payload["_first"][k] != row[k] for k in _REPORT_COLUMNS if k != "narrative" or row[k]):
            bad = next(k for k in _REPORT_COLUMNS if c.payload["_first"][k] != row[k])
            c.error = Rejection(lineno, bad, "disagrees with the first row of the same report", ref)
            continue
        c.payload["transfers"].append(transfer)
        c.payload["suspects"].extend(suspects)
    for ref in order:
        c = groups[ref]
        if c.payload is not None:
            c.payload.pop("_first", None)
        yield c


def read_candidates(path: Path) -> tuple[str, list[Candidate]]:
    """Parse a CSV or JSONL file into report candidates; the format follows the suffix."""
    text = path.read_text(encoding="utf-8-sig")
    fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    return fmt, list(_read_csv(text) if fmt == "csv" else _read_jsonl(text))


def _validate(c: Candidate) -> ReportIn | None:
    assert c.payload is not None
    ref = c.payload.get("external_ref") if isinstance(c.payload.get("external_ref"), str) else None
    try:
        return ReportIn.model_validate(c.payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "line"
        # CSV reports span lines: point at the line that carries the failing transfer.
        line = c.lines[0]
        if len(c.lines) > 1 and len(err["loc"]) >= 2 and err["loc"][0] == "transfers":
            idx = err["loc"][1]
            if isinstance(idx, int) and idx < len(c.lines):
                line = c.lines[idx]
        c.error = Rejection(line, loc, err["msg"], ref)
        return None


def quarantine_path(path: Path) -> Path:
    """Where the rejected lines of `path` are copied: `NAME.rejected.SUFFIX` beside it."""
    return path.with_name(f"{path.stem}.rejected{path.suffix}")


def import_reports(
    path: Path,
    *,
    actor: Actor,
    batch_size: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import every valid report of `path`; quarantine and report the rest. See the module docstring."""
    fmt, candidates = read_candidates(path)
    summary = ImportSummary()
    valid: list[tuple[Candidate, ReportIn]] = []
    for c in candidates:
        if c.error is None and c.payload is not None:
            report = _validate(c)
            if report is not None:
                valid.append((c, report))

    def reject(c: Candidate, exc: DomainError) -> None:
        line = c.lines[0]
        c.error = Rejection(line, exc.field or "report", exc.message, None)

    if progress is not None:
        progress(0, len(valid))
    try:
        for start in range(0, len(valid), batch_size):
            batch = valid[start : start + batch_size]
            done_ids: list[int] = []
            dupes = 0
            with transaction() as session:
                for c, report in batch:
                    if report.external_ref and _exists(session, report.external_ref):
                        dupes += 1
                        continue
                    try:
                        with session.begin_nested():
                            # An imported report waits for an officer's confirmation, whatever
                            # officer the file names: that name is recorded, not trusted.
                            item = actions.NewReport(
                                report=report, actor=actor, imported=True, source=f"import:{path.name}"
                            )
                            actions.check_register_report(session, item)
                            done_ids.append(actions.do_register_report(session, item).id)
                    except DomainError as exc:
                        reject(c, exc)
            summary.imported += len(done_ids)
            summary.duplicates += dupes
            summary.report_ids.extend(done_ids)
            if progress is not None:
                progress(len(batch), len(valid))
    finally:
        summary.rejected = sorted((c.error for c in candidates if c.error is not None), key=lambda r: r.line)
        rejected_candidates = [c for c in candidates if c.error is not None]
        if rejected_candidates:
            summary.quarantine = _write_quarantine(path, fmt, rejected_candidates)
    return summary


def _exists(session: Session, external_ref: str) -> bool:
    return (
        session.execute(select(FraudReport.id).where(FraudReport.external_ref == external_ref)).first()
        is not None
    )


def _write_quarantine(path: Path, fmt: str, rejected: list[Candidate]) -> Path:
    out = quarantine_path(path)
    lines = [",".join(CSV_COLUMNS) + "\n"] if fmt == "csv" else []
    for c in sorted(rejected, key=lambda c: c.lines[0]):
        lines.extend(raw if raw.endswith("\n") else raw + "\n" for raw in c.raw)
    # The rejected lines hold personal data in clear: readable by the service's user only.
    write_private(out, "".join(lines))
    reasons = out.with_suffix(out.suffix + ".errors.txt")
    write_private(reasons, "".join(f"{c.error}\n" for c in rejected if c.error is not None))
    return out
