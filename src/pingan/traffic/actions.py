"""The only code that writes traffic data. `check_*` validates and authorises; `do_*` writes in the
caller's transaction and audits there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy.orm import Session

from pingan.command.queries import RoadSegments, road_segments
from pingan.command.roads import metres_per_degree
from pingan.core import audit, clock
from pingan.core.errors import Forbidden, Invalid
from pingan.core.pii import PiiKind, Protected, protect
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings
from pingan.traffic import rules
from pingan.traffic.choices import Injury
from pingan.traffic.model import Accident, AccidentPerson, AccidentVehicle, Countermeasure
from pingan.traffic.schemas import AccidentIn, CountermeasureIn

# The traffic police brigade records accidents and countermeasures; the platform's feeds (an import,
# the simulator) act as the system. The command centre and supervisors read.
RECORDERS = frozenset({Role.TRAFFIC_POLICE, Role.SYSTEM})
READERS = frozenset({Role.TRAFFIC_POLICE, Role.DISPATCHER, Role.SUPERVISOR})
# The audit action the live map watches: a major accident, flagged at once.
MAJOR_ACTION = "accident.major"


def _authorise(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role.value} may not {what}")


class Snapper:
    """The road graph's segments in a flat projection (metres), loaded once for many points."""

    def __init__(self, segments: RoadSegments, *, limit_m: float) -> None:
        self.segments = segments
        self.limit_m = limit_m
        lat0 = (
            float(np.concatenate([segments.a_lat, segments.b_lat]).mean()) if segments.edge_id.size else 0.0
        )
        self.my, self.mx = metres_per_degree(lat0)

    @classmethod
    def load(cls, session: Session) -> Snapper:
        """The stored graph, with the settings' snap limit."""
        return cls(road_segments(session), limit_m=get_settings().traffic.snap_limit_m)

    def snap(self, lat: float, lon: float) -> tuple[int | None, rules.Snap]:
        """The segment id a point lies on (None when flagged) and the snap decision."""
        s = self.segments
        (found,) = rules.snap_points(
            np.array([lat * self.my]), np.array([lon * self.mx]),
            s.a_lat * self.my, s.a_lon * self.mx, s.b_lat * self.my, s.b_lon * self.mx,
            limit_m=self.limit_m,
        )  # fmt: skip
        return (int(s.edge_id[found.index]) if found.index is not None else None), found


@dataclass(frozen=True)
class NewAccident:
    """What `check_record_accident` and `do_record_accident` take."""

    accident: AccidentIn
    actor: Actor
    source_system: str | None = None
    source_id: str | None = None


@dataclass(frozen=True)
class CheckedAccident:
    """An accident that passed its checks: counts settled, plates protected."""

    deaths: int
    serious: int
    slight: int
    plates: list[Protected | None]


def check_record_accident(session: Session, item: NewAccident) -> CheckedAccident:
    """Authorise and validate: counts agree with the people, no more deaths than people, plates valid."""
    _authorise(item.actor, RECORDERS, "record accidents")
    a = item.accident
    if a.people:
        injuries = [p.injury for p in a.people]
        counted = {
            "deaths": injuries.count(Injury.KILLED),
            "serious_injuries": injuries.count(Injury.SERIOUS),
            "slight_injuries": injuries.count(Injury.SLIGHT),
        }
        for name, value in counted.items():
            given = getattr(a, name)
            if given is not None and given != value:
                raise Invalid(f"{given} given but the people listed show {value}", field=name)
        if a.people_count is not None and a.people_count != len(a.people):
            raise Invalid(f"{a.people_count} given but {len(a.people)} people listed", field="people_count")
        people = len(a.people)
        deaths, serious, slight = counted["deaths"], counted["serious_injuries"], counted["slight_injuries"]
        for k, p in enumerate(a.people):
            if p.vehicle_no is not None and p.vehicle_no > len(a.vehicles):
                raise Invalid(f"no vehicle {p.vehicle_no} in this record", field=f"people.{k}.vehicle_no")
    else:
        deaths, serious, slight = a.deaths or 0, a.serious_injuries or 0, a.slight_injuries or 0
        people = a.people_count if a.people_count is not None else deaths + serious + slight
    if deaths > people:
        raise Invalid(f"{deaths} deaths but {people} people in the accident", field="deaths")
    if deaths + serious + slight > people:
        raise Invalid(f"{deaths + serious + slight} casualties but {people} people", field="people_count")
    now = clock.now()
    if a.occurred_at > now:
        raise Invalid("the accident's time is in the future", field="occurred_at")
    for name in ("scene_investigated_at", "tests_reported_at", "finding_issued_at"):
        at = getattr(a, name)
        if at is not None and at < a.occurred_at:
            raise Invalid("before the accident", field=name)
    if a.tests_reported_at is not None and not a.tests_ordered:
        raise Invalid("test results given but no tests ordered", field="tests_reported_at")
    plates = [
        protect(PiiKind.PLATE, v.plate, field=f"vehicles.{k}.plate") if v.plate else None
        for k, v in enumerate(a.vehicles)
    ]
    return CheckedAccident(deaths, serious, slight, plates)


def do_record_accident(
    session: Session, item: NewAccident, checked: CheckedAccident, *, snapper: Snapper
) -> Accident:
    """Write the accident placed on its segment (or flagged), its vehicles and people; a major one
    gets its own audit entry, which the live map watches."""
    a = item.accident
    edge_id, snap = snapper.snap(a.lat, a.lon)
    severity = rules.severity_of(
        [Injury.KILLED] * checked.deaths
        + [Injury.SERIOUS] * checked.serious
        + [Injury.SLIGHT] * checked.slight
    )
    major = rules.is_major(checked.deaths, threshold=get_settings().traffic.major_deaths)
    accident = Accident(
        occurred_at=a.occurred_at,
        lat=a.lat,
        lon=a.lon,
        address=a.address,
        edge_id=edge_id,
        snap_m=snap.distance_m,
        snap_flag=snap.flag,
        collision=a.collision,
        severity=severity,
        weather=a.weather,
        lighting=a.lighting,
        surface=a.surface,
        causes=",".join(dict.fromkeys(c.value for c in a.causes)),
        deaths=checked.deaths,
        serious_injuries=checked.serious,
        slight_injuries=checked.slight,
        major=major,
        scene_investigated_at=a.scene_investigated_at,
        tests_ordered=a.tests_ordered,
        tests_reported_at=a.tests_reported_at,
        finding_issued_at=a.finding_issued_at,
        created_by=item.actor.username,
        source_system=item.source_system,
        source_id=item.source_id,
    )
    accident.vehicles = [
        AccidentVehicle(kind=v.kind, plate=plate) for v, plate in zip(a.vehicles, checked.plates, strict=True)
    ]
    accident.people = [
        AccidentPerson(role=p.role, injury=p.injury, vehicle_no=p.vehicle_no) for p in a.people
    ]
    session.add(accident)
    session.flush()
    audit.record(
        session,
        actor=item.actor,
        action="accident.record",
        object_type="traffic_accident",
        object_id=accident.id,
        detail={"severity": severity.value, "snap": snap.flag.value, "edge_id": edge_id},
    )
    if major:
        audit.record(
            session,
            actor=item.actor,
            action=MAJOR_ACTION,
            object_type="traffic_accident",
            object_id=accident.id,
            detail={"deaths": checked.deaths},
        )
    return accident


def check_add_countermeasure(session: Session, body: CountermeasureIn, *, actor: Actor, today: date) -> None:
    """Authorise; a countermeasure dated in the future, or on a segment the graph lacks, is refused."""
    _authorise(actor, RECORDERS, "record countermeasures")
    if body.installed_on > today:
        raise Invalid("the countermeasure is dated in the future", field="installed_on")
    if body.edge_id not in set(road_segments(session).edge_id.tolist()):
        raise Invalid(f"no road segment {body.edge_id}", field="edge_id")


def do_add_countermeasure(session: Session, body: CountermeasureIn, *, actor: Actor) -> Countermeasure:
    """Write the countermeasure, audited."""
    cm = Countermeasure(
        kind=body.kind,
        edge_id=body.edge_id,
        installed_on=body.installed_on,
        note=body.note,
        created_by=actor.username,
    )
    session.add(cm)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="countermeasure.add",
        object_type="traffic_countermeasure",
        object_id=cm.id,
    )
    return cm
