"""The demo's command centre: units for every station and a few incidents at every stage, so that a
dispatcher who logs in finds work. Seeding is idempotent: it does nothing once units exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.command import actions
from pingan.command.choices import Disposition, UnitKind, UnitMove
from pingan.command.model import Incident, Unit
from pingan.command.schemas import IncidentIn, UnitIn
from pingan.core import db
from pingan.core.org import all_stations
from pingan.core.roles import Actor

UNITS_PER_STATION = 3
_KINDS = (UnitKind.PATROL_CAR, UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL)


@dataclass(frozen=True)
class DemoCall:
    """One demo call: minutes before now, where (offset from its station's centre), what, and how far
    its units got (the moves made, with the minutes after the call at which each was made)."""

    station: str
    minutes_ago: int
    text: str
    category: str
    address: str
    moves: tuple[tuple[str, float], ...] = ()
    sign_off_after_s: int | None = None
    d_lat: float = 0.002
    d_lon: float = 0.001
    disposition: Disposition = Disposition.NEW
    reason: str = ""


DEMO_CALLS: tuple[DemoCall, ...] = (
    DemoCall("WH-YL", 2, "玉林北路小区有人持刀抢劫，嫌疑人往南跑了", "010201", "玉林北路12号"),
    DemoCall(
        "WH-YL",
        6,
        "楼下两伙人打起来了，有人流血",
        "020201",
        "玉林中路菜市场门口",
        moves=(("assign", 0.8), ("acknowledge", 1.0), ("depart", 1.5)),
        sign_off_after_s=20,
    ),
    DemoCall(
        "WH-WJL",
        14,
        "电动车停在楼下被偷了",
        "010103",
        "望江路28号",
        moves=(("assign", 1.0), ("acknowledge", 1.5), ("depart", 2.0), ("arrive", 7.0)),
        sign_off_after_s=25,
    ),
    DemoCall("WH-JTQ", 4, "十字路口两车相撞，一人受伤", "030101", "机投镇武青南路口", sign_off_after_s=50),
    DemoCall("WH-TST", 25, "隔壁装修噪音太大，晚上还在施工", "020302", "科华北路65号"),
    DemoCall(
        "WH-HX",
        45,
        "老人走失，穿灰色外套，有点糊涂",
        "050101",
        "华兴街口",
        moves=(("assign", 1.0), ("acknowledge", 1.2), ("depart", 1.5), ("arrive", 6.0), ("clear", 30.0)),
        sign_off_after_s=15,
    ),
    DemoCall("WH-YL", 3, "", "060102", "", disposition=Disposition.HOAX, reason="连续拨打，无声后挂断"),
)


def _unit_name(station_name: str, n: int) -> str:
    return f"{station_name.removesuffix('派出所')}{n}"


def seed_command(*, now: datetime) -> tuple[int, int]:
    """Units for every station and the demo calls, relative to `now`. Returns (units, incidents) created."""
    actor = Actor.system("demo-seed")
    with db.transaction() as session:
        if session.execute(select(func.count()).select_from(Unit)).scalar_one():
            return (0, 0)
        stations = all_stations(session)
        units: dict[str, list[Unit]] = {}
        for st in stations:
            for n in range(1, UNITS_PER_STATION + 1):
                body = UnitIn(call_sign=_unit_name(st.name, n), station_code=st.code, kind=_KINDS[n - 1])
                unit = actions.do_add_unit(session, body, actor)
                unit.lat, unit.lon, unit.fix_at = st.lat + 0.001 * n, st.lon - 0.001 * n, now
                units.setdefault(st.code, []).append(unit)
        centres = {s.code: (s.lat, s.lon) for s in stations}
        created = 0
        for i, call in enumerate(DEMO_CALLS):
            if call.station not in centres:
                continue
            phone = f"139{i:04d}{5678 + i:04d}"
            created += _seed_call(
                session, call, phone, centres[call.station], units[call.station][0], now=now, actor=actor
            )
    return (sum(len(v) for v in units.values()), created)


def _seed_call(
    session: Session,
    call: DemoCall,
    phone: str,
    centre: tuple[float, float],
    unit: Unit,
    *,
    now: datetime,
    actor: Actor,
) -> int:
    received = now - timedelta(minutes=call.minutes_ago)
    body = IncidentIn(
        received_at=received,
        caller_phone=phone,
        text=call.text,
        category_code=call.category,
        address=call.address,
        lat=round(centre[0] + call.d_lat, 6),
        lon=round(centre[1] + call.d_lon, 6),
        disposition=call.disposition,
        disposition_reason=call.reason,
    )
    item = actions.NewCall(call=body, actor=actor)
    related = actions.check_take_call(session, item)
    incident = actions.do_take_call(session, item, related=related)
    session.flush()
    if call.sign_off_after_s is not None:
        actions.do_sign_off(session, incident, actor, at=received + timedelta(seconds=call.sign_off_after_s))
    for name, minutes in call.moves:
        move = actions.UnitMoveRequest(
            unit=unit,
            move=UnitMove(name),
            actor=actor,
            incident=incident if name == "assign" else None,
            note="现场已处置，老人已由家属接回" if name == "clear" else "",
            at=received + timedelta(minutes=minutes),
        )
        actions.do_move_unit(session, move, actions.check_move_unit(move))
    return 1


def incidents_total(session: Session) -> int:
    """How many calls are recorded."""
    return int(session.execute(select(func.count()).select_from(Incident)).scalar_one())
