"""`pingan registry`: the account registry (holders, accounts and cards)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pingan.core.roles import Actor

app = typer.Typer(help="The account registry (holders, accounts and cards).", no_args_is_help=True)
console = Console()


@app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Import a bank's KYC extract (CSV or Parquet); bad rows are quarantined beside the file."""
    from pingan.antifraud.registry.imports import import_registry

    summary = import_registry(file, actor=Actor.system("registry-import"))
    if as_json:
        console.print_json(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        for r in summary.rejected:
            console.print(f"[yellow]rejected[/yellow] {r}")
        console.print(f"imported {summary.imported}, rejected {len(summary.rejected)}")
        if summary.quarantine:
            console.print(f"rejected rows copied unchanged to {summary.quarantine}")
    if summary.rejected:
        raise typer.Exit(3)
