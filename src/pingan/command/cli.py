"""`pingan command`: units, the breach sweep and the weekly bulletin from the command line."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from pingan.command import actions, jobs, queries, roads_cli
from pingan.command.choices import UnitKind
from pingan.command.schemas import UnitIn
from pingan.core import clock, db
from pingan.core.errors import DomainError
from pingan.core.roles import Actor

app = typer.Typer(help="Command (情指行): 110 incidents, units and the clock chain.", no_args_is_help=True)
_console = Console()
app.add_typer(roads_cli.app, name="roads")


@app.command("add-unit")
def add_unit(
    call_sign: str,
    station: Annotated[str, typer.Option(help="the unit's station code")],
    kind: Annotated[UnitKind, typer.Option(help="what the unit is")] = UnitKind.PATROL_CAR,
) -> None:
    """Create an available unit of a station."""
    actor = Actor.system("cli")
    body = UnitIn(call_sign=call_sign, station_code=station, kind=kind)
    try:
        with db.transaction() as session:
            actions.check_add_unit(session, body, actor)
            unit = actions.do_add_unit(session, body, actor)
            _console.print(f"unit {unit.id} {unit.call_sign} ({station}) available")
    except DomainError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command("breaches")
def breaches(
    alarm: Annotated[
        bool, typer.Option("--alarm", help="raise the live alarm for new breaches (each once)")
    ] = False,
    every: Annotated[
        float | None, typer.Option(help="with --alarm: sweep again every this many seconds, until stopped")
    ] = None,
) -> None:
    """List the open incidents past a 110 target now; with --alarm, raise an alarm for the new ones."""
    while True:
        found = jobs.raise_breaches(now=clock.now()) if alarm else jobs.sweep_breaches(now=clock.now())
        for b in found:
            _console.print(f"#{b.incident_id} {b.station_code or '-'}: {', '.join(b.reasons)}")
        _console.print(f"{len(found)} open incidents {'newly ' if alarm else ''}past a target")
        if not (alarm and every):
            return
        time.sleep(every)


@app.command("bulletin")
def bulletin(
    station: Annotated[str, typer.Option(help="station code")],
    week: Annotated[str, typer.Option(help="the Monday the week starts (YYYY-MM-DD, Beijing time)")],
) -> None:
    """Print a station's weekly 110 bulletin."""
    try:
        start = date.fromisoformat(week)
    except ValueError:
        raise typer.BadParameter("--week: give a date as YYYY-MM-DD") from None
    if start.weekday() != 0:
        raise typer.BadParameter("--week: the week starts on a Monday")
    with db.read_transaction() as session:
        b = queries.station_bulletin(session, station_code=station, week_start=start, now=clock.now())
    _console.print(f"{station} week of {start}: {b.incidents} incidents")
    for name, share in (
        ("signed off within target", b.sign_off),
        ("on scene within target", b.on_scene),
        ("feedback within target", b.feedback),
    ):
        pct = f"{share.percent:.1f}%" if share.percent is not None else "-"
        _console.print(f"  {name}: {share.within}/{share.total} {pct}")
    for u in b.slowest_units:
        _console.print(f"  slow: {u.call_sign} {u.mean_s / 60:.1f} min over {u.responses}")
