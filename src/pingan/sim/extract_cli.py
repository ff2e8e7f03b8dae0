"""`pingan transactions import`: a bank's transaction extract written as a store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from pingan.core.errors import DomainError
from pingan.sim.extract_import import import_extract
from pingan.sim.extract_mapping import load_mapping

app = typer.Typer(help="Transaction extracts from banks (银行流水).", no_args_is_help=True)
_console = Console(stderr=True)


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="the extract: CSV or Parquet")],
    mapping: Annotated[Path, typer.Option(help="TOML mapping of the extract's columns (examples/mappings/)")],
    out: Annotated[Path, typer.Option(help="the store to write (must not exist)")],
) -> None:
    """Import an extract into a new store; bad rows go to STORE/quarantine.csv. Prints a JSON summary."""
    try:
        m = load_mapping(mapping)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=_console, transient=True,
        ) as bar:  # fmt: skip
            tasks: dict[str, TaskID] = {}

            def step(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done, total=total)

            summary = import_extract(file, m, out, progress=step)
    except DomainError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    table = Table(title=f"{file.name} → {out}")
    table.add_column("rows")
    table.add_column("count", justify="right")
    table.add_row("read", f"{summary.rows_read:,}")
    table.add_row("written", f"{summary.rows_written:,}")
    table.add_row("quarantined", f"{summary.rows_quarantined:,}")
    for reason, n in summary.failures_by_reason.items():
        table.add_row(f"  {reason}", f"{n:,}")
    _console.print(table)
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
