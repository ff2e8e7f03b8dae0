"""`pingan directives`: write the simulator's two years of directives, and print the stations' load
and the year-over-year count."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from pingan.core import db
from pingan.core.errors import DomainError
from pingan.supervision.directives import queries, rules, seed

app = typer.Typer(
    help="Directives (指令) to the stations: simulation, load, year over year.", no_args_is_help=True
)
_console = Console()


@app.command("simulate")
def simulate(
    seed_: Annotated[int, typer.Option("--seed", help="the simulator's seed")] = 1,
    first_year: Annotated[int, typer.Option(help="directives in the first year; the second has half")] = 900,
    end: Annotated[str, typer.Option(help="the day after the second year, YYYY-MM-DD (UTC)")] = "2027-01-01",
) -> None:
    """Write two years of simulated directives and answers through the actions."""
    try:
        until = datetime.strptime(end, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter("give the day as YYYY-MM-DD", param_hint="--end") from None
    try:
        with db.transaction() as session:
            history = seed.write_history(session, seed=seed_, first_year=first_year, end=until)
    except DomainError as exc:
        _console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(1) from None
    years = sorted({d.issued_at.year for d in history.directives})
    counts = ", ".join(f"{y}: {history.count_in_year(y)}" for y in years)
    _console.print(f"{len(history.directives)} directive(s) written ({counts})")


@app.command("year-over-year")
def year_over_year(year: Annotated[int, typer.Argument(min=2001, max=2099)]) -> None:
    """Directives issued in the Beijing calendar year against the year before."""
    with db.transaction() as session:
        y = queries.year_over_year(session, year)
    change = "—" if y.change_percent is None else f"{y.change_percent:+.1f}%"
    _console.print(f"{year}: {y.this} directive(s); {year - 1}: {y.last}; change {change}")


@app.command("load")
def load(month: Annotated[str, typer.Argument(help="YYYY-MM")]) -> None:
    """Directives per station per week of the month, with the answers and minutes spent."""
    try:
        d = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter("give the month as YYYY-MM", param_hint="MONTH") from None
    start, end = rules.month_bounds(d.year, d.month)
    with db.transaction() as session:
        rows = queries.station_load(session, start=start, end=end)
    for r in rows:
        _console.print(f"{r.station_code}\t{r.week}\t{r.directives}\t{r.answered}\t{r.minutes_spent} min")
