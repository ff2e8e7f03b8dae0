"""`pingan sensors`: the MQTT ingest, device registration and the position retention sweep."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from pingan.core import clock, db
from pingan.core.errors import DomainError
from pingan.core.roles import Actor
from pingan.core.settings import get_settings
from pingan.sensors import actions, jobs
from pingan.sensors.choices import DeviceKind
from pingan.sensors.schemas import DeviceIn

app = typer.Typer(help="Sensors and officer devices over MQTT (感知源, smart holster).", no_args_is_help=True)
_console = Console()


@app.command("ingest")
def ingest(
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=jobs.WORKERS_MAX,
            help="ingest processes; more than one share the positions (docs/mqtt.md)",
        ),
    ] = 1,
    worker: Annotated[int | None, typer.Option(hidden=True, help="run as this worker of --workers")] = None,
    parent: Annotated[int | None, typer.Option(hidden=True, help="the process that runs the workers")] = None,
) -> None:
    """Take the devices' messages from the broker (PINGAN_SENSORS_MQTT_HOST/PORT) until stopped."""
    s = get_settings().sensors
    if workers > 1 and worker is None:
        _console.print(f"ingest {s.client_id} on {s.mqtt_host}:{s.mqtt_port}: {workers} worker processes")
        _console.print(
            "note: Mosquitto 2.0.11 does not restore shared subscriptions after its own restart: what is "
            "published before the workers subscribe again is lost (docs/mqtt.md, Worker processes)"
        )

        def command(k: int) -> list[str]:
            return [sys.executable, "-c", "from pingan.cli import app; app()", "sensors", "ingest",
                    "--workers", str(workers), "--worker", str(k), "--parent", str(os.getpid())]  # fmt: skip

        jobs.run_workers(workers, command)
        _console.print("stopped")
        return
    if worker is not None and not 0 <= worker < workers:
        raise typer.BadParameter(f"a worker from 0 to {workers - 1}", param_hint="--worker")
    one = jobs.Ingest.from_settings(worker=worker or 0, workers=workers)
    topics = jobs.subscriptions(share_group=one.share_group, primary=one.primary)
    _console.print(f"ingest {one.client_id} on {s.mqtt_host}:{s.mqtt_port}, topics: {', '.join(topics)}")
    try:
        one.run_forever(parent=parent)
    except KeyboardInterrupt:
        _console.print("stopped")


@app.command("add-device")
def add_device(
    device_id: str,
    kind: Annotated[DeviceKind, typer.Option(help="what the device is")],
    community: Annotated[str, typer.Option(help="the smart community; units/holster for officer devices")],
    location: Annotated[str, typer.Option(help="where it is")] = "",
    lat: Annotated[float | None, typer.Option(help="WGS-84 latitude")] = None,
    lon: Annotated[float | None, typer.Option(help="WGS-84 longitude")] = None,
    owner: Annotated[str, typer.Option(help="who runs it")] = "",
    officer: Annotated[str, typer.Option(help="a holster's officer")] = "",
    unit: Annotated[str, typer.Option(help="a holster's or tracker's unit call sign")] = "",
) -> None:
    """Register (whitelist) a device and print its HMAC key once."""
    try:
        body = DeviceIn(
            device_id=device_id,
            kind=kind,
            community=community,
            location=location,
            lat=lat,
            lon=lon,
            owner=owner,
            officer=officer,
            unit_call_sign=unit,
        )
        item = actions.NewDevice(device=body, actor=Actor.system("cli"))
        with db.transaction() as session:
            actions.check_register_device(session, item)
            device, key = actions.do_register_device(session, item, now=clock.now())
            _console.print(f"device {device.id} {device.device_id} registered; key (shown once):")
            _console.print(key, soft_wrap=True)
    except (DomainError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command("purge-positions")
def purge_positions() -> None:
    """Delete officer positions older than PINGAN_SENSORS_POSITION_RETENTION_DAYS."""
    with db.transaction() as session:
        n = actions.do_purge_positions(session, now=clock.now(), actor=Actor.system("cli"))
    _console.print(f"{n} positions deleted")
