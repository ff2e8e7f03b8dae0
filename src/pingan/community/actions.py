"""The only code that writes mediation data. `check_*` validates and authorises; `do_*` writes in the
caller's transaction, audits there, and emits events that are delivered after commit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from pingan.command import actions as command_actions
from pingan.community import rules
from pingan.community.choices import (
    ClockState,
    DisputeStatus,
    DisputeType,
    EventKind,
    Grade,
    TaskKind,
)
from pingan.community.factors import table
from pingan.community.model import (
    ClockBreach,
    Dispute,
    DisputeEvent,
    DisputeGrade,
    DisputeLink,
    DisputeMediator,
    DisputeParty,
    StationTask,
)
from pingan.community.schemas import AgreementIn, DisputeIn, StepIn
from pingan.core import audit, clock, events
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.org import stations_by_code
from pingan.core.pii import PiiKind, Protected, Sealed, protect
from pingan.core.roles import Actor, Role
from pingan.core.scoping import check_station
from pingan.core.settings import get_settings

# Mediators are station officers; supervisors oversee; the simulator and imports act as the system.
MEDIATORS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.SYSTEM})
READERS = frozenset({Role.OFFICER, Role.SUPERVISOR})

EVENT_DISPUTE_TAKEN_IN = "community.dispute_taken_in"
EVENT_RED_GRADE = "community.red_grade"
# Repeats are looked for this far back (an assumption: a year, as grid work reviews its ledgers).
REPEAT_WINDOW = timedelta(days=365)
# A red grade's home visit is due within this many hours, and the art. 25 report within the same span.
RED_VISIT = timedelta(hours=4)
# Steps that need an agreement first, and steps of a domestic-violence case.
AFTER_AGREEMENT = frozenset({EventKind.FOLLOW_UP_VISIT, EventKind.CONFIRMATION_APPLIED})
DV_STEPS = frozenset(
    {EventKind.DV_WARNING_ISSUED, EventKind.PROTECTION_ORDER_APPLIED, EventKind.PROTECTION_ORDER_DECIDED}
)
STEPS = AFTER_AGREEMENT | DV_STEPS | {EventKind.FAILED, EventKind.ESCALATED, EventKind.RECOVERED}


def _authorise(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role.value} may not {what}")


def _event(
    session: Session, dispute: Dispute, kind: EventKind, *, at: datetime, actor: Actor, note: str = ""
) -> None:
    session.add(DisputeEvent(dispute=dispute, kind=kind, at=at, actor=actor.username, note=note))


@dataclass(frozen=True)
class PreparedParty:
    """A party with its identifiers protected, ready to store."""

    role: str
    name: Sealed
    phone: Protected | None
    national_id: Protected | None

    @property
    def keys(self) -> frozenset[str]:
        """The pseudonyms the repeat rule compares."""
        return frozenset(p.pseudonym for p in (self.phone, self.national_id) if p is not None)


@dataclass(frozen=True)
class Intake:
    """A checked intake: the request, when it was taken in, and its parties protected."""

    body: DisputeIn
    taken_in_at: datetime
    parties: tuple[PreparedParty, ...]


def check_take_in(session: Session, body: DisputeIn, actor: Actor) -> Intake:
    """A known station within the actor's view, a visible 110 incident, known earlier disputes, valid
    identifiers, one mediator per side, and an agreement that does not precede the intake."""
    _authorise(actor, MEDIATORS, "take in disputes")
    if not stations_by_code(session, {body.station_code}):
        raise Invalid(f"unknown station {body.station_code!r}", field="station_code")
    check_station(actor, body.station_code, what=f"station {body.station_code}")
    taken_in_at = body.taken_in_at or clock.now()
    if body.agreed_at is not None and body.agreed_at < taken_in_at:
        raise Invalid("the agreement date precedes the intake (taken_in_at)", field="agreed_at")
    if body.agreed_at is not None and not body.agreement_terms.strip():
        raise Invalid("an agreement needs its terms", field="agreement_terms")
    if body.agreement_terms.strip() and body.agreed_at is None:
        raise Invalid("terms belong to an agreement: give agreed_at", field="agreed_at")
    if body.incident_id is not None:
        try:
            command_actions.get_incident(session, body.incident_id, actor)
        except NotFound:
            raise Invalid(f"no 110 incident {body.incident_id}", field="incident_id") from None
    for i, earlier_id in enumerate(body.earlier_dispute_ids):
        found = session.get(Dispute, earlier_id)
        if found is None or not actor.sees_station(found.station_code):
            raise Invalid(f"no dispute {earlier_id}", field=f"earlier_dispute_ids.{i}")
    sides = [m.side for m in body.mediators]
    if len(set(sides)) != len(sides):
        raise Invalid("one mediator per side of 四方联动", field="mediators")
    if body.owed_fen and body.kind is not DisputeType.WAGE_ARREARS:
        raise Invalid("an amount owed belongs to a wage-arrears dispute", field="owed_fen")
    if body.kind is DisputeType.WAGE_ARREARS and not body.employer.strip():
        raise Invalid("a wage-arrears dispute names the employer", field="employer")
    parties = []
    for i, p in enumerate(body.parties):
        parties.append(
            PreparedParty(
                role=p.role.value,
                name=protect(PiiKind.NAME, p.name, field=f"parties.{i}.name").sealed,
                phone=protect(PiiKind.PHONE, p.phone, field=f"parties.{i}.phone") if p.phone else None,
                national_id=protect(PiiKind.NATIONAL_ID, p.national_id, field=f"parties.{i}.national_id")
                if p.national_id
                else None,
            )
        )
    return Intake(body, taken_in_at, tuple(parties))


def earlier_disputes(
    session: Session, *, keys: frozenset[str], address_key: str, before: datetime
) -> list[rules.Earlier]:
    """Disputes taken in within the repeat window before `before` that share a party key or the address."""
    conditions: list[ColumnElement[bool]] = []
    if keys:
        party_ids = select(DisputeParty.dispute_id).where(
            or_(DisputeParty.phone.pseudonym.in_(keys), DisputeParty.national_id.pseudonym.in_(keys))
        )
        conditions.append(Dispute.id.in_(party_ids))
    if address_key:
        conditions.append(Dispute.address_key == address_key)
    if not conditions:
        return []
    rows = session.execute(
        select(Dispute)
        .where(or_(*conditions), Dispute.taken_in_at >= before - REPEAT_WINDOW, Dispute.taken_in_at <= before)
        .options(selectinload(Dispute.parties))  # their keys below, in one more query rather than one each
    ).scalars()
    out = []
    for d in rows:
        pks = frozenset(
            p.pseudonym for party in d.parties for p in (party.phone, party.national_id) if p is not None
        )
        out.append(rules.Earlier(d.id, d.taken_in_at, pks, d.address_key))
    return out


def factor_inputs(body_risk: dict[str, object], repeat_count: int) -> dict[str, int]:
    """The grader's inputs: the mediator's answers and the computed repeat count."""
    out = {k: int(v) for k, v in body_risk.items() if isinstance(v, bool | int)}
    out["repeat_count"] = repeat_count
    return out


def _grade(
    session: Session, dispute: Dispute, inputs: dict[str, int], *, at: datetime, actor: Actor
) -> rules.RiskGrade:
    result = rules.grade(table(), inputs)
    dispute.grade, dispute.score = result.grade, result.score
    dispute.factor_inputs = json.dumps(inputs, sort_keys=True)
    session.add(
        DisputeGrade(
            dispute_id=dispute.id,
            at=at,
            grade=result.grade,
            score=result.score,
            version=result.version,
            contributions=json.dumps([[c.name, c.value, c.points] for c in result.contributions]),
            reasons=",".join(result.reasons)[:255],
        )
    )
    # The note is the grade; every factor's contribution is in the grade row.
    _event(session, dispute, EventKind.GRADED, at=at, actor=actor, note=result.grade.value)
    if result.grade is Grade.RED:
        for kind in (TaskKind.HOME_VISIT, TaskKind.ART25_NOTIFICATION):
            session.add(
                StationTask(
                    dispute_id=dispute.id,
                    station_code=dispute.station_code,
                    kind=kind,
                    created_at=at,
                    due_at=at + RED_VISIT,
                )
            )
            _event(session, dispute, EventKind.TASK_CREATED, at=at, actor=actor, note=kind.value)
        events.emit(session, EVENT_RED_GRADE, dispute_id=dispute.id, station_code=dispute.station_code)
    return result


def do_take_in(session: Session, intake: Intake, actor: Actor) -> Dispute:
    """Store a checked dispute: parties, mediators, links to earlier disputes (given and found), its
    grade with every factor, and a red grade's station tasks. Caller holds the transaction."""
    body, at = intake.body, intake.taken_in_at
    keys = frozenset().union(*(p.keys for p in intake.parties))
    addr = rules.address_key(body.address)
    repeats = rules.find_repeats(
        taken_in_at=at,
        party_keys=keys,
        address=body.address,
        earlier=earlier_disputes(session, keys=keys, address_key=addr, before=at),
        window=REPEAT_WINDOW,
    )
    closed = body.agreed_at is not None
    dispute = Dispute(
        kind=body.kind,
        status=DisputeStatus.AGREED if closed else DisputeStatus.OPEN,
        station_code=body.station_code,
        taken_in_at=at,
        summary=body.summary,
        address=body.address,
        address_key=addr[:255],
        incident_id=body.incident_id,
        domestic_violence=body.domestic_violence,
        grade=Grade.BLUE,
        repeat_count=len(repeats),
        closed_at=body.agreed_at,
        agreed_at=body.agreed_at,
        agreement_terms=body.agreement_terms,
        employer=body.employer.strip(),
        owed_fen=body.owed_fen,
        created_by=actor.username,
    )
    for p in intake.parties:
        dispute.parties.append(
            DisputeParty(role=p.role, name=p.name, phone=p.phone, national_id=p.national_id)
        )
    for m in body.mediators:
        dispute.mediators.append(DisputeMediator(side=m.side, name=m.name))
    session.add(dispute)
    session.flush()
    _event(session, dispute, EventKind.TAKEN_IN, at=at, actor=actor)
    linked = {r.dispute_id: ",".join(r.reasons) for r in repeats}
    for earlier_id in body.earlier_dispute_ids:
        linked.setdefault(earlier_id, "given")
    for earlier_id, why in sorted(linked.items()):
        session.add(DisputeLink(dispute_id=dispute.id, earlier_id=earlier_id, reasons=why))
        _event(session, dispute, EventKind.REPEAT_FOUND, at=at, actor=actor, note=str(earlier_id))
    result = _grade(session, dispute, factor_inputs(body.risk.model_dump(), len(repeats)), at=at, actor=actor)
    if closed:
        assert body.agreed_at is not None
        _event(session, dispute, EventKind.AGREED, at=body.agreed_at, actor=actor, note=body.agreement_terms)
    audit.record(
        session,
        actor=actor,
        action="dispute.take_in",
        object_type="dispute",
        object_id=dispute.id,
        detail={"kind": body.kind.value, "grade": result.grade.value, "repeats": len(repeats)},
    )
    events.emit(session, EVENT_DISPUTE_TAKEN_IN, dispute_id=dispute.id, grade=result.grade.value)
    return dispute


def get_dispute(session: Session, dispute_id: int, actor: Actor, *, for_update: bool = False) -> Dispute:
    """One dispute within `actor`'s view (another station's is NotFound)."""
    q = select(Dispute).where(Dispute.id == dispute_id)
    dispute = session.execute(q.with_for_update() if for_update else q).scalar_one_or_none()
    if dispute is None:
        raise NotFound(f"no dispute {dispute_id}", field="dispute_id")
    check_station(actor, dispute.station_code, what=f"dispute {dispute_id}")
    return dispute


def check_agree(dispute: Dispute, body: AgreementIn, actor: Actor) -> datetime:
    """An open dispute and an agreement that does not precede its intake; returns when it was agreed."""
    _authorise(actor, MEDIATORS, "record agreements")
    if dispute.status is not DisputeStatus.OPEN:
        raise Conflict(
            f"dispute {dispute.id} is {dispute.status.value}: nothing to agree", field="dispute_id"
        )
    at = body.agreed_at or clock.now()
    if at < dispute.taken_in_at:
        raise Invalid("the agreement date precedes the intake (taken_in_at)", field="agreed_at")
    if body.recovered_fen is not None and body.recovered_fen > dispute.owed_fen:
        raise Invalid("more recovered than owed", field="recovered_fen")
    return at


def do_agree(session: Session, dispute: Dispute, body: AgreementIn, actor: Actor, *, at: datetime) -> None:
    """Record the agreement and its terms: the mediation clock stops, follow-up and confirmation start."""
    dispute.status, dispute.agreed_at, dispute.closed_at = DisputeStatus.AGREED, at, at
    dispute.agreement_terms = body.terms
    _event(session, dispute, EventKind.AGREED, at=at, actor=actor, note=body.terms)
    if body.recovered_fen is not None:
        dispute.recovered_fen = body.recovered_fen
        _event(session, dispute, EventKind.RECOVERED, at=at, actor=actor)
    audit.record(session, actor=actor, action="dispute.agree", object_type="dispute", object_id=dispute.id)


def steps_offered(dispute: Dispute) -> list[EventKind]:
    """The steps a dispute's page offers: those of its kind (domestic-violence steps for a
    domestic-violence case, recoveries for wage arrears); `check_step` still decides each."""
    return [
        k
        for k in EventKind
        if k in STEPS
        and (k not in DV_STEPS or dispute.domestic_violence)
        and (k is not EventKind.RECOVERED or dispute.kind is DisputeType.WAGE_ARREARS)
    ]


def check_step(dispute: Dispute, body: StepIn, actor: Actor) -> datetime:
    """A step that applies to the dispute now, not before its intake; returns when it happened."""
    _authorise(actor, MEDIATORS, "record mediation steps")
    kind = body.kind
    if kind not in STEPS:
        raise Invalid(f"{kind.value} is not a step recorded here", field="kind")
    at = body.at or clock.now()
    if at < dispute.taken_in_at:
        raise Invalid("a step cannot precede the intake (taken_in_at)", field="at")
    if kind in AFTER_AGREEMENT:
        if dispute.agreed_at is None:
            raise Conflict(f"dispute {dispute.id} has no agreement yet", field="kind")
        if at < dispute.agreed_at:
            raise Invalid("this step cannot precede the agreement (agreed_at)", field="at")
    if kind in DV_STEPS and not dispute.domestic_violence:
        raise Conflict(f"dispute {dispute.id} is not a domestic-violence case", field="kind")
    if kind is EventKind.PROTECTION_ORDER_DECIDED:
        if dispute.protection_order_applied_at is None:
            raise Conflict("no protection order was applied for", field="kind")
        if at < dispute.protection_order_applied_at:
            raise Invalid("the decision cannot precede the application", field="at")
    # An agreed dispute may still escalate (民转刑 after a settlement); a failed one is done.
    ends = kind in (EventKind.FAILED, EventKind.ESCALATED) and dispute.status is not DisputeStatus.OPEN
    if ends and not (kind is EventKind.ESCALATED and dispute.status is DisputeStatus.AGREED):
        raise Conflict(f"dispute {dispute.id} is {dispute.status.value}", field="kind")
    if kind is EventKind.RECOVERED:
        if dispute.kind is not DisputeType.WAGE_ARREARS:
            raise Conflict("wages are recovered in a wage-arrears dispute", field="kind")
        if body.recovered_fen is None:
            raise Invalid("give the amount recovered", field="recovered_fen")
        if body.recovered_fen > dispute.owed_fen:
            raise Invalid("more recovered than owed", field="recovered_fen")
    done = {
        EventKind.FOLLOW_UP_VISIT: dispute.follow_up_at,
        EventKind.CONFIRMATION_APPLIED: dispute.confirmation_applied_at,
        EventKind.DV_WARNING_ISSUED: dispute.dv_warning_at,
        EventKind.PROTECTION_ORDER_APPLIED: dispute.protection_order_applied_at,
        EventKind.PROTECTION_ORDER_DECIDED: dispute.protection_order_decided_at,
    }
    if done.get(kind) is not None:
        raise Conflict(f"{kind.value} is recorded already", field="kind")
    return at


def do_step(session: Session, dispute: Dispute, body: StepIn, actor: Actor, *, at: datetime) -> None:
    """Record a checked step on the dispute and its timeline. Caller holds the transaction."""
    kind, note = body.kind, body.note
    if kind is EventKind.FOLLOW_UP_VISIT:
        dispute.follow_up_at = at
    elif kind is EventKind.CONFIRMATION_APPLIED:
        dispute.confirmation_applied_at = at
    elif kind is EventKind.DV_WARNING_ISSUED:
        dispute.dv_warning_at = at
    elif kind is EventKind.PROTECTION_ORDER_APPLIED:
        dispute.protection_order_applied_at, dispute.protection_order_urgent = at, body.urgent
    elif kind is EventKind.PROTECTION_ORDER_DECIDED:
        dispute.protection_order_decided_at = at
    elif kind is EventKind.FAILED:
        dispute.status, dispute.closed_at = DisputeStatus.FAILED, at
    elif kind is EventKind.ESCALATED:
        if dispute.status is DisputeStatus.OPEN:
            dispute.closed_at = at
        dispute.status = DisputeStatus.ESCALATED
    elif kind is EventKind.RECOVERED:
        assert body.recovered_fen is not None
        dispute.recovered_fen = body.recovered_fen
    _event(session, dispute, kind, at=at, actor=actor, note=note)
    audit.record(
        session, actor=actor, action=f"dispute.{kind.value}", object_type="dispute", object_id=dispute.id
    )


def times_of(d: Dispute) -> rules.DisputeTimes:
    """The moments of a dispute that the clock rule reads."""
    return rules.DisputeTimes(
        taken_in_at=d.taken_in_at,
        status=d.status,
        domestic_violence=d.domestic_violence,
        closed_at=d.closed_at,
        agreed_at=d.agreed_at,
        follow_up_at=d.follow_up_at,
        confirmation_applied_at=d.confirmation_applied_at,
        dv_warning_at=d.dv_warning_at,
        protection_order_applied_at=d.protection_order_applied_at,
        protection_order_urgent=d.protection_order_urgent,
        protection_order_decided_at=d.protection_order_decided_at,
    )


def clock_rules() -> rules.ClockRules:
    """The clocks' lengths as the settings give them (`PINGAN_COMMUNITY_*`)."""
    return rules.clock_rules(get_settings().community)


def clocks_of(d: Dispute, *, now: datetime) -> list[rules.Clock]:
    """The dispute's clocks now, with the lengths of the settings."""
    return rules.clocks(times_of(d), clock_rules(), now=now)


def do_sweep_breaches(session: Session, actor: Actor, *, now: datetime) -> int:
    """Record every breached clock not yet recorded (once per dispute and clock; never deleted).
    Returns how many were recorded. Caller holds the transaction."""
    recorded = {(b.dispute_id, b.clock) for b in session.execute(select(ClockBreach)).scalars()}
    count = 0
    for d in session.execute(select(Dispute).order_by(Dispute.id)).scalars():
        for c in clocks_of(d, now=now):
            if c.state is ClockState.BREACHED and (d.id, c.kind) not in recorded:
                session.add(ClockBreach(dispute_id=d.id, clock=c.kind, deadline=c.deadline, recorded_at=now))
                _event(session, d, EventKind.CLOCK_BREACHED, at=now, actor=actor, note=c.kind.value)
                count += 1
    if count:
        audit.record(
            session,
            actor=actor,
            action="dispute.breaches",
            object_type="dispute",
            object_id="sweep",
            detail={"recorded": count},
        )
    return count


def do_complete_task(session: Session, task: StationTask, actor: Actor) -> None:
    """Mark a station task done now."""
    _authorise(actor, MEDIATORS, "complete station tasks")
    if task.done_at is not None:
        raise Conflict(f"task {task.id} is done already", field="task_id")
    task.done_at = clock.now()
    audit.record(
        session, actor=actor, action="dispute.task_done", object_type="dispute_task", object_id=task.id
    )


def count_disputes(session: Session) -> int:
    """How many disputes are stored (the demo seed writes its year only into an empty table)."""
    return int(session.execute(select(func.count()).select_from(Dispute)).scalar_one())
