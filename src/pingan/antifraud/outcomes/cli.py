"""`pingan outcomes monthly`: the 资金预警 monthly report as HTML, JSON and PNG charts, with XLSX and PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Outcomes: the monthly 资金预警 report (资金预警月报).", no_args_is_help=True)


@app.command("monthly")
def monthly(
    month: Annotated[
        str | None, typer.Option(help="YYYY-MM (Beijing time); default the latest month with data")
    ] = None,
    out: Annotated[Path, typer.Option(help="folder; the report goes to OUT/YYYY-MM/")] = Path("var/reports"),
    pdf: Annotated[Path | None, typer.Option(help="also print the report to this PDF file")] = None,
    xlsx: Annotated[Path | None, typer.Option(help="also write the report to this XLSX file")] = None,
) -> None:
    """Bring outcomes up to date, then write the month's report with its charts (and PDF, XLSX)."""
    from pingan.antifraud.outcomes import exports
    from pingan.antifraud.outcomes.actions import do_record_export, do_record_outcomes
    from pingan.antifraud.outcomes.report import (
        build_monthly,
        latest_month_with_data,
        month_bounds,
        summary_lines,
        write_monthly,
    )
    from pingan.core import clock, db
    from pingan.core.errors import DomainError
    from pingan.core.roles import Actor

    actor = Actor.system("report")
    try:
        if month is not None:
            month_bounds(month)
        with db.transaction() as session:
            do_record_outcomes(session, actor=actor)
        with db.transaction() as session:
            chosen = month or latest_month_with_data(session, now=clock.now())
            report = build_monthly(session, chosen)
            for fmt, path in (("pdf", pdf), ("xlsx", xlsx)):
                if path is not None:
                    do_record_export(
                        session, actor=actor, month=chosen, fmt=fmt, persons=len(report.predicted)
                    )
        html = exports.document_html(report)
        written = write_monthly(report, out / chosen, html=html)
        if xlsx is not None:
            xlsx.parent.mkdir(parents=True, exist_ok=True)
            xlsx.write_bytes(exports.report_xlsx(report))
            written.append(xlsx)
        if pdf is not None:
            pdf.parent.mkdir(parents=True, exist_ok=True)
            pdf.write_bytes(exports.pdf_from_html(html))
            written.append(pdf)
    except DomainError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    for line in summary_lines(report):
        typer.echo(line)
    for p in written:
        typer.echo(str(p))
