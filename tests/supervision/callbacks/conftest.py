"""Fixtures of the call-back tests: the Yulin station with one patrol car, dispatcher Chen at the
call-back desk, supervisor Liu who draws the week's sample, the legal-supervision office's Sun, an
auditor, and the 110 incidents of the week of Monday 2026-03-09 (Beijing time). The platform's clock
stands at 2026-03-20 10:00 Beijing time (the supervision tests' `frozen_now`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pingan.core import clock
from pingan.core.auth import User
from pingan.core.org import Station
from pingan.core.roles import Role
from tests.command.conftest import add_unit, move
from tests.conftest import make_user
from tests.supervision.complaints.conftest import take_call

WEEK = "2026-03-09"
CALLER_PHONE = "13800138000"


def closed_incident(
    unit: int, closed: datetime, *, phone: str | None = CALLER_PHONE, name: str | None = None
) -> int:
    """A 110 incident at Yulin, received an hour before `closed`, worked by `unit` and closed at `closed`."""
    received = closed - timedelta(hours=1)
    incident = take_call(
        text="电动车在小区门口被盗",
        station_code="WH-YL",
        received_at=received,
        caller_phone=phone,
        caller_name=name,
    )
    with clock.frozen(received + timedelta(minutes=2)):
        move(unit, "assign", incident_id=incident)
        move(unit, "acknowledge")
        move(unit, "depart")
    with clock.frozen(received + timedelta(minutes=10)):
        move(unit, "arrive")
    with clock.frozen(closed):
        move(unit, "clear", note="处理完毕")
    return incident


@pytest.fixture
def staff(station_yulin: Station, officer_li: User, supervisor_liu: User, legal_sun: User) -> dict[str, User]:
    return {
        "chen": make_user("dispatcher_chen", Role.DISPATCHER),
        "liu": supervisor_liu,
        "sun": legal_sun,
        "li": officer_li,
        "auditor": make_user("auditor_wu", Role.AUDITOR),
    }


@pytest.fixture
def week_incidents(staff: dict[str, User]) -> list[int]:
    """Three incidents closed in the week that a call-back can reach (the third with the caller's name
    on record), one closed in it with an anonymous caller, and one closed the week after."""
    unit = add_unit("玉林1")
    reachable = [
        closed_incident(unit, datetime(2026, 3, 10, 4, tzinfo=UTC)),
        closed_incident(unit, datetime(2026, 3, 12, 4, tzinfo=UTC), phone="13900139000"),
        closed_incident(unit, datetime(2026, 3, 14, 4, tzinfo=UTC), phone="13700137000", name="王芳"),
    ]
    closed_incident(unit, datetime(2026, 3, 13, 4, tzinfo=UTC), phone=None)
    closed_incident(unit, datetime(2026, 3, 16, 4, tzinfo=UTC))
    return reachable
