"""`pingan sweep`: the time-driven sweeps, all at once.

What the clock alone breaches is recorded by a sweep, not by a step: a statutory deadline of a case
that passed without its step (and its quality deduction), a complaint's clock, a mediation deadline.
Each package's own command runs one (`pingan supervision sweep`, `pingan complaints sweep`,
`pingan community breaches`); this runs them all, each in its own transaction, so that one failing
leaves the others done. A deployment runs it on a schedule (deploy/k8s: a CronJob every 15 minutes;
compose and the demo: `--every`). The 110 breach alarm has its own, faster loop
(`pingan command breaches --alarm --every 10`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from pingan.community.cli import run_sweep as community_sweep
from pingan.supervision.cli import run_sweep as supervision_sweep
from pingan.supervision.complaints.cli import run_sweep as complaints_sweep

log = logging.getLogger(__name__)
_console = Console()

SWEEPS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("supervision", supervision_sweep),
    ("complaints", complaints_sweep),
    ("community", community_sweep),
)


def run_all() -> list[str]:
    """Run every sweep once; returns the names of those that failed (each failure is logged)."""
    failed = []
    for name, run in SWEEPS:
        try:
            _console.print(f"{name}: {run()}")
        except Exception:
            log.exception("sweep %s failed", name)
            _console.print(f"[red]{name}: failed[/red] (see the log)")
            failed.append(name)
    return failed


def sweep(
    every: Annotated[
        float | None, typer.Option(help="sweep again every this many seconds, until stopped")
    ] = None,
) -> None:
    """Run the time-driven sweeps: supervision deadlines, complaint clocks, mediation deadlines."""
    while True:
        failed = run_all()
        if every is None:
            if failed:
                raise typer.Exit(code=1)
            return
        time.sleep(every)
