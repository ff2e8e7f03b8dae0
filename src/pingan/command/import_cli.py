"""`pingan incidents import`: incidents from any CSV through a mapping file (see `imports.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pingan.command import imports
from pingan.core import mapped_import
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
    except (mapped_import.MappingError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    mapped_import.run_and_report(
        _console,
        file,
        total,
        lambda advance: imports.import_file(file, m, actor=Actor.system("import"), progress=advance),
        quarantine,
    )
