"""`pingan complaints`: the clock sweep, and the simulator's two years of complaints."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console

from pingan.core import clock, db
from pingan.supervision.callbacks import simulate as callbacks_simulate
from pingan.supervision.complaints import actions, simulate

app = typer.Typer(
    help="Complaints and petitions (信访投诉): clocks, breaches, the simulator.", no_args_is_help=True
)
_console = Console()


def run_sweep() -> str:
    """Re-evaluate the open and answered complaints' clocks, recording the breaches; returns what was
    done, in words."""
    with db.transaction() as session:
        n = actions.do_sweep(session, now=clock.now())
    return f"{n} complaint(s) re-evaluated"


@app.command("sweep")
def sweep() -> None:
    """Re-evaluate the open and answered complaints' clocks, recording the breaches."""
    _console.print(run_sweep())


@app.command("simulate")
def simulate_cmd(
    seed: Annotated[int, typer.Option(help="the same seed writes the same complaints")] = 1,
    per_station_year: Annotated[int, typer.Option(min=1, max=2000)] = 60,
    callbacks: Annotated[bool, typer.Option(help="also the weekly 110 call-backs")] = True,
) -> None:
    """Write two years of complaints about the district's officers, stations, incidents and cases,
    with repeats and duplicates, and the weekly 110 call-backs of the closed incidents (the
    dissatisfied ones becoming complaints), through the same actions as the API."""
    now = clock.now()
    with db.transaction() as session:
        n = simulate.load(session, seed=seed, per_station_year=per_station_year, now=now)
    _console.print(f"{n} complaint(s) written")
    if callbacks:
        with db.transaction() as session:
            w = callbacks_simulate.load(session, seed=seed, since=now - timedelta(days=730), now=now)
        _console.print(
            f"{w.weeks} week(s) drawn, {w.called} of {w.drawn} call-back(s) made, "
            f"{w.complaints} complaint(s) from dissatisfied callers"
        )
