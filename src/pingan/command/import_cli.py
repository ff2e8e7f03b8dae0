"""`pingan incidents import`: incidents from any CSV through a mapping file (see `imports.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from pingan.command import imports
from pingan.core.roles import Actor

app = typer.Typer(help="Incidents from other systems: import a CSV by a mapping file.", no_args_is_help=True)
_console = Console()


@app.command("import")
def import_incidents(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="the CSV")],
    mapping: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, readable=True, help="the mapping (TOML)")
    ],
    quarantine: Annotated[
        Path | None, typer.Option(help="where the bad rows go; FILE.quarantine.csv by default")
    ] = None,
) -> None:
    """Import the valid rows of FILE in one transaction; write the bad ones, with line and field, to quarantine."""
    try:
        m = imports.load_mapping(mapping)
        total = imports.count_rows(file, m)
    except (imports.MappingError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"importing {file.name}", total=total)
        result = imports.import_file(
            file, m, actor=Actor.system("import"), progress=lambda n: bar.advance(task, n)
        )
    out = quarantine or file.with_name(file.stem + ".quarantine.csv")
    if result.quarantined:
        imports.write_quarantine(out, result.quarantined)
    _console.print(
        f"{result.rows} rows: {len(result.imported)} imported, {len(result.already)} already there, "
        f"{len(result.quarantined)} quarantined"
    )
    for q in result.quarantined[:20]:
        _console.print(f"  line {q.line}, field {q.field}: {q.message}")
    if len(result.quarantined) > 20:
        _console.print(f"  … and {len(result.quarantined) - 20} more")
    if result.quarantined:
        _console.print(f"quarantine: {out}")
