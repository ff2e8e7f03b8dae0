"""The demo's devices: registered once, with the Yulin unit's holster and tracker."""

from __future__ import annotations

from sqlalchemy import select

from pingan.core import clock, db
from pingan.core.roles import Role
from pingan.sensors.choices import DeviceKind
from pingan.sensors.model import Device
from pingan.sensors.seed import DEMO_DEVICES, seed_sensors
from tests.conftest import make_user


def test_the_demo_devices_are_registered_once(unit_yulin1: int) -> None:
    make_user("officer", Role.OFFICER, station_code="WH-YL")
    assert seed_sensors(now=clock.now()) == len(DEMO_DEVICES) + 2
    assert seed_sensors(now=clock.now()) == 0
    with db.read_transaction() as s:
        holster = s.execute(select(Device).where(Device.kind == DeviceKind.HOLSTER)).scalar_one()
        assert holster.unit_call_sign == "玉林1"
