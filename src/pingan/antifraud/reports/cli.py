"""`pingan reports`: fraud reports (报案) from files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pingan.core.roles import Actor

app = typer.Typer(help="Fraud reports (报案).", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@app.command("import")
def reports_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Import fraud reports from CSV or JSONL; bad reports are quarantined beside the file."""
    from pingan.antifraud.reports.imports import ImportSummary, import_reports

    summary: ImportSummary | None = None
    with Progress(
        TextColumn("[bold]importing[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=as_json,
    ) as bar:
        task = bar.add_task(file.name, total=None)

        def progress(advance: int, total: int) -> None:
            bar.update(task, advance=advance, total=total)

        try:
            summary = import_reports(file, actor=Actor.system("import"), progress=progress)
        except Exception:
            err_console.print("[red]import stopped by an error; batches committed before it are kept[/red]")
            raise
    assert summary is not None
    if as_json:
        console.print_json(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        for r in summary.rejected:
            console.print(f"[yellow]rejected[/yellow] {r}")
        console.print(
            f"imported {summary.imported}, rejected {len(summary.rejected)}, duplicates {summary.duplicates}"
        )
        if summary.quarantine:
            console.print(f"rejected lines copied unchanged to {summary.quarantine}")
    if summary.rejected:
        raise typer.Exit(3)


@app.command("purge-uploads")
def purge_uploads() -> None:
    """Delete uploaded import files and their quarantine copies older than the retention period."""
    from datetime import timedelta

    from pingan.core import clock
    from pingan.core.files import purge_older_than
    from pingan.core.settings import get_settings

    settings = get_settings()
    gone = purge_older_than(
        settings.data_dir / "uploads", timedelta(days=settings.upload_retention_days), now=clock.now()
    )
    console.print(f"deleted {len(gone)} files older than {settings.upload_retention_days} days")
