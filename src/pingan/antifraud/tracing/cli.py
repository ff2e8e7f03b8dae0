"""`pingan trace`: trace seed transfers through a transaction store and print the result as JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from typer import _click  # the click this typer bundles: its Context is the type TyperGroup takes
from typer.core import TyperGroup

from pingan.antifraud.tracing.engine import Limits, trace
from pingan.antifraud.tracing.index import TraceIndex
from pingan.antifraud.tracing.rules import Method
from pingan.antifraud.tracing.seeds import seeds_from_report
from pingan.antifraud.tracing.store import card_to_account, read_report
from pingan.core.errors import DomainError


class _TraceGroup(TyperGroup):
    """`pingan trace REPORT_ID ...` traces a registered report: it is `pingan trace report REPORT_ID ...`."""

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        if args and args[0].isdigit():
            args = ["report", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_TraceGroup,
    help="Fund tracing (资金追踪). `pingan trace REPORT_ID --method fifo` traces a registered report.",
    no_args_is_help=True,
)


@app.command("report")
def trace_registered(
    report_id: Annotated[int, typer.Argument(help="a registered report's id")],
    method: Annotated[Method, typer.Option(help="attribution method")] = Method.FIFO,
    hops: Annotated[int, typer.Option(help="most transfers followed from a seed")] = 6,
    hours: Annotated[float, typer.Option(help="time window after the first seed")] = 72.0,
    min_fen: Annotated[int, typer.Option(help="smallest traced amount followed, fen")] = 10_000,
    paths: Annotated[int, typer.Option(help="most paths printed")] = 20,
) -> None:
    """Trace a registered report's transfers through the store under the data directory (as the API does)."""
    from pingan.antifraud.tracing.registered import trace_report
    from pingan.core import db

    try:
        with db.read_transaction() as session:
            result = trace_report(session, report_id, method, hops, hours, min_fen)
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result.as_dict(path_limit=paths), ensure_ascii=False))


@app.command("run")
def trace_run(
    store: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="transaction store directory")],
    tx: Annotated[list[int] | None, typer.Option("--tx", help="seed transfer id (repeat)")] = None,
    report: Annotated[
        Path | None, typer.Option(help="JSONL report file; its transfers are the seeds")
    ] = None,
    ref: Annotated[str | None, typer.Option(help="external_ref of the report in --report")] = None,
    method: Annotated[Method, typer.Option(help="attribution method")] = Method.FIFO,
    hops: Annotated[int, typer.Option(help="most transfers followed from a seed")] = 6,
    hours: Annotated[float, typer.Option(help="time window after the first seed")] = 72.0,
    min_fen: Annotated[int, typer.Option(help="smallest traced amount followed, fen")] = 10_000,
    paths: Annotated[int, typer.Option(help="most paths printed")] = 20,
    index_dir: Annotated[Path | None, typer.Option(help="where the index is cached")] = None,
) -> None:
    """Trace seed transfers (--tx, or a report's transfers) and print the flow, paths and freezes."""
    try:
        index = TraceIndex.open(store, index_dir)
        seeds = list(tx or [])
        if report is not None:
            seeds += seeds_from_report(index, read_report(report, ref), card_to_account(store))
        if not seeds:
            raise typer.BadParameter("give --tx or --report")
        limits = Limits(max_hops=hops, window=timedelta(hours=hours), min_fen=min_fen)
        result = trace(index, seeds, method=method, limits=limits)
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result.as_dict(path_limit=paths), ensure_ascii=False))


@app.command("index")
def trace_index(
    store: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    index_dir: Annotated[
        Path | None, typer.Option(help="where to write it (default STORE/.trace-index)")
    ] = None,
) -> None:
    """Build the trace index of a store and save it beside the store."""
    index = TraceIndex.build(store)
    index.save(index_dir or store / ".trace-index")
    typer.echo(json.dumps({"transactions": index.size, "accounts": int(index.accounts.size)}))
