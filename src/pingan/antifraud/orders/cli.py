"""`pingan robot`: the stop-payment robot's worker (数字警察助理)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="The stop-payment robot (数字警察助理).", no_args_is_help=True)
err_console = Console(stderr=True)


@app.command("run")
def robot_run(
    poll_after_s: Annotated[float, typer.Option(help="ask the bank when no result arrived by then")] = 5.0,
    batch: int = 200,
    name: Annotated[
        str | None,
        typer.Option(help="this sender's name on its claims; unique per running sender (host:pid)"),
    ] = None,
) -> None:
    """Run the robot worker: outbox sender, result poll, renewals and alerts, until SIGTERM/SIGINT."""
    import signal
    import threading

    from pingan.antifraud.banks.adapter import HttpBankAdapter
    from pingan.antifraud.orders.jobs import RobotWorker
    from pingan.core.settings import get_settings

    # The robot's event handlers are installed for every command by `_every_command`.
    settings = get_settings().bank
    adapter = HttpBankAdapter(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    err_console.print(f"robot running; banks at {settings.base_url}")
    RobotWorker(adapter, settings, batch=batch, poll_after_s=poll_after_s, name=name).run(stop)
    adapter.close()
