"""`pingan sim incidents` writes a year of synthetic 110 calls; `pingan command replay` plays them back."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pingan.core import clock
from pingan.core.errors import DomainError
from pingan.sim import incidents, replay

_console = Console(stderr=True)


def incidents_cmd(
    out: Annotated[Path, typer.Option("--out", help="JSONL file to write.")],
    seed: Annotated[int, typer.Option(help="Same seed, same calls.")] = 1,
    per_day: Annotated[float, typer.Option(help="Mean calls a day in the base year.")] = 60.0,
    start: Annotated[str, typer.Option(help="First day of the base year (YYYY-MM-DD).")] = "2025-01-01",
    until: Annotated[str, typer.Option(help="Last day generated (YYYY-MM-DD).")] = "2026-11-30",
) -> None:
    """Write a year of 110 calls plus the current year to date, one JSON object a line."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(until)
    except ValueError:
        raise typer.BadParameter("--start/--until: give dates as YYYY-MM-DD") from None
    if last < first:
        raise typer.BadParameter("--until: comes before --start")
    params = incidents.IncidentParams(seed=seed, start=first, until=last, calls_per_day=per_day)
    n = incidents.write_jsonl(params, out)
    items = incidents.read_jsonl(out)
    through = (last.month, last.day)
    for name, codes in (("pickpocketing", {"010102"}), ("e-bike theft", {"010103"})):
        before, now, change = incidents.year_over_year(items, codes, through=through)
        _console.print(f"{name}: {before} -> {now} ({change:+.0%})")
    before, now, change = incidents.year_over_year(
        items, {c for c in params.shares if c[:2] in ("01", "02")}, through=through
    )
    _console.print(f"illegal incidents (01, 02): {before} -> {now} ({change:+.0%})")
    _console.print(f"{n} calls written to {out}")


def replay_cmd(
    file: Annotated[Path, typer.Argument(help="A JSONL file from `pingan sim incidents`.")],
    speed: Annotated[float, typer.Option(help="Times faster than recorded (1: real time).")] = 1.0,
    start: Annotated[str | None, typer.Option(help="Replay from this Beijing day (YYYY-MM-DD).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many calls.")] = None,
    now: Annotated[bool, typer.Option("--now/--as-recorded", help="Shift the calls to start now.")] = True,
) -> None:
    """Feed recorded calls through the command centre's actions, with units moving, in real time or ×N."""
    if speed <= 0:
        raise typer.BadParameter("--speed: must be positive")
    if not file.exists():
        raise typer.BadParameter(f"FILE: {file} does not exist")
    items = incidents.read_jsonl(file)
    if start is not None:
        try:
            first = date.fromisoformat(start)
        except ValueError:
            raise typer.BadParameter("--start: give a date as YYYY-MM-DD") from None
        items = [c for c in items if (c.received_at + incidents.BEIJING).date() >= first]
    if limit is not None:
        items = items[:limit]
    shift: datetime | None = clock.now() if now else None
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=_console
    ) as progress:  # fmt: skip
        task = progress.add_task("calls", total=len(items))

        def tick(_kind: str, stats: replay.ReplayStats) -> None:
            progress.update(
                task,
                completed=stats.calls,
                description=f"calls (new {stats.new}, moves {stats.moves}, waiting {stats.waits})",
            )

        try:
            stats = replay.replay(items, speed=speed, shift_to=shift, on_step=tick)
        except DomainError as exc:
            raise typer.BadParameter(str(exc)) from None
    _console.print(
        f"{stats.calls} calls: {stats.new} new, {stats.attached} attached, {stats.duplicates} duplicates, "
        f"{stats.hoaxes} hoaxes; {stats.moves} unit moves, {stats.fixes} positions"
    )
