"""`pingan outcomes monthly`: the 资金预警 monthly report as HTML, JSON and PNG charts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Outcomes: the monthly 资金预警 report (资金预警月报).", no_args_is_help=True)


@app.command("monthly")
def monthly(
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    out: Annotated[Path, typer.Option(help="folder; the report goes to OUT/YYYY-MM/")] = Path("var/reports"),
) -> None:
    """Bring outcomes up to date, then write the month's report with its charts."""
    from pingan.antifraud.outcomes.actions import do_record_outcomes
    from pingan.antifraud.outcomes.report import build_monthly, write_monthly
    from pingan.core import db
    from pingan.core.errors import DomainError
    from pingan.core.roles import Actor

    try:
        with db.transaction() as session:
            do_record_outcomes(session, actor=Actor.system("report"))
        with db.transaction() as session:
            report = build_monthly(session, month)
    except DomainError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    for p in write_monthly(report, out / month):
        typer.echo(str(p))
