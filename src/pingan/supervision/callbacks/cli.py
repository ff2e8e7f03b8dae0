"""`pingan callbacks`: draw a week's 110 call-back sample (run weekly, after Sunday)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer
from rich.console import Console

from pingan.core import clock, db
from pingan.core.errors import DomainError
from pingan.core.roles import Actor
from pingan.supervision.callbacks import actions, rules
from pingan.supervision.callbacks.schemas import DrawIn
from pingan.supervision.rules import BEIJING

app = typer.Typer(
    help="110 call-backs (110 回访): the weekly sample of closed incidents.", no_args_is_help=True
)
_console = Console()


@app.command("draw")
def draw(
    week: Annotated[
        str, typer.Option(help="the week's Monday, YYYY-MM-DD; the last week ended if none")
    ] = "",
    rate: Annotated[
        float, typer.Option(min=0.0001, max=1.0, help="the stated sampling rate")
    ] = rules.DEFAULT_RATE,
    seed: Annotated[
        int, typer.Option(min=0, help="the same seed draws the same sample")
    ] = rules.DEFAULT_SEED,
) -> None:
    """Draw the week's sample of closed incidents and make a call-back task of each."""
    now = clock.now()
    try:
        if week:
            monday = date.fromisoformat(week)
        else:
            today = now.astimezone(BEIJING).date()
            monday = today - timedelta(days=today.weekday() + 7)
    except ValueError:
        _console.print("week: a week is named by its Monday, written YYYY-MM-DD")
        raise typer.Exit(2) from None
    data = DrawIn(week_start=monday, rate=rate, seed=seed)
    actor = Actor.system("callbacks")
    try:
        with db.transaction() as session:
            actions.check_draw(session, data, actor=actor, now=now)
            d = actions.do_draw(session, data, actor=actor, now=now)
            _console.print(
                f"week {monday.isoformat()}: {d.drawn} call-back(s) drawn from {d.eligible} closed incident(s)"
                f" at rate {rate} with seed {seed}"
            )
    except DomainError as exc:
        _console.print(f"{exc.field or 'refused'}: {exc.message}")
        raise typer.Exit(1) from None
