"""`pingan sim devices`: play the district's registered devices on the MQTT broker (docs/mqtt.md)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

from pingan.command import queries as command_queries
from pingan.core import clock, db
from pingan.core.errors import DomainError
from pingan.core.roles import Actor
from pingan.core.settings import get_settings
from pingan.sensors import actions as sensor_actions
from pingan.sensors.choices import DeviceKind
from pingan.sim import devices as sim

_console = Console(stderr=True)
SIM = Actor.system("sim-devices")


def devices_cmd(
    duration: Annotated[float, typer.Option(help="Seconds to run (of simulated time).", min=0.1)] = 300.0,
    seed: Annotated[int, typer.Option(help="Same seed, devices and roads: the same messages.")] = 1,
    alarms_per_hour: Annotated[
        float, typer.Option(help="Community alarms per hour, over all community devices.", min=0)
    ] = 60.0,
    holster_per_hour: Annotated[
        float, typer.Option(help="Holster draws per hour, by officers at an open incident.", min=0)
    ] = 4.0,
    position_every: Annotated[float, typer.Option(help="Seconds between a tracker's fixes.", min=0)] = 5.0,
    crowd_event: Annotated[str, typer.Option(help="A crowd event's code: publish its zone counts.")] = "",
    crowd_zones: Annotated[int, typer.Option(help="The crowd event's zones.", min=1)] = 3,
    crowd_capacity: Annotated[int, typer.Option(help="Each zone's capacity.", min=1)] = 5000,
    speed: Annotated[float, typer.Option(help="Time factor: 10 plays 10 s in 1 s.", min=0.01)] = 1.0,
) -> None:
    """Publish the registered devices' messages: alarms, holster events, unit tracks, crowd counts."""
    params = sim.Params(
        duration_s=duration, alarms_per_hour=alarms_per_hour, holster_per_hour=holster_per_hour,
        position_every_s=position_every, crowd_event=crowd_event, crowd_zones=crowd_zones,
        crowd_capacity=crowd_capacity, topic_root=get_settings().sensors.topic_root,
    )  # fmt: skip
    try:
        with db.transaction() as session:
            devices = sensor_actions.devices_for_simulation(session, SIM)
            working: set[str] = set()
            starts: dict[str, tuple[float, float]] = {}
            for d in devices:
                if d.kind not in (DeviceKind.HOLSTER, DeviceKind.UNIT_TRACKER) or not d.unit_call_sign:
                    continue
                unit = command_queries.unit_by_call_sign(session, d.unit_call_sign)
                if unit is None:
                    continue
                if unit.incident_id is not None:
                    working.add(unit.call_sign)
                if unit.lat is not None and unit.lon is not None:
                    starts[unit.call_sign] = (unit.lat, unit.lon)
            segments = command_queries.road_segments(session)
    except DomainError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not devices:
        raise typer.BadParameter("no device is registered: `pingan sensors add-device` or `pingan demo`")
    graph = sim.Graph.from_segments(segments) if len(segments.edge_id) else None
    if graph is None and any(d.kind is DeviceKind.UNIT_TRACKER for d in devices):
        _console.print("no road graph is stored (`pingan command roads`): trackers stay silent")
    planned = sim.plan(seed, devices, working=working, starts=starts, graph=graph, p=params)
    s = get_settings().sensors
    _console.print(
        f"{len(devices)} devices, {len(planned)} messages over {duration:g} s (seed {seed}) "
        f"to {s.mqtt_host}:{s.mqtt_port}"
    )
    try:
        sent = sim.publish(
            planned, devices, host=s.mqtt_host, port=s.mqtt_port, speed=speed,
            client_id=f"pingan-sim-{seed}-{os.getpid()}", now_iso=lambda: clock.now().isoformat(),
        )  # fmt: skip
    except OSError as exc:
        raise typer.BadParameter(f"the broker: {exc}", param_hint="PINGAN_SENSORS_MQTT_HOST") from None
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(sent.by_kind.items())) or "nothing"
    typer.echo(
        f"published {kinds}; alarms real {sent.real_alarms}, false {sent.false_alarms}; "
        f"not acknowledged by the broker {sent.unacked}"
    )
