"""The demo's devices: two smart communities of the Yulin station with their detectors, and a
holster and a GPS tracker on the station's first unit. Keys are made fresh and kept encrypted; a
simulator reads them back with `actions.device_key`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from pingan.command import queries as command_queries
from pingan.core import db
from pingan.core.auth import User
from pingan.core.roles import Actor
from pingan.sensors import actions
from pingan.sensors.choices import DeviceKind
from pingan.sensors.model import Device
from pingan.sensors.schemas import DeviceIn

DEMO_OFFICER = "officer"  # the demo's Yulin officer (pingan.demo.DEMO_USERS)
# (device id, kind, community, location, lat, lon, owner): around the Yulin station (WH-YL).
DEMO_DEVICES = (
    (
        "yl-garden-smoke-1",
        DeviceKind.SMOKE_DETECTOR,
        "yulin-garden",
        "3栋2单元",
        30.6361,
        104.0581,
        "玉林花园物业",
    ),
    (
        "yl-garden-smoke-2",
        DeviceKind.SMOKE_DETECTOR,
        "yulin-garden",
        "3栋1单元",
        30.6362,
        104.0583,
        "玉林花园物业",
    ),
    (
        "yl-garden-door-1",
        DeviceKind.DOOR_SENSOR,
        "yulin-garden",
        "地下车库门",
        30.6358,
        104.0579,
        "玉林花园物业",
    ),
    ("yl-garden-sos-1", DeviceKind.SOS_BUTTON, "yulin-garden", "东门岗亭", 30.6357, 104.0590, "玉林花园物业"),
    (
        "yl-garden-lift-1",
        DeviceKind.LIFT_CAMERA,
        "yulin-garden",
        "3栋1号电梯",
        30.6361,
        104.0582,
        "玉林花园物业",
    ),
    (
        "yl-east-lane-1",
        DeviceKind.FIRE_LANE_SENSOR,
        "yulin-east",
        "消防通道A",
        30.6340,
        104.0620,
        "玉林东苑物业",
    ),
    (
        "yl-east-smoke-1",
        DeviceKind.SMOKE_DETECTOR,
        "yulin-east",
        "1栋大堂",
        30.6342,
        104.0622,
        "玉林东苑物业",
    ),
)


def seed_sensors(*, now: datetime) -> int:
    """Register the demo's devices once; returns how many were registered (0 on a second run)."""
    actor = Actor.system("demo-seed")
    with db.transaction() as session:
        if session.execute(select(func.count()).select_from(Device)).scalar_one():
            return 0
        bodies = [
            DeviceIn(device_id=d, kind=k, community=c, location=loc, lat=lat, lon=lon, owner=owner)
            for d, k, c, loc, lat, lon, owner in DEMO_DEVICES
        ]
        unit = command_queries.unit_by_call_sign(session, "玉林1")
        officer = session.execute(select(User.id).where(User.username == DEMO_OFFICER)).first()
        if unit is not None and officer is not None:
            bodies.append(
                DeviceIn(
                    device_id="yl-holster-1",
                    kind=DeviceKind.HOLSTER,
                    community="holster",
                    officer=DEMO_OFFICER,
                    unit_call_sign=unit.call_sign,
                )
            )
            bodies.append(
                DeviceIn(
                    device_id="yl-gps-1",
                    kind=DeviceKind.UNIT_TRACKER,
                    community="units",
                    unit_call_sign=unit.call_sign,
                )
            )
        for body in bodies:
            item = actions.NewDevice(device=body, actor=actor)
            actions.check_register_device(session, item)
            actions.do_register_device(session, item, now=now)
        return len(bodies)
