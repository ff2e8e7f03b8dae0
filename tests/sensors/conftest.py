"""Fixtures of the sensor tests: a smart community's detectors, a holster and a tracker, their keys,
and signed messages as a device writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from pingan.core import clock, db
from pingan.core.roles import Role
from pingan.sensors import actions, rules
from pingan.sensors.choices import DeviceKind
from pingan.sensors.schemas import DeviceIn
from tests.command.conftest import (  # noqa: F401 - fixtures shared with the command tests
    add_unit,
    at_t0,
    block_roads,
    dispatcher,
    district,
    move,
)
from tests.conftest import SYSTEM, make_user

GARDEN = "yulin-garden"  # 玉林花园, a smart community in the Yulin station's area


@dataclass(frozen=True)
class Registered:
    """A registered device and its key, as the device itself holds them."""

    device_id: str
    community: str
    key: bytes
    pk: int

    def message(self, seq: int, *, at: datetime | None = None, **fields: Any) -> dict[str, Any]:
        """A signed v1 message of this device."""
        body: dict[str, Any] = {
            "v": 1,
            "device": self.device_id,
            "seq": seq,
            "ts": (at or clock.now()).isoformat(),
        }
        body.update(fields)
        body["sig"] = rules.sign(self.key, body)
        return body

    def raw(self, seq: int, **fields: Any) -> bytes:
        """The signed message as bytes on the wire."""
        return json.dumps(self.message(seq, **fields), ensure_ascii=False).encode()


def register(device_id: str, kind: DeviceKind, community: str, **fields: Any) -> Registered:
    item = actions.NewDevice(
        device=DeviceIn(device_id=device_id, kind=kind, community=community, **fields), actor=SYSTEM
    )
    with db.transaction() as s:
        actions.check_register_device(s, item)
        device, key = actions.do_register_device(s, item, now=clock.now())
        s.flush()
        return Registered(device_id, community, bytes.fromhex(key), device.id)


@pytest.fixture
def smoke_a(district: None) -> Registered:  # noqa: F811
    return register(
        "smoke-a",
        DeviceKind.SMOKE_DETECTOR,
        GARDEN,
        location="3栋2单元",
        lat=30.6125,
        lon=104.0525,
        owner="玉林物业",
    )


@pytest.fixture
def smoke_b(district: None) -> Registered:  # noqa: F811
    return register(
        "smoke-b", DeviceKind.SMOKE_DETECTOR, GARDEN, location="3栋1单元", lat=30.6126, lon=104.0526
    )


@pytest.fixture
def sos_button(district: None) -> Registered:  # noqa: F811
    return register("sos-1", DeviceKind.SOS_BUTTON, GARDEN, location="东门", lat=30.6124, lon=104.0524)


@pytest.fixture
def unit_yulin1(district: None) -> int:  # noqa: F811
    return add_unit("玉林1")


@pytest.fixture
def holster_wang(unit_yulin1: int) -> Registered:
    make_user("officer_wang", Role.OFFICER, station_code="WH-YL")
    return register(
        "holster-7", DeviceKind.HOLSTER, "holster", officer="officer_wang", unit_call_sign="玉林1"
    )


@pytest.fixture
def tracker_yulin1(unit_yulin1: int) -> Registered:
    return register("gps-yl1", DeviceKind.UNIT_TRACKER, "units", unit_call_sign="玉林1")
