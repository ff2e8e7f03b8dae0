"""The read side of the command platform, for pages, the API and other packages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from pingan.command import rules
from pingan.command.actions import chain_of
from pingan.command.categories import catalogue
from pingan.command.choices import Disposition, IncidentStatus, UnitMove, UnitState
from pingan.command.model import Incident, IncidentLoot, Unit, UnitStatusLog
from pingan.command.roadmodel import RoadEdge, RoadNode
from pingan.core import bulk
from pingan.core.roles import Actor
from pingan.core.scoping import station_condition
from pingan.core.settings import get_settings

# The district's zone: the weekly bulletin's weeks run Monday to Monday in Beijing time.
BEIJING = ZoneInfo("Asia/Shanghai")


def incidents_in_view(actor: Actor) -> ColumnElement[bool]:
    """The incidents of `actor`'s station view: the dispatchers see the district."""
    return station_condition(actor, Incident.station_code)


def units_in_view(actor: Actor) -> ColumnElement[bool]:
    """The units of `actor`'s station view."""
    return station_condition(actor, Unit.station_code)


@dataclass(frozen=True)
class QueueRow:
    """An open incident in the dispatcher's queue, with its clock chain and its units."""

    incident: Incident
    chain: rules.ClockChain
    category: str
    units: list[Unit]


def open_queue(session: Session, actor: Actor, *, now: datetime, limit: int = 200) -> list[QueueRow]:
    """Open incidents of the actor's view, most urgent first, oldest first within a priority."""
    incidents = list(
        session.execute(
            select(Incident)
            .where(
                Incident.status == IncidentStatus.OPEN,
                Incident.disposition == Disposition.NEW,
                incidents_in_view(actor),
            )
            .order_by(Incident.priority, Incident.received_at, Incident.id)
            .options(selectinload(Incident.events))
            .limit(limit)
        ).scalars()
    )
    units: dict[int, list[Unit]] = {}
    if incidents:
        for u in session.execute(
            select(Unit).where(Unit.incident_id.in_([i.id for i in incidents])).order_by(Unit.call_sign)
        ).scalars():
            assert u.incident_id is not None
            units.setdefault(u.incident_id, []).append(u)
    cat = catalogue()
    return [
        QueueRow(i, chain_of(i, now=now), cat.display(i.category_code), units.get(i.id, []))
        for i in incidents
    ]


def attach_suggestion(
    session: Session,
    *,
    category_code: str | None,
    lat: float | None,
    lon: float | None,
    received_at: datetime,
) -> rules.AttachSuggestion:
    """The open incident a call is likely about, by the attach rule, with the settings' radius and window."""
    c = get_settings().command
    window = timedelta(minutes=c.attach_window_min)
    type_code = category_code[:4] if category_code and len(category_code) >= 4 else None
    candidates: list[rules.OpenIncident] = []
    if type_code is not None and lat is not None and lon is not None:
        rows = session.execute(
            select(
                Incident.id, Incident.category_code, Incident.lat, Incident.lon, Incident.received_at
            ).where(
                Incident.status == IncidentStatus.OPEN,
                Incident.disposition == Disposition.NEW,
                Incident.category_code.startswith(type_code, autoescape=True),
                Incident.received_at >= received_at - window,
                Incident.received_at <= received_at + window,
            )
        ).all()
        candidates = [
            rules.OpenIncident(r.id, (r.category_code or "")[:4] or None, r.lat, r.lon, r.received_at)
            for r in rows
        ]
    return rules.suggest_attach(
        type_code=type_code,
        lat=lat,
        lon=lon,
        received_at=received_at,
        open_incidents=candidates,
        radius_m=c.attach_radius_m,
        window=window,
    )


def incident_detail(session: Session, incident_id: int) -> Incident | None:
    """One incident with its event log."""
    return session.execute(
        select(Incident).where(Incident.id == incident_id).options(selectinload(Incident.events))
    ).scalar_one_or_none()


def loot_of(session: Session, incident_id: int) -> list[IncidentLoot]:
    """The incident's loot-recovery record, oldest item first."""
    return list(
        session.execute(
            select(IncidentLoot).where(IncidentLoot.incident_id == incident_id).order_by(IncidentLoot.id)
        ).scalars()
    )


def incident_ids_by_station(session: Session, *, since: datetime, until: datetime) -> dict[str, list[int]]:
    """The ids of the incidents received in [since, until), per station (for the complaints simulator)."""
    out: dict[str, list[int]] = {}
    for incident_id, station in session.execute(
        select(Incident.id, Incident.station_code)
        .where(
            Incident.received_at >= since, Incident.received_at < until, Incident.station_code.is_not(None)
        )
        .order_by(Incident.id)
    ):
        if station is not None:
            out.setdefault(station, []).append(incident_id)
    return out


def closed_for_callback(
    session: Session, *, since: datetime, until: datetime
) -> dict[str, dict[int, datetime]]:
    """The incidents closed in [since, until) that a call-back (回访) can reach, per station: id to
    closing time. A new incident (not an attached, hoax or duplicate call), with a station and the
    caller's phone."""
    out: dict[str, dict[int, datetime]] = {}
    for incident_id, station, closed_at in session.execute(
        select(Incident.id, Incident.station_code, Incident.closed_at)
        .where(
            Incident.status == IncidentStatus.CLOSED,
            Incident.disposition == Disposition.NEW,
            Incident.closed_at >= since,
            Incident.closed_at < until,
            Incident.station_code.is_not(None),
            Incident.caller_phone.pseudonym.is_not(None),
        )
        .order_by(Incident.id)
    ):
        if station is not None and closed_at is not None:
            out.setdefault(station, {})[incident_id] = closed_at
    return out


def related_calls(session: Session, incident_id: int) -> list[Incident]:
    """The calls attached to (or duplicating) an incident."""
    return list(
        session.execute(
            select(Incident).where(Incident.related_incident_id == incident_id).order_by(Incident.received_at)
        ).scalars()
    )


def list_units(session: Session, actor: Actor, *, state: UnitState | None = None) -> list[Unit]:
    """The units of the actor's view, by station and call sign."""
    q = select(Unit).where(units_in_view(actor))
    if state is not None:
        q = q.where(Unit.state == state)
    return list(session.execute(q.order_by(Unit.station_code, Unit.call_sign)).scalars())


def units_for_assignment(session: Session, actor: Actor, incident: Incident) -> list[Unit]:
    """Available units to offer for an incident: its own station's first, then the nearest centre.

    Straight-line order only; ranking by road travel time belongs to the dispatch routing (not built).
    """
    units = list_units(session, actor, state=UnitState.AVAILABLE)

    def key(u: Unit) -> tuple[int, float, str]:
        if incident.lat is not None and incident.lon is not None and u.lat is not None and u.lon is not None:
            far = rules.distance_m(incident.lat, incident.lon, u.lat, u.lon)
        else:
            far = float("inf")
        return (0 if u.station_code == incident.station_code else 1, far, u.call_sign)

    return sorted(units, key=key)


def unit_by_call_sign(session: Session, call_sign: str, *, for_update: bool = False) -> Unit | None:
    """The unit with this call sign (another package's feed names units so: a GPS tracker, a holster)."""
    q = select(Unit).where(Unit.call_sign == call_sign)
    return session.execute(q.with_for_update() if for_update else q).scalar_one_or_none()


def units_by_call_signs(
    session: Session, call_signs: Sequence[str], *, for_update: bool = False
) -> dict[str, Unit]:
    """The units with these call signs, by call sign, read (and locked, in id order) in one query: a
    feed's batch of positions."""
    if not call_signs:
        return {}
    q = select(Unit).where(bulk.any_of(session, Unit.call_sign, call_signs)).order_by(Unit.id)
    return {u.call_sign: u for u in session.execute(q.with_for_update() if for_update else q).scalars()}


def unit_log(session: Session, unit_id: int, limit: int = 50) -> list[UnitStatusLog]:
    """A unit's latest log lines, newest first."""
    return list(
        session.execute(
            select(UnitStatusLog)
            .where(UnitStatusLog.unit_id == unit_id)
            .order_by(UnitStatusLog.id.desc())
            .limit(limit)
        ).scalars()
    )


def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    """The UTC instants of a Beijing-time week starting on `week_start` (a Monday) at 00:00."""
    start = datetime.combine(week_start, time(0), tzinfo=BEIJING).astimezone(UTC)
    return start, start + timedelta(days=7)


def monday_of(day: date) -> date:
    """The Monday of the week `day` falls in."""
    return day - timedelta(days=day.weekday())


def station_bulletin(
    session: Session, *, station_code: str, week_start: date, now: datetime
) -> rules.Bulletin:
    """A station's weekly 110 bulletin: its new incidents received in the Beijing-time week, and the
    assigned-to-arrival times of the units sent to them."""
    start, end = week_bounds(week_start)
    incidents = list(
        session.execute(
            select(Incident)
            .where(
                Incident.station_code == station_code,
                Incident.disposition == Disposition.NEW,
                Incident.received_at >= start,
                Incident.received_at < end,
            )
            .options(selectinload(Incident.events))
        ).scalars()
    )
    chains = [chain_of(i, now=now) for i in incidents]
    responses: list[rules.UnitResponse] = []
    if incidents:
        rows = session.execute(
            select(
                UnitStatusLog.unit_id,
                UnitStatusLog.incident_id,
                UnitStatusLog.move,
                UnitStatusLog.at,
                Unit.call_sign,
            )
            .join(Unit, Unit.id == UnitStatusLog.unit_id)
            .where(
                UnitStatusLog.incident_id.in_([i.id for i in incidents]),
                UnitStatusLog.move.in_([UnitMove.ASSIGN, UnitMove.ARRIVE]),
            )
            .order_by(UnitStatusLog.id)
        ).all()
        assigned: dict[tuple[int, int | None], datetime] = {}
        for r in rows:
            if r.move is UnitMove.ASSIGN:
                assigned[(r.unit_id, r.incident_id)] = r.at
            elif (r.unit_id, r.incident_id) in assigned:
                at = assigned.pop((r.unit_id, r.incident_id))
                responses.append(rules.UnitResponse(r.call_sign, (r.at - at).total_seconds()))
    return rules.weekly_bulletin(chains, responses)


@dataclass(frozen=True)
class RoadSegments:
    """The stored road graph's segments as arrays, for other packages (traffic safety): segment k is
    `edge_id[k]`, from (`a_lat`, `a_lon`) to (`b_lat`, `b_lon`), `length_m` long, of `road_class`."""

    edge_id: np.ndarray
    a_lat: np.ndarray
    a_lon: np.ndarray
    b_lat: np.ndarray
    b_lon: np.ndarray
    length_m: np.ndarray
    road_class: tuple[str, ...]


def road_segments(session: Session) -> RoadSegments:
    """Every stored road segment with its end points, ordered by id (empty arrays when none is stored)."""
    nodes = {
        int(i): (float(la), float(lo))
        for i, la, lo in session.execute(select(RoadNode.id, RoadNode.lat, RoadNode.lon))
    }
    rows = session.execute(
        select(
            RoadEdge.id, RoadEdge.source, RoadEdge.target, RoadEdge.length_m, RoadEdge.road_class
        ).order_by(RoadEdge.id)
    ).all()
    return RoadSegments(
        edge_id=np.array([r[0] for r in rows], dtype=np.int64),
        a_lat=np.array([nodes[r[1]][0] for r in rows], dtype=float),
        a_lon=np.array([nodes[r[1]][1] for r in rows], dtype=float),
        b_lat=np.array([nodes[r[2]][0] for r in rows], dtype=float),
        b_lon=np.array([nodes[r[2]][1] for r in rows], dtype=float),
        length_m=np.array([r[3] for r in rows], dtype=float),
        road_class=tuple(str(r[4]) for r in rows),
    )


@dataclass(frozen=True)
class SegmentPlace:
    """Where a road segment is, as a person says it: its road, and the cross streets at its two ends
    ("" at a dead end, or where only the road itself meets there)."""

    road: str
    from_cross: str
    to_cross: str


def segment_places(session: Session, edge_ids: set[int]) -> dict[int, SegmentPlace]:
    """The places of these segments, in two queries; a segment of an unnamed road, or one that is not
    stored, is left out (a page then shows the segment's number). At a junction of several cross
    streets the first by name is given."""
    if not edge_ids:
        return {}
    edges = session.execute(
        select(RoadEdge.id, RoadEdge.source, RoadEdge.target, RoadEdge.name).where(
            bulk.any_of(session, RoadEdge.id, edge_ids), RoadEdge.name != ""
        )
    ).all()
    nodes = {n for _, a, b, _ in edges for n in (a, b)}
    if not nodes:
        return {}
    named: dict[int, set[str]] = {}
    for a, b, name in session.execute(
        select(RoadEdge.source, RoadEdge.target, RoadEdge.name).where(
            bulk.any_of(session, RoadEdge.source, nodes) | bulk.any_of(session, RoadEdge.target, nodes)
        )
    ):
        if name:
            named.setdefault(a, set()).add(name)
            named.setdefault(b, set()).add(name)

    def cross(node: int, road: str) -> str:
        return min(named.get(node, set()) - {road}, default="")

    return {int(i): SegmentPlace(name, cross(a, name), cross(b, name)) for i, a, b, name in edges}


def road_names(session: Session, containing: str, *, limit: int = 20) -> list[str]:
    """The names of stored roads that contain `containing`: the name typed in full first, then those
    beginning with it, then the rest, each in natural order (纬2街 before 纬10街); none for a blank
    query."""
    text = containing.strip()
    if not text:
        return []
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    names = session.scalars(
        select(RoadEdge.name).where(RoadEdge.name.like(pattern, escape="\\")).distinct()
    ).all()

    def order(name: str) -> tuple[bool, bool, list[tuple[int, str]]]:
        parts = re.split(r"(\d+)", name)
        natural = [(int(p), "") if p.isdigit() else (-1, p) for p in parts]
        return name != text, not name.startswith(text), natural

    return sorted(names, key=order)[:limit]


def road_segment_places(session: Session, road: str) -> list[tuple[int, SegmentPlace]]:
    """The segments of the road named `road` with their places, in order along it: west to east where
    the road runs more east-west than north-south, else south to north. Empty for an unknown road."""
    rows = session.execute(
        select(RoadEdge.id, RoadEdge.source, RoadEdge.target).where(RoadEdge.name == road)
    ).all()
    if not rows:
        return []
    ends = {n for _, a, b in rows for n in (a, b)}
    at = {
        int(i): (float(la), float(lo))
        for i, la, lo in session.execute(
            select(RoadNode.id, RoadNode.lat, RoadNode.lon).where(bulk.any_of(session, RoadNode.id, ends))
        )
    }
    mid = {int(i): ((at[a][0] + at[b][0]) / 2, (at[a][1] + at[b][1]) / 2) for i, a, b in rows}
    lats, lons = [p[0] for p in mid.values()], [p[1] for p in mid.values()]
    # A degree of longitude is cos(latitude) of a degree of latitude on the ground.
    east_west = (max(lons) - min(lons)) * np.cos(np.radians(np.mean(lats))) >= max(lats) - min(lats)
    places = segment_places(session, set(mid))
    order = sorted(mid, key=lambda i: (mid[i][1], mid[i][0]) if east_west else (mid[i][0], mid[i][1]))
    return [(i, places[i]) for i in order if i in places]
