"""What every import by a mapping file shares (`pingan incidents import`, `pingan accidents import`):
the quarantined row, the result, the quarantine file, and the command's progress bar and report.

Each domain keeps its own mapping format and row parser; a row that fails goes to quarantine with its
line, the field at fault and why, and the valid rows are written.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

# The quarantined rows a command lists on the terminal; the file holds them all.
SHOWN = 20


class MappingError(ValueError):
    """The mapping file is wrong; the message names the key."""


class RowProblem(Exception):
    """A row that cannot be imported: the field at fault and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def read_toml(path: Path) -> dict[str, object]:
    """A mapping file's tables; MappingError when it is not TOML."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc})") from None


def read_rows(
    path: Path, *, encoding: str, delimiter: str, columns: set[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Each data row of a CSV with the line it starts on (the header is line 1); MappingError when
    the header lacks one of `columns`."""
    with path.open(newline="", encoding=encoding) as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        missing = sorted(columns - set(reader.fieldnames or []))
        if missing:
            raise MappingError(f"{path}: no column {missing[0]!r} in the header")
        line = reader.line_num + 1
        for row in reader:
            yield line, {k: (v or "") for k, v in row.items() if k is not None}
            line = reader.line_num + 1


@dataclass(frozen=True)
class Quarantined:
    """A row left out: its line in the file, the field at fault and why."""

    line: int
    field: str
    message: str
    raw: dict[str, str]


@dataclass
class ImportResult:
    """What an import did."""

    rows: int = 0
    imported: list[int] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    # Rows whose source id an earlier import stored: (line, source id, stored id), not written again.
    already: list[tuple[int, str, int]] = field(default_factory=list)


def write_quarantine(path: Path, quarantined: list[Quarantined]) -> None:
    """The quarantined rows as CSV: line, field, message, then the row's own columns."""
    columns: list[str] = []
    for q in quarantined:
        columns.extend(c for c in q.raw if c not in columns)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["line", "field", "message", *columns])
        for q in quarantined:
            writer.writerow([q.line, q.field, q.message, *(q.raw.get(c, "") for c in columns)])
    tmp.replace(path)


def run_and_report(
    console: Console,
    file: Path,
    total: int,
    run: Callable[[Callable[[int], None]], ImportResult],
    quarantine: Path | None,
) -> ImportResult:
    """Run an import under a progress bar (`run` is given the bar's advance), write its quarantine
    file (FILE.quarantine.csv unless named) and print what was imported, already there or left out."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"importing {file.name}", total=total)
        result = run(lambda n: bar.advance(task, n))
    out = quarantine or file.with_name(file.stem + ".quarantine.csv")
    if result.quarantined:
        write_quarantine(out, result.quarantined)
    console.print(
        f"{result.rows} rows: {len(result.imported)} imported, {len(result.already)} already there, "
        f"{len(result.quarantined)} quarantined"
    )
    for q in result.quarantined[:SHOWN]:
        console.print(f"  line {q.line}, field {q.field}: {q.message}")
    if len(result.quarantined) > SHOWN:
        console.print(f"  … and {len(result.quarantined) - SHOWN} more")
    if result.quarantined:
        console.print(f"quarantine: {out}")
    return result
