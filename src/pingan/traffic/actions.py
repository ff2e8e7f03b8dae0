"""The only code that writes traffic data. `check_*` validates and authorises; `do_*` writes in the
caller's transaction and audits there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.command.queries import RoadSegments, road_segments
from pingan.command.roads import metres_per_degree
from pingan.core import audit, clock
from pingan.core.errors import Forbidden, Invalid
from pingan.core.pii import PiiKind, Protected, protect
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings
from pingan.traffic import rules
from pingan.traffic.choices import Injury, NoiseRefusal
from pingan.traffic.model import (
    Accident,
    AccidentPerson,
    AccidentVehicle,
    Campaign,
    Countermeasure,
    NoiseDeadLetter,
    NoiseReading,
    RacingEnforcement,
    RacingReport,
    Violation,
)
from pingan.traffic.schemas import (
    AccidentIn,
    CampaignIn,
    CountermeasureIn,
    EnforcementIn,
    RacingReportIn,
    ViolationIn,
)

# The traffic police brigade records accidents and countermeasures; the platform's feeds (an import,
# the simulator) act as the system. The command centre and supervisors read.
RECORDERS = frozenset({Role.TRAFFIC_POLICE, Role.SYSTEM})
READERS = frozenset({Role.TRAFFIC_POLICE, Role.DISPATCHER, Role.SUPERVISOR})
# A citizen's report of street racing reaches the platform through a dispatcher (110, 12345) or the
# brigade; the platform's feeds act as the system.
REPORT_TAKERS = frozenset({Role.TRAFFIC_POLICE, Role.DISPATCHER, Role.SYSTEM})
# The noise-level ingest acts as this.
NOISE_INGEST = Actor.system("traffic.noise")
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
    _known_segment(session, body.edge_id, "edge_id")


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


def _known_segment(session: Session, edge_id: int, field: str) -> None:
    if edge_id not in set(road_segments(session).edge_id.tolist()):
        raise Invalid(f"no road segment {edge_id}", field=field)


def _not_future(at: datetime, field: str) -> None:
    if at > clock.now():
        raise Invalid("in the future", field=field)


# ---------------------------------------------------------------- street racing and loud exhausts


def check_record_racing_report(session: Session, body: RacingReportIn, *, actor: Actor) -> None:
    """Authorise; a report of something that has not happened yet is refused."""
    _authorise(actor, REPORT_TAKERS, "take street-racing reports")
    _not_future(body.occurred_at, "occurred_at")


def do_record_racing_report(
    session: Session, body: RacingReportIn, *, actor: Actor, snapper: Snapper
) -> RacingReport:
    """Write the report on its road segment (none when far from any road: a grid cell places it), audited."""
    edge_id, _snap = snapper.snap(body.lat, body.lon)
    report = RacingReport(
        occurred_at=body.occurred_at,
        lat=body.lat,
        lon=body.lon,
        edge_id=edge_id,
        kind=body.kind,
        note=body.note,
        created_by=actor.username,
    )
    session.add(report)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="racing.report",
        object_type="traffic_racing_report",
        object_id=report.id,
        detail={"kind": body.kind.value, "edge_id": edge_id},
    )
    return report


@dataclass(frozen=True)
class NoiseIngested:
    """What the noise ingest made of one message: a reading kept, or refused (and why)."""

    accepted: bool
    detail: str
    refusal: NoiseRefusal | None = None
    reading_id: int | None = None


def do_noise_dead_letter(
    session: Session, *, topic: str, refused: rules.NoiseRefused, raw: bytes, now: datetime
) -> NoiseIngested:
    """Keep a refused noise message with its reason; one refused for media keeps no content at all."""
    keep = "" if refused.reason is NoiseRefusal.FORBIDDEN_MEDIA else raw[:1000].decode("utf-8", "replace")
    session.add(
        NoiseDeadLetter(
            received_at=now,
            topic=topic[:255],
            sensor=refused.sensor[:64],
            reason=refused.reason,
            detail=refused.detail[:255],
            excerpt=keep.replace("\x00", ""),
        )
    )
    return NoiseIngested(False, refused.detail, refusal=refused.reason)


def do_ingest_noise(
    session: Session, *, topic: str, raw: bytes, now: datetime, snapper: Snapper
) -> NoiseIngested:
    """Take one noise message: read it (audio or pictures refuse it whole), refuse a reading number the
    sensor has used already, place it on its segment, keep it. Caller holds the transaction."""
    read = rules.read_noise_message(topic, raw, root=get_settings().sensors.topic_root, now=now)
    if isinstance(read, rules.NoiseRefused):
        return do_noise_dead_letter(session, topic=topic, refused=read, raw=raw, now=now)
    taken = session.execute(
        select(NoiseReading.id).where(NoiseReading.sensor == read.sensor, NoiseReading.seq == read.seq)
    ).scalar_one_or_none()
    if taken is not None:
        refused = rules.NoiseRefused(NoiseRefusal.REPLAYED, f"seq {read.seq} already taken", read.sensor)
        return do_noise_dead_letter(session, topic=topic, refused=refused, raw=raw, now=now)
    edge_id, _snap = snapper.snap(read.lat, read.lon)
    reading = NoiseReading(
        sensor=read.sensor,
        seq=read.seq,
        measured_at=read.measured_at,
        lat=read.lat,
        lon=read.lon,
        edge_id=edge_id,
        laeq_db=read.laeq_db,
        lmax_db=read.lmax_db,
        window_s=read.window_s,
        received_at=now,
    )
    session.add(reading)
    session.flush()
    return NoiseIngested(True, "reading", reading_id=reading.id)


def check_record_enforcement(session: Session, body: EnforcementIn, *, actor: Actor) -> None:
    """Authorise; the segment must exist, the operation end after it starts and not in the future."""
    _authorise(actor, RECORDERS, "record enforcement results")
    if body.ended_at < body.started_at:
        raise Invalid("ends before it starts", field="ended_at")
    _not_future(body.ended_at, "ended_at")
    _known_segment(session, body.edge_id, "edge_id")


def do_record_enforcement(session: Session, body: EnforcementIn, *, actor: Actor) -> RacingEnforcement:
    """Write the operation's results, audited."""
    row = RacingEnforcement(
        edge_id=body.edge_id,
        started_at=body.started_at,
        ended_at=body.ended_at,
        stops=body.stops,
        vehicles_seized=body.vehicles_seized,
        cases=body.cases,
        note=body.note,
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="racing.enforcement",
        object_type="traffic_racing_enforcement",
        object_id=row.id,
        detail={"stops": body.stops, "seized": body.vehicles_seized, "cases": body.cases},
    )
    return row


# ------------------------------------------------------------------ violations and campaigns


def check_record_violation(session: Session, body: ViolationIn, *, actor: Actor) -> None:
    """Authorise; a violation in the future is refused."""
    _authorise(actor, RECORDERS, "record violations")
    _not_future(body.occurred_at, "occurred_at")


def do_record_violation(session: Session, body: ViolationIn, *, actor: Actor, snapper: Snapper) -> Violation:
    """Write the violation on its segment (none when far from any road), audited."""
    edge_id, _snap = snapper.snap(body.lat, body.lon)
    row = Violation(
        kind=body.kind,
        occurred_at=body.occurred_at,
        lat=body.lat,
        lon=body.lon,
        edge_id=edge_id,
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="violation.record",
        object_type="traffic_violation",
        object_id=row.id,
        detail={"kind": body.kind.value, "edge_id": edge_id},
    )
    return row


def check_add_campaign(session: Session, body: CampaignIn, *, actor: Actor, today: date) -> None:
    """Authorise; the period must run forwards and start no later than today; its segments must exist."""
    _authorise(actor, RECORDERS, "record campaigns")
    if body.ended_on < body.started_on:
        raise Invalid("ends before it starts", field="ended_on")
    if body.started_on > today:
        raise Invalid("the campaign starts in the future", field="started_on")
    known = set(road_segments(session).edge_id.tolist())
    for k, edge_id in enumerate(body.edges):
        if edge_id not in known:
            raise Invalid(f"no road segment {edge_id}", field=f"edges.{k}")


def do_add_campaign(session: Session, body: CampaignIn, *, actor: Actor) -> Campaign:
    """Write the campaign, audited."""
    row = Campaign(
        name=body.name,
        target=body.target,
        outcome=body.outcome,
        started_on=body.started_on,
        ended_on=body.ended_on,
        edges=",".join(str(e) for e in dict.fromkeys(body.edges)),
        note=body.note,
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor=actor, action="campaign.add", object_type="traffic_campaign", object_id=row.id
    )
    return row
