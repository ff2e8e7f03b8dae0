"""The demo's command centre: units for every station and a few incidents at every stage, so that a
dispatcher who logs in finds work, and the closed incidents of the weeks before (`HISTORY_WEEKS`),
which the 110 call-backs sample. Seeding is idempotent: it does nothing once units exist."""

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
# The closed incidents of the weeks before the demo's day, per station and week: what the weekly
# 110 call-back sample draws from (at a tenth, rounded up, one call-back per station and week).
# Few, because every test that seeds the demo's command centre writes them.
HISTORY_WEEKS = 8
HISTORY_PER_STATION_WEEK = 4
HISTORY_CALLS = (
    ("电动车停在小区楼下被盗", "010103", "小区北门"),
    ("邻居家吵架声音很大，怕出事", "020301", "居民楼三单元"),
    ("钱包在公交车上被偷了", "010102", "公交站台"),
    ("门面被人砸了玻璃", "020102", "临街门面"),
    ("喝醉的人躺在路边", "050201", "人行道"),
    ("停车场两车剐蹭，双方争执", "030102", "商场停车场"),
    ("孩子放学没回家，联系不上", "050101", "学校门口"),
)
# A history incident's unit moves, with the minutes after the call at which each is made.
HISTORY_MOVES = (("assign", 1.0), ("acknowledge", 1.5), ("depart", 2.0), ("arrive", 9.0), ("clear", 40.0))
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
        for k, st in enumerate(stations):
            created += _seed_history(session, k, centres[st.code], units[st.code][-1], now=now, actor=actor)
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


def _seed_history(
    session: Session, index: int, centre: tuple[float, float], unit: Unit, *, now: datetime, actor: Actor
) -> int:
    """The station's closed incidents of the `HISTORY_WEEKS` weeks before `now`, each worked by `unit`
    from call to clearance within the hour, in time order. Returns how many were written."""
    start = now - timedelta(weeks=HISTORY_WEEKS)
    # Spread over the weeks, the last call two days before now; stations a little apart in time.
    spacing = (timedelta(weeks=HISTORY_WEEKS) - timedelta(days=2)) / (
        HISTORY_WEEKS * HISTORY_PER_STATION_WEEK
    )
    written = 0
    for n in range(HISTORY_WEEKS * HISTORY_PER_STATION_WEEK):
        text, category, address = HISTORY_CALLS[(index + n) % len(HISTORY_CALLS)]
        received = start + spacing * n + timedelta(minutes=17 * (index % 40))
        body = IncidentIn(
            received_at=received,
            caller_phone=f"137{index:02d}{n:06d}",
            text=text,
            category_code=category,
            address=address,
            lat=round(centre[0] - 0.002 + 0.0001 * (n % 20), 6),
            lon=round(centre[1] + 0.002 - 0.0001 * (n % 20), 6),
        )
        item = actions.NewCall(call=body, actor=actor)
        incident = actions.do_take_call(session, item, related=actions.check_take_call(session, item))
        session.flush()
        actions.do_sign_off(session, incident, actor, at=received + timedelta(seconds=30))
        for name, minutes in HISTORY_MOVES:
            move = actions.UnitMoveRequest(
                unit=unit,
                move=UnitMove(name),
                actor=actor,
                incident=incident if name == "assign" else None,
                note="现场已处置" if name == "clear" else "",
                at=received + timedelta(minutes=minutes),
            )
            actions.do_move_unit(session, move, actions.check_move_unit(move))
        written += 1
    return written


def incidents_total(session: Session) -> int:
    """How many calls are recorded."""
    return int(session.execute(select(func.count()).select_from(Incident)).scalar_one())
