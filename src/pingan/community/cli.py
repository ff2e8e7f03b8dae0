"""`pingan community`: the clock-breach sweep, grading a case by hand, and the factor table."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from pingan.community import actions, rules
from pingan.community.factors import table
from pingan.core import clock, db
from pingan.core.roles import Actor

app = typer.Typer(
    help="Community mediation (矛盾纠纷调解): disputes, risk grades, clocks.", no_args_is_help=True
)
_console = Console()


def run_sweep() -> str:
    """Record every mediation deadline breached and not yet recorded; returns what was done, in words."""
    with db.transaction() as session:
        count = actions.do_sweep_breaches(session, actions_actor(), now=clock.now())
    return f"{count} breaches recorded"


@app.command("breaches")
def breaches() -> None:
    """Record every mediation deadline breached and not yet recorded (each once, never deleted)."""
    _console.print(run_sweep())


@app.command("factors")
def factors() -> None:
    """Print the risk factor table: weights, caps and sources."""
    t = table()
    _console.print(f"factor table {t.version}: red >= {t.red}, orange >= {t.orange}, yellow >= {t.yellow}")
    for f in t.factors:
        cap = f" (cap {f.cap})" if f.cap else ""
        _console.print(f"{f.name}: {f.weight}{cap}  {f.source}")


@app.command("grade")
def grade(
    factor: Annotated[list[str], typer.Argument(help="NAME or NAME=COUNT, e.g. threats repeated_calls=2")],
) -> None:
    """Grade a case from its factors and print every factor's contribution."""
    inputs: dict[str, int] = {}
    for item in factor:
        name, _, value = item.partition("=")
        if value and not value.isdigit():
            raise typer.BadParameter(f"{item!r}: a count is a whole number")
        inputs[name] = int(value) if value else 1
    try:
        result = rules.grade(table(), inputs)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _console.print(f"{result.grade.value} (score {result.score}, table {result.version})")
    for c in result.contributions:
        _console.print(f"  {c.name}: {c.value} -> {c.points}")


def actions_actor() -> Actor:
    """The platform robot the command acts as."""
    return Actor.system("community-cli")
