"""`pingan sim`: generate a synthetic district and check its invariants."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from pingan.core import clock
from pingan.sim import params as cfg
from pingan.sim.check import Violation, check_district
from pingan.sim.devices_cli import devices_cmd
from pingan.sim.disputes import DisputeParams
from pingan.sim.disputes import write as write_disputes
from pingan.sim.pipeline import FORMATS, generate

app = typer.Typer(
    help="The synthetic district: people, banks, transactions and fraud campaigns, with ground truth."
)
_console = Console(stderr=True)
app.command("devices")(devices_cmd)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=_console,
        transient=True,
    )  # fmt: skip


@app.command("generate")
def generate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Directory to write (emptied first).")],
    scale: Annotated[str, typer.Option(help=f"One of {', '.join(cfg.SCALES)}.")] = "tiny",
    seed: Annotated[int, typer.Option(help="Same seed and scale give byte-identical files.")] = 1,
    days: Annotated[int | None, typer.Option(help="Days to simulate (default: the scale's).")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="parquet, or csv to also write CSV copies.")
    ] = "parquet",
    workers: Annotated[int, typer.Option(help="Worker processes for the days.")] = 2,
) -> None:
    """Generate a district into OUT: Parquet tables, day-partitioned transactions, truth and reports."""
    if scale not in cfg.SCALES:
        raise typer.BadParameter(
            f"unknown scale {scale!r}; known: {', '.join(cfg.SCALES)}", param_hint="--scale"
        )
    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"unknown format {fmt!r}; known: {', '.join(FORMATS)}", param_hint="--format"
        )
    with _progress() as bar:
        task = bar.add_task(f"sim {scale} seed={seed}", total=None)
        stats = generate(
            scale, seed, out, days=days, fmt=fmt, workers=workers,
            on_day=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    secs = sum(stats.seconds.values())
    typer.echo(f"wrote {stats.rows:,} transactions to {out} in {secs:.1f} s")


@app.command("check")
def check_cmd(
    directory: Annotated[Path, typer.Argument(help="A directory written by `sim generate`.")],
) -> None:
    """Verify the invariants of a generated district; exit 1 naming the first violation."""
    try:
        with _progress() as bar:
            task = bar.add_task("checking", total=None)
            report = check_district(
                directory, lambda done, total: bar.update(task, completed=done, total=total)
            )
    except Violation as v:
        typer.echo(f"violation: {v}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"ok: {report.transactions:,} transactions, {report.fraud_transactions:,} fraud, "
        f"{report.tracked_accounts:,} tracked accounts, {report.reports:,} reports"
    )


@app.command("load")
def load_cmd(
    directory: Annotated[Path, typer.Argument(help="A directory written by `sim generate`.")],
    max_accounts: Annotated[
        int | None, typer.Option(help="Load only the first N accounts of the registry (for a quick demo).")
    ] = None,
) -> None:
    """Load stations, the account registry and the reports into the platform database (transactions stay in Parquet)."""
    from pingan.sim.dbload import load_district

    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        summary = load_district(directory, max_accounts=max_accounts, progress=progress)
    r = summary.reports
    typer.echo(
        f"loaded {summary.stations} stations, {summary.accounts:,} accounts; reports: imported {r.imported}, "
        f"rejected {len(r.rejected)}, duplicates {r.duplicates}"
    )
    for rejection in r.rejected:
        typer.echo(f"rejected {rejection}", err=True)


@app.command("roads")
def roads_cmd(
    seed: Annotated[int, typer.Option(help="The generator's seed.")] = 1,
    size: Annotated[int, typer.Option(min=2, max=400, help="Junctions per side of the street grid.")] = 160,
) -> None:
    """Generate the district's road graph (arterials, collectors, one-way streets) into the database."""
    from pingan.command.roads import do_store_roads
    from pingan.core import db
    from pingan.sim.roads import generate_roads

    roads = generate_roads(seed, size)
    with db.transaction() as session:
        do_store_roads(session, roads)
    typer.echo(f"road graph stored: {roads.node_id.size:,} junctions, {roads.edge_id.size:,} segments")


if __name__ == "__main__":
    app()


@app.command("disputes")
def disputes_cmd(
    days: Annotated[int, typer.Option(min=1, max=3660, help="how many days, up to today")] = 365,
    seed: Annotated[int, typer.Option(help="the random seed")] = 1,
) -> None:
    """Write a year (or `days`) of community disputes drawn from the simulated 110 calls."""
    now = clock.now()
    count = write_disputes(DisputeParams(seed=seed, until=now.date(), days=days), now=now)
    typer.echo(f"{count} disputes written")
