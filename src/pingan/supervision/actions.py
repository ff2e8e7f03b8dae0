"""The only code that writes supervision data. `check_*` validates and authorises; `do_*` writes in the
caller's transaction, audits there, and emits events that are delivered after commit.

Every write to a case re-evaluates it against the rule pack in force (`refresh_case`): its deadlines
are replaced, and any deadline newly breached is recorded as a breach, which is never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pingan.antifraud.reports import queries as report_queries
from pingan.command import queries as command_queries
from pingan.core import audit, events
from pingan.core.auth import User
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.org import stations_by_code
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor, Role
from pingan.core.schemas import MAX_ROW_ID
from pingan.core.scoping import check_station
from pingan.supervision import rules
from pingan.supervision.choices import CaseKind, CaseStatus, DeadlineStatus, EventKind
from pingan.supervision.model import (
    CaseBreach,
    CaseDeadline,
    CaseEventRow,
    CaseParty,
    DigestLineRow,
    SupervisionCase,
)
from pingan.supervision.pack import RulePack, in_force
from pingan.supervision.rules import BEIJING
from pingan.supervision.schemas import CaseIn, CloseIn, EventIn, ExplanationIn, PartyIn

# Case officers record their cases' steps; supervisors and the legal-supervision office may too.
CASE_WRITERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.LEGAL_SUPERVISOR, Role.SYSTEM})
CASE_READERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.LEGAL_SUPERVISOR, Role.AUDITOR})
# Who may sign an approval (审批): a supervisor or the legal-supervision office, never the requester.
APPROVER_ROLES = frozenset({Role.SUPERVISOR, Role.LEGAL_SUPERVISOR})
CASE_OFFICER_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR})
EXPLAINERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.LEGAL_SUPERVISOR})

EVENT_CASE_EVALUATED = "supervision.case_evaluated"
EVENT_BREACH_RECORDED = "supervision.breach_recorded"

# Measures that only the Criminal Procedure Law provides.
CRIMINAL_ONLY = frozenset(
    {
        EventKind.DETENTION,
        EventKind.ARREST_REQUESTED,
        EventKind.ARREST_DECIDED,
        EventKind.ARREST,
        EventKind.BAIL,
        EventKind.BAIL_ENDED,
        EventKind.RESIDENTIAL_SURVEILLANCE,
        EventKind.SURVEILLANCE_ENDED,
        EventKind.TRANSFER_FOR_PROSECUTION,
    }
)
ADMINISTRATIVE_ONLY = frozenset({EventKind.CASE_DECIDED})
# Steps about a person: they name the party.
PERSONAL = frozenset(
    {
        EventKind.SUMMONS,
        EventKind.QUESTIONING_STARTED,
        EventKind.QUESTIONING_ENDED,
        EventKind.DETENTION,
        EventKind.FAMILY_NOTIFIED,
        EventKind.ARREST_REQUESTED,
        EventKind.ARREST_DECIDED,
        EventKind.ARREST,
        EventKind.BAIL,
        EventKind.BAIL_ENDED,
        EventKind.RESIDENTIAL_SURVEILLANCE,
        EventKind.SURVEILLANCE_ENDED,
        EventKind.RELEASED,
    }
)
# Steps about a seized item: they name it.
PROPERTY = frozenset(
    {
        EventKind.SEIZURE,
        EventKind.PROPERTY_REGISTERED,
        EventKind.PROPERTY_FOUND_UNRELATED,
        EventKind.SEIZURE_LIFTED,
    }
)
# Measures the law has a superior approve before they are taken (detention, bail, surveillance,
# arrest request and seizure: 县级以上公安机关负责人批准), and every extension.
NEEDS_APPROVAL = frozenset(
    {
        EventKind.DETENTION,
        EventKind.ARREST_REQUESTED,
        EventKind.BAIL,
        EventKind.RESIDENTIAL_SURVEILLANCE,
        EventKind.SEIZURE,
        EventKind.EXTENSION,
    }
)
# Steps that belong to the case as a whole, recorded through their own actions.
NOT_RECORDED_DIRECTLY = frozenset({EventKind.CASE_OPENED, EventKind.CASE_CLOSED})
# How far ahead of the server's clock a step may be dated (clock skew of the recording device).
FUTURE_SKEW = timedelta(minutes=5)


def _authorise(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role.value} may not {what}")


def _user(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def subject_of(row: CaseEventRow) -> str:
    """Whom or what an event's clocks run for: a party, a seized item, or the case."""
    if row.party_id is not None:
        return f"party:{row.party_id}"
    if row.item:
        return f"item:{row.item}"
    return ""


def engine_event(row: CaseEventRow) -> rules.CaseEvent:
    """A stored step as the engine reads it."""
    return rules.CaseEvent(
        kind=row.kind,
        at=row.at,
        subject=subject_of(row),
        flags=frozenset(f for f in row.flags.split(",") if f),
        rule_id=row.rule_id,
        extension_id=row.extension_id,
        amount=row.amount,
        approved_by=row.approved_by,
        event_id=row.id,
    )


def known_flags(pack: RulePack) -> frozenset[str]:
    """The grounds the pack reads from a step (`complex`, `many_parties`, `roving_serial_gang`)."""
    flags: set[str] = set()
    for rule in pack.rules:
        if rule.trigger.when_flag:
            flags.add(rule.trigger.when_flag)
        flags.update(rule.trigger.unless_flags)
        flags.update(e.requires_flag for e in rule.extensions if e.requires_flag)
    return frozenset(flags)


# ------------------------------------------------------------------------------------------ cases


def check_open_case(session: Session, data: CaseIn, *, actor: Actor, now: datetime) -> None:
    """Refuse a case whose station, officer, supervisor or links do not check out, or whose number is taken."""
    _authorise(actor, CASE_WRITERS, "open a case")
    if data.station_code not in stations_by_code(session, {data.station_code}):
        raise Invalid(f"no station {data.station_code!r}", field="station_code")
    check_station(actor, data.station_code, what="station")
    if data.opened_at > now + FUTURE_SKEW:
        raise Invalid("a case cannot be opened in the future", field="opened_at")
    officer = _user(session, data.officer)
    if officer is None or not officer.active or officer.role not in CASE_OFFICER_ROLES:
        raise Invalid(f"{data.officer!r} is not an active officer", field="officer")
    boss = _user(session, data.supervisor)
    if boss is None or not boss.active or boss.role not in APPROVER_ROLES:
        raise Invalid(f"{data.supervisor!r} is not an active supervisor", field="supervisor")
    if data.supervisor == data.officer:
        raise Invalid("the case officer cannot be their own supervisor", field="supervisor")
    if session.execute(select(SupervisionCase.id).where(SupervisionCase.number == data.number)).first():
        raise Conflict(f"case number {data.number!r} is taken", field="number")
    if data.incident_id is not None and command_queries.incident_detail(session, data.incident_id) is None:
        raise Invalid(f"no 110 incident {data.incident_id}", field="incident_id")
    if data.fraud_report_id is not None and report_queries.find_report(session, data.fraud_report_id) is None:
        raise Invalid(f"no fraud report {data.fraud_report_id}", field="fraud_report_id")


def do_open_case(session: Session, data: CaseIn, *, actor: Actor, now: datetime) -> SupervisionCase:
    """Open the case with its `case_opened` step, and evaluate it. Caller holds the transaction."""
    case = SupervisionCase(
        number=data.number,
        kind=data.kind,
        title=data.title,
        station_code=data.station_code,
        officer=data.officer,
        supervisor=data.supervisor,
        opened_at=data.opened_at,
        status=CaseStatus.OPEN,
        incident_id=data.incident_id,
        fraud_report_id=data.fraud_report_id,
        created_by=actor.username,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseEventRow(
            case_id=case.id,
            kind=EventKind.CASE_OPENED,
            at=data.opened_at,
            requested_by=actor.username,
            recorded_at=now,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.case_opened",
        object_type="supervision_case",
        object_id=case.id,
        detail={"number": case.number, "kind": case.kind.value, "officer": case.officer},
    )
    refresh_case(session, case, now=now)
    return case


def get_case(session: Session, case_id: int, *, actor: Actor) -> SupervisionCase:
    """The case, if it exists and is within the actor's view (NotFound otherwise)."""
    case = session.get(SupervisionCase, case_id) if 1 <= case_id <= MAX_ROW_ID else None
    if case is None:
        raise NotFound("no case", field="id")
    check_station(actor, case.station_code, what="case")
    return case


def check_add_party(session: Session, case: SupervisionCase, data: PartyIn, *, actor: Actor) -> None:
    """Refuse a party on a closed case, or with a malformed ID number."""
    _authorise(actor, CASE_WRITERS, "add a party")
    if case.status is not CaseStatus.OPEN:
        raise Conflict("the case is closed", field="id")
    if data.national_id:
        protect(PiiKind.NATIONAL_ID, data.national_id, field="national_id")  # raises Invalid naming the field
    protect(PiiKind.NAME, data.name, field="name")


def do_add_party(
    session: Session, case: SupervisionCase, data: PartyIn, *, actor: Actor, now: datetime
) -> CaseParty:
    """Add a party, its name sealed and ID protected. Caller holds the transaction."""
    party = CaseParty(
        case_id=case.id,
        role=data.role,
        name=protect(PiiKind.NAME, data.name, field="name").sealed,
        national_id=protect(PiiKind.NATIONAL_ID, data.national_id, field="national_id")
        if data.national_id
        else None,
        added_by=actor.username,
        added_at=now,
    )
    session.add(party)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.party_added",
        object_type="supervision_case",
        object_id=case.id,
        detail={"party_id": party.id, "role": party.role.value},
    )
    return party


# ------------------------------------------------------------------------------------------ events


def check_event(
    session: Session,
    case: SupervisionCase,
    data: EventIn,
    *,
    actor: Actor,
    now: datetime,
    pack: RulePack | None = None,
) -> None:
    """Refuse recording directly a step that needs approval (403: it is requested, and recorded when
    its approver approves it, `approvals.do_decide`), and any step `check_step` refuses."""
    if data.kind in NEEDS_APPROVAL:
        # A measure whose approval is a name typed by the requester is no approval (县级以上公安机关负责人
        # 批准): the approver decides it in the queue, as another user, and that decision records it.
        what = "an extension" if data.kind is EventKind.EXTENSION else f"a {data.kind.value}"
        raise Forbidden(
            f"{what} is not recorded directly: it needs a superior's approval; send it to the approver "
            f"(POST /api/v1/supervision/cases/{case.id}/requests), and it is recorded when they approve it",
            field="kind",
        )
    check_step(session, case, data, actor=actor, now=now, approved_by=None, pack=pack)


def check_step(
    session: Session,
    case: SupervisionCase,
    data: EventIn,
    *,
    actor: Actor,
    now: datetime,
    approved_by: str | None,
    pack: RulePack | None = None,
) -> None:
    """Refuse a step that cannot be recorded as `actor`'s with `approved_by`'s approval, naming why:
    before the case opened, in the future, of the wrong procedure, without its person or item, without
    the approval it needs, approved by the one who requested it (403), or an extension the rule pack
    does not allow. Checked when a request is filed, and again when it is approved."""
    _authorise(actor, CASE_WRITERS, "record a step of a case")
    pack = pack or in_force()
    if case.status is not CaseStatus.OPEN:
        raise Conflict("the case is closed", field="id")
    if data.kind in NOT_RECORDED_DIRECTLY:
        raise Invalid(f"{data.kind.value} is recorded by opening or closing the case", field="kind")
    if data.at < case.opened_at:
        raise Invalid(
            f"a {data.kind.value} cannot start before its case was opened ({case.opened_at.isoformat()})",
            field="at",
        )
    if data.at > now + FUTURE_SKEW:
        raise Invalid("a step cannot be dated in the future", field="at")
    if case.kind is CaseKind.ADMINISTRATIVE and data.kind in CRIMINAL_ONLY:
        raise Invalid(
            f"{data.kind.value} is a criminal-procedure measure; this case is administrative", field="kind"
        )
    if case.kind is CaseKind.CRIMINAL and data.kind in ADMINISTRATIVE_ONLY:
        raise Invalid(f"{data.kind.value} belongs to administrative cases", field="kind")
    if data.kind in PERSONAL:
        if data.party_id is None:
            raise Invalid(f"a {data.kind.value} names the person it concerns", field="party_id")
        if not any(p.id == data.party_id for p in case.parties):
            raise Invalid(f"no party {data.party_id} in this case", field="party_id")
    elif data.party_id is not None and data.kind is not EventKind.EXTENSION:
        raise Invalid(f"a {data.kind.value} does not concern a person", field="party_id")
    if data.kind in PROPERTY and not data.item:
        raise Invalid(f"a {data.kind.value} names the seized item", field="item")
    unknown = set(data.flags) - known_flags(pack)
    if unknown:
        raise Invalid(f"unknown ground {sorted(unknown)[0]!r}", field="flags")
    if data.kind in NEEDS_APPROVAL and not approved_by:
        what = "an extension" if data.kind is EventKind.EXTENSION else f"a {data.kind.value}"
        raise Invalid(f"{what} needs the approval of a superior", field="approver")
    if approved_by:
        check_approver(session, approved_by, requester=actor.username, field="approver")
    if data.kind is EventKind.EXTENSION:
        _check_extension(case, data, approved_by=approved_by, pack=pack, now=now)


def check_approver(session: Session, approver: str, *, requester: str, field: str) -> None:
    """An approver is an active supervisor or legal-supervision officer other than the requester (403)."""
    if approver == requester:
        raise Forbidden("the officer who requests a measure cannot approve it (self-approval)", field=field)
    user = _user(session, approver)
    if user is None or not user.active or user.role not in APPROVER_ROLES:
        raise Invalid(f"{approver!r} is not an active supervisor", field=field)


def _check_extension(
    case: SupervisionCase, data: EventIn, *, approved_by: str | None, pack: RulePack, now: datetime
) -> None:
    if not data.rule_id or data.rule_id not in pack.by_id:
        raise Invalid(f"no rule {data.rule_id!r} in the pack", field="rule_id")
    rule = pack.by_id[data.rule_id]
    if not data.extension_id or rule.extension(data.extension_id) is None:
        raise Invalid(f"rule {rule.id} has no extension {data.extension_id!r}", field="extension_id")
    subject = f"party:{data.party_id}" if data.party_id else (f"item:{data.item}" if data.item else "")
    current = rules.evaluate(case.kind, [engine_event(e) for e in case.events], pack, at=data.at)
    running = [
        d for d in current.deadlines if d.rule.id == rule.id and d.subject == subject and d.met_at is None
    ]
    if not running:
        raise Invalid(f"no running deadline of {rule.id} to extend", field="rule_id")
    clock_ = running[-1]
    if data.at > clock_.due_at:
        raise Invalid("the deadline had already passed when the extension was approved", field="at")
    proposed = rules.CaseEvent(
        EventKind.EXTENSION,
        data.at,
        subject,
        frozenset(data.flags),
        rule_id=rule.id,
        extension_id=data.extension_id,
        amount=data.amount,
        approved_by=approved_by,
    )
    trigger_flags = next(
        (
            frozenset(f for f in e.flags.split(",") if f)
            for e in case.events
            if e.at == clock_.started_at and subject_of(e) == subject
        ),
        frozenset[str](),
    )
    why = rules.check_extension(rule, clock_.extensions, proposed, trigger_flags)
    if why is not None:
        raise Invalid(why, field="extension_id")


def do_record_event(
    session: Session,
    case: SupervisionCase,
    data: EventIn,
    *,
    actor: Actor,
    now: datetime,
    requested_by: str | None = None,
    approved_by: str | None = None,
) -> CaseEventRow:
    """Append the step to the case's log and re-evaluate the case. Caller holds the transaction.
    When the actor records it by approving a request, `requested_by` names the requester and
    `approved_by` the approver (the actor)."""
    row = CaseEventRow(
        case_id=case.id,
        kind=data.kind,
        at=data.at,
        party_id=data.party_id,
        item=data.item,
        flags=",".join(sorted(set(data.flags))),
        rule_id=data.rule_id,
        extension_id=data.extension_id,
        amount=data.amount,
        requested_by=requested_by or actor.username,
        approved_by=approved_by,
        note=data.note,
        recorded_at=now,
    )
    case.events.append(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.event_recorded",
        object_type="supervision_case",
        object_id=case.id,
        detail={
            "event_id": row.id,
            "kind": row.kind.value,
            "at": row.at.isoformat(),
            "approved_by": row.approved_by,
        },
    )
    refresh_case(session, case, now=now)
    return row


def check_close_case(case: SupervisionCase, data: CloseIn, *, actor: Actor, now: datetime) -> None:
    """Refuse closing a closed case, or closing it before it opened or in the future."""
    _authorise(actor, CASE_WRITERS, "close a case")
    if case.status is not CaseStatus.OPEN:
        raise Conflict("the case is already closed", field="id")
    if data.at < case.opened_at:
        raise Invalid("a case cannot close before it opened", field="at")
    if data.at > now + FUTURE_SKEW:
        raise Invalid("a case cannot be closed in the future", field="at")


def do_close_case(
    session: Session, case: SupervisionCase, data: CloseIn, *, actor: Actor, now: datetime
) -> None:
    """Close the case with its `case_closed` step and re-evaluate it. Caller holds the transaction."""
    case.events.append(
        CaseEventRow(
            case_id=case.id,
            kind=EventKind.CASE_CLOSED,
            at=data.at,
            requested_by=actor.username,
            note=data.note,
            recorded_at=now,
        )
    )
    case.status = CaseStatus.CLOSED
    case.closed_at = data.at
    case.closure_note = data.note
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.case_closed",
        object_type="supervision_case",
        object_id=case.id,
        detail={"at": data.at.isoformat()},
    )
    refresh_case(session, case, now=now)


# ------------------------------------------------------------------------------------------ evaluation


def refresh_case(
    session: Session, case: SupervisionCase, *, now: datetime, pack: RulePack | None = None
) -> rules.Evaluation:
    """Evaluate the case at `now`: replace its deadlines, record new breaches and late steps of old ones."""
    pack = pack or in_force()
    result = rules.evaluate(case.kind, [engine_event(e) for e in case.events], pack, at=now)
    session.execute(delete(CaseDeadline).where(CaseDeadline.case_id == case.id))
    session.add_all(
        CaseDeadline(
            case_id=case.id,
            rule_id=d.rule.id,
            subject=d.subject,
            started_at=d.started_at,
            due_at=d.due_at,
            warn_from=d.warn_from,
            met_at=d.met_at,
            status=d.status,
            severity=d.rule.severity,
            extensions=",".join(d.extensions),
            reasons="\n".join(d.reasons),
        )
        for d in result.deadlines
    )
    _record_breaches(session, case, result.breaches, now=now)
    case.pack_version = pack.version
    events.emit(session, EVENT_CASE_EVALUATED, case_id=case.id, warnings=len(result.warnings))
    return result


def _record_breaches(
    session: Session, case: SupervisionCase, breaches: Sequence[rules.Deadline], *, now: datetime
) -> None:
    if not breaches:
        return
    known = {
        (b.rule_id, b.subject, b.started_at): b
        for b in session.execute(select(CaseBreach).where(CaseBreach.case_id == case.id)).scalars()
    }
    for d in breaches:
        old = known.get(d.key)
        if old is not None:
            if old.met_at is None and d.met_at is not None:
                old.met_at = d.met_at  # the late step came: noted, the breach stays
            continue
        breach = CaseBreach(
            case_id=case.id,
            rule_id=d.rule.id,
            subject=d.subject,
            started_at=d.started_at,
            due_at=d.due_at,
            severity=d.rule.severity,
            recorded_at=now,
            met_at=d.met_at,
            reasons="\n".join(d.reasons),
        )
        session.add(breach)
        session.flush()
        audit.record(
            session,
            actor=Actor.system("supervision"),
            action="supervision.breach_recorded",
            object_type="supervision_breach",
            object_id=breach.id,
            detail={"case_id": case.id, "rule_id": d.rule.id, "due_at": d.due_at.isoformat()},
        )
        events.emit(session, EVENT_BREACH_RECORDED, case_id=case.id, breach_id=breach.id, rule_id=d.rule.id)


def cases_to_sweep(session: Session, *, now: datetime) -> list[int]:
    """Open cases with a deadline that has passed unmet and is not yet recorded as a breach."""
    passed = (
        select(CaseDeadline.case_id)
        .join(SupervisionCase, SupervisionCase.id == CaseDeadline.case_id)
        .outerjoin(
            CaseBreach,
            (CaseBreach.case_id == CaseDeadline.case_id)
            & (CaseBreach.rule_id == CaseDeadline.rule_id)
            & (CaseBreach.subject == CaseDeadline.subject)
            & (CaseBreach.started_at == CaseDeadline.started_at),
        )
        .where(CaseDeadline.met_at.is_(None), CaseDeadline.due_at < now, CaseBreach.id.is_(None))
        .distinct()
    )
    return sorted(int(i) for i in session.execute(passed).scalars())


def do_sweep(session: Session, case_ids: Iterable[int], *, now: datetime) -> int:
    """Re-evaluate the given cases at `now`, recording the breaches time alone has brought. Caller holds the transaction."""
    n = 0
    for case_id in case_ids:
        case = session.get(SupervisionCase, case_id)
        if case is not None:
            refresh_case(session, case, now=now)
            n += 1
    return n


# ------------------------------------------------------------------------------------------- digest


class DigestItem(Protocol):
    """What a digest line carries (`queries.DigestLine`)."""

    @property
    def case_id(self) -> int: ...
    @property
    def case_number(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def status(self) -> DeadlineStatus: ...


@dataclass(frozen=True)
class DigestSent:
    """What the day's digest run did: the lines it sent, or that the day's digest had been sent."""

    day: date
    recipients: int
    lines: int
    already_sent: bool


def do_send_digest(
    session: Session, lines: Mapping[str, Sequence[DigestItem]], *, now: datetime, actor: Actor
) -> DigestSent:
    """Send the day's digest (the day in Beijing time): each recipient's lines stored for them to read
    in pingan, audited once. A day's digest is sent once: a second run that day stores nothing and
    says so. Caller holds the transaction."""
    day = now.astimezone(BEIJING).date()
    if session.execute(select(DigestLineRow.id).where(DigestLineRow.day == day).limit(1)).first():
        return DigestSent(day, 0, 0, already_sent=True)
    for recipient, items in lines.items():
        for i in items:
            session.add(
                DigestLineRow(
                    day=day,
                    recipient=recipient,
                    sent_at=now,
                    case_id=i.case_id,
                    case_number=i.case_number,
                    rule_id=i.rule_id,
                    subject=i.subject,
                    due_at=i.due_at,
                    status=i.status,
                )
            )
    count = sum(len(v) for v in lines.values())
    audit.record(
        session,
        actor=actor,
        action="supervision.digest_sent",
        object_type="supervision_digest",
        object_id=day.isoformat(),
        detail={"recipients": len(lines), "lines": count},
    )
    return DigestSent(day, len(lines), count, already_sent=False)


# ------------------------------------------------------------------------------------------ breaches


def check_explain(session: Session, breach: CaseBreach, case: SupervisionCase, *, actor: Actor) -> None:
    """Only the case officer, their supervisor or the legal-supervision office explain, and only once."""
    _authorise(actor, EXPLAINERS, "explain a breach")
    if actor.role is Role.OFFICER and actor.username != case.officer:
        raise Forbidden("only the case officer explains a breach of their case", field="id")
    if breach.explanation is not None:
        raise Conflict("the breach is already explained; the explanation stands as audited", field="id")


def do_explain(
    session: Session, breach: CaseBreach, data: ExplanationIn, *, actor: Actor, now: datetime
) -> None:
    """Write the explanation beside the breach, with its audit entry. Caller holds the transaction."""
    breach.explanation = data.text
    breach.explained_by = actor.username
    breach.explained_at = now
    audit.record(
        session,
        actor=actor,
        action="supervision.breach_explained",
        object_type="supervision_breach",
        object_id=breach.id,
        detail={"case_id": breach.case_id, "rule_id": breach.rule_id, "explanation": data.text},
    )


def status_now(d: CaseDeadline, now: datetime) -> DeadlineStatus:
    """A stored deadline's standing at `now` (it moves with the clock between evaluations)."""
    if d.met_at is not None:
        return DeadlineStatus.MET if d.met_at <= d.due_at else DeadlineStatus.BREACHED
    if now > d.due_at:
        return DeadlineStatus.BREACHED
    return DeadlineStatus.WARNING if now >= d.warn_from else DeadlineStatus.RUNNING
