"""The only code that writes call-backs. `check_*` validates and authorises; `do_*` writes in the
caller's transaction and records its audit entry there.

Why here, in supervision, and not in command: the call-back asks the public about the police's work,
its figures are the supervision office's, and a dissatisfied call-back becomes a complaint through
the complaints' own intake (`complaints.actions.check_intake` / `do_intake`, channel
`callback_110`). Command sits below supervision and may not import it; this package reads the
closed incidents through `command.queries` and never their table.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.command import queries as command_queries
from pingan.core import audit
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.pii import PiiKind, decrypt
from pingan.core.roles import Actor, Role
from pingan.core.scoping import check_station
from pingan.supervision.callbacks import rules
from pingan.supervision.callbacks.choices import CallbackOutcome, TaskState
from pingan.supervision.callbacks.model import CallbackDraw, CallbackTask
from pingan.supervision.callbacks.schemas import DrawIn, OutcomeIn, ToComplaintIn
from pingan.supervision.complaints import actions as complaint_actions
from pingan.supervision.complaints.choices import Channel, SubjectKind
from pingan.supervision.complaints.schemas import ComplaintIn

# The week's sample is drawn by a supervisor or the legal-supervision office (or the weekly job).
DRAWERS = frozenset({Role.SUPERVISOR, Role.LEGAL_SUPERVISOR, Role.SYSTEM})
# The call-back is made by the command centre's desk or the supervision office, never by the station
# whose work it asks about: the caller speaks more freely to someone who did not handle the incident.
CALLERS = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.LEGAL_SUPERVISOR, Role.SYSTEM})
READERS = CALLERS | {Role.AUDITOR}
# Turning a dissatisfied call-back into a complaint is a complaint intake: its roles too.
ESCALATORS = CALLERS & complaint_actions.INTAKE_ROLES
FUTURE_SKEW = timedelta(minutes=5)


def _authorise(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role.value} may not {what}")


# --------------------------------------------------------------------------------------------- draw


def check_draw(session: Session, data: DrawIn, *, actor: Actor, now: datetime) -> None:
    """A supervisor draws a week that has ended, named by its Monday, once."""
    _authorise(actor, DRAWERS, "draw the call-back sample")
    week = data.week_start
    if week.weekday() != 0:
        raise Invalid(f"{week.isoformat()} is not a Monday: a week starts on a Monday", field="week_start")
    if not date(2000, 1, 3) <= week <= date(2099, 12, 28):
        raise Invalid("a week lies between the years 2000 and 2099", field="week_start")
    if rules.week_bounds(week)[1] > now:
        raise Invalid("the week has not ended: a week is drawn after its Sunday", field="week_start")
    if session.scalar(select(CallbackDraw.id).where(CallbackDraw.week_start == week)) is not None:
        raise Conflict(f"the week of {week.isoformat()} is drawn already", field="week_start")


def do_draw(session: Session, data: DrawIn, *, actor: Actor, now: datetime) -> CallbackDraw:
    """Draw the week's sample of closed incidents and make a call-back task of each.

    The sample is drawn from every reachable incident closed in the week, so that it can be drawn
    again from the same data; an incident called back already (closed again after a reopening) is
    then left out rather than called twice.
    """
    since, until = rules.week_bounds(data.week_start)
    closed = command_queries.closed_for_callback(session, since=since, until=until)
    sample = rules.draw_sample(
        {station: list(ids) for station, ids in closed.items()},
        week_start=data.week_start,
        rate=data.rate,
        seed=data.seed,
    )
    picked = [i for ids in sample.values() for i in ids]
    done = set(
        session.scalars(select(CallbackTask.incident_id).where(CallbackTask.incident_id.in_(picked)))
        if picked
        else ()
    )
    draw = CallbackDraw(
        week_start=data.week_start,
        rate=data.rate,
        seed=data.seed,
        eligible=sum(len(ids) for ids in closed.values()),
        drawn=0,
        drawn_by=actor.username,
        drawn_at=now,
    )
    session.add(draw)
    session.flush()
    for station, ids in sample.items():
        for incident_id in ids:
            if incident_id in done:
                continue
            session.add(
                CallbackTask(
                    draw_id=draw.id,
                    incident_id=incident_id,
                    station_code=station,
                    incident_closed_at=closed[station][incident_id],
                    state=TaskState.PENDING,
                    note="",
                )
            )
            draw.drawn += 1
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.callback_drawn",
        object_type="callback_draw",
        object_id=draw.id,
        detail={
            "week_start": data.week_start.isoformat(),
            "rate": data.rate,
            "seed": data.seed,
            "eligible": draw.eligible,
            "drawn": draw.drawn,
        },
    )
    return draw


# -------------------------------------------------------------------------------------------- tasks


def get_task(session: Session, task_id: int, *, actor: Actor) -> CallbackTask:
    """The task, if it exists and its station is in the reader's view (404 otherwise)."""
    task = session.get(CallbackTask, task_id)
    if task is None:
        raise NotFound(f"no call-back task {task_id}", field="id")
    check_station(actor, task.station_code, what=f"call-back task {task_id}")
    return task


def caller_phone(session: Session, task: CallbackTask) -> str | None:
    """The caller's phone in clear, to dial: the caller reads it, and the read is audited by the caller."""
    incident = command_queries.incident_detail(session, task.incident_id)
    if incident is None or incident.caller_phone is None:
        return None
    return decrypt(PiiKind.PHONE, incident.caller_phone.cipher)


def masked_phone(session: Session, task: CallbackTask) -> str | None:
    """The caller's phone as the lists show it, masked."""
    incident = command_queries.incident_detail(session, task.incident_id)
    return incident.caller_phone.masked if incident is not None and incident.caller_phone else None


def check_outcome(task: CallbackTask, data: OutcomeIn, *, actor: Actor, now: datetime) -> None:
    """A call-back is recorded once, by the call-back desk, after the incident closed and not ahead."""
    _authorise(actor, CALLERS, "record a call-back")
    if task.state is not TaskState.PENDING:
        raise Conflict("the call-back is recorded already", field="outcome")
    if data.at > now + FUTURE_SKEW:
        raise Invalid("is in the future", field="at")
    if data.at < task.incident_closed_at:
        raise Invalid(f"is before the incident closed ({task.incident_closed_at.isoformat()})", field="at")


def do_outcome(
    session: Session, task: CallbackTask, data: OutcomeIn, *, actor: Actor, now: datetime
) -> CallbackTask:
    """Record what the call-back found (reached or not, satisfied or not) and the note."""
    task.state = TaskState.DONE
    task.outcome = data.outcome
    task.note = data.note
    task.called_at = data.at
    task.called_by = actor.username
    task.recorded_at = now
    audit.record(
        session,
        actor=actor,
        action="supervision.callback_recorded",
        object_type="callback_task",
        object_id=task.id,
        detail={"incident_id": task.incident_id, "outcome": data.outcome.value, "at": data.at.isoformat()},
    )
    return task


def check_to_complaint(
    session: Session, task: CallbackTask, data: ToComplaintIn, *, actor: Actor, now: datetime
) -> tuple[ComplaintIn, complaint_actions.Subject]:
    """A dissatisfied call-back, not yet a complaint, becomes one through the complaint intake's own
    checks: the caller (phone from the incident, name from it or given) about the incident."""
    _authorise(actor, ESCALATORS, "turn a call-back into a complaint")
    if task.outcome is not CallbackOutcome.DISSATISFIED:
        raise Conflict("only a dissatisfied call-back becomes a complaint", field="outcome")
    if task.complaint_id is not None:
        raise Conflict(f"the call-back is complaint {task.complaint_id} already", field="complaint_id")
    assert task.called_at is not None  # a call-back with an outcome has its time
    incident = command_queries.incident_detail(session, task.incident_id)
    if incident is None or incident.caller_phone is None:
        raise Conflict("the incident's caller has no phone on record", field="incident_id")
    name = data.complainant_name
    if name is None and incident.caller_name is not None:
        name = decrypt(PiiKind.NAME, incident.caller_name.cipher)
    if not name:
        raise Invalid("the incident has no caller's name: give it", field="complainant_name")
    text = data.text or task.note.strip()
    if len(text) < 5:
        raise Invalid("say what the caller is dissatisfied with (5 characters at least)", field="text")
    body = ComplaintIn(
        channel=Channel.CALLBACK_110,
        received_at=task.called_at,
        external_ref=f"110-callback:{task.id}",
        complainant_name=name,
        complainant_phone=decrypt(PiiKind.PHONE, incident.caller_phone.cipher),
        subject_kind=SubjectKind.INCIDENT,
        subject_ref=str(task.incident_id),
        category=data.category,
        text=text,
    )
    subject = complaint_actions.check_intake(session, body, actor=actor, now=now)
    return body, subject


def do_to_complaint(
    session: Session,
    task: CallbackTask,
    body: ComplaintIn,
    subject: complaint_actions.Subject,
    *,
    actor: Actor,
    now: datetime,
) -> int:
    """Register the complaint through the complaint intake and link it to the call-back; its id."""
    complaint = complaint_actions.do_intake(session, body, subject, actor=actor, now=now)
    task.complaint_id = complaint.id
    audit.record(
        session,
        actor=actor,
        action="supervision.callback_to_complaint",
        object_type="callback_task",
        object_id=task.id,
        detail={"incident_id": task.incident_id, "complaint_id": complaint.id},
    )
    return complaint.id
