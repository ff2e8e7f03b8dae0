"""Writes of home-visit tasks: open, accept, record the outcome, flag overdue ones to the supervisor."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.risk.choices import StepChannel, StepState
from pingan.antifraud.warnings import risk_link, rules
from pingan.antifraud.warnings.choices import AlertKind
from pingan.antifraud.warnings.model import WarningAlert, WarningDelivery
from pingan.antifraud.warnings.visits.choices import VisitKind, VisitOutcome, VisitState
from pingan.antifraud.warnings.visits.model import HomeVisitTask
from pingan.core import audit, clock, events
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.roles import Actor, Role
from pingan.core.scoping import check_station

EVENT_VISIT_OPENED = "warnings.visit_opened"
EVENT_VISIT_OVERDUE = "warnings.visit_overdue"


def get_task(session: Session, task_id: int, *, actor: Actor | None = None) -> HomeVisitTask:
    """The task with `task_id`, or NotFound; with `actor`, NotFound too when the task is of a
    station outside the actor's view (an officer does not learn that it exists)."""
    task = session.get(HomeVisitTask, task_id)
    if task is None:
        raise NotFound(f"no home-visit task {task_id}")
    if actor is not None:
        check_station(actor, task.station_code, what=f"home-visit task {task_id}")
    return task


def do_open_visit(
    session: Session,
    delivery: WarningDelivery,
    *,
    kind: VisitKind,
    reasons: Sequence[str],
    actor: Actor,
    report_id: int | None = None,
) -> HomeVisitTask:
    """Open a task for the person's home station, due by the kind's deadline; a report-intake task may
    name the report awaiting the officer's confirmation. Caller holds the transaction."""
    now = clock.now()
    task = HomeVisitTask(
        delivery_id=delivery.id,
        plan_id=delivery.plan_id,
        kind=kind,
        station_code=delivery.home_station_code,
        person_pseudonym=delivery.person_pseudonym,
        typology=delivery.typology,
        amount_fen=delivery.amount_fen,
        elderly=delivery.elderly,
        reasons=json.dumps(list(reasons), ensure_ascii=False),
        created_at=now,
        deadline_at=rules.visit_deadline(kind, created_at=now),
        state=VisitState.OPEN,
        report_id=report_id,
    )
    session.add(task)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="warning.visit.open",
        object_type="home_visit_task",
        object_id=task.id,
        detail={
            "plan_id": delivery.plan_id,
            "kind": kind.value,
            "station": task.station_code,
            "reasons": list(reasons),
            "report_id": report_id,
        },
    )
    events.emit(session, EVENT_VISIT_OPENED, task_id=task.id, station_code=task.station_code, kind=kind.value)
    return task


# Who takes home visits: station officers, and their supervisors.
VISIT_STAFF = frozenset({Role.OFFICER, Role.SUPERVISOR})


def check_accept(task: HomeVisitTask, *, actor: Actor) -> None:
    """Only an open task can be accepted, by an officer or supervisor."""
    if actor.role not in VISIT_STAFF:
        raise Forbidden("only officers and supervisors accept home visits")
    if task.state is not VisitState.OPEN:
        raise Conflict(f"task {task.id} is {task.state.value}, not open", field="state")


def do_accept(session: Session, task: HomeVisitTask, *, actor: Actor) -> HomeVisitTask:
    """Record that `actor` takes the task. Caller holds the transaction and ran `check_accept`."""
    task.state = VisitState.ACCEPTED
    task.accepted_by = actor.username
    task.accepted_at = clock.now()
    audit.record(
        session, actor=actor, action="warning.visit.accept", object_type="home_visit_task", object_id=task.id
    )
    return task


def check_outcome(task: HomeVisitTask, *, outcome: str, actor: Actor) -> VisitOutcome:
    """The outcome is one of dissuaded, already_paid, not_reachable, recorded on an accepted task by its officer."""
    try:
        value = VisitOutcome(outcome)
    except ValueError:
        raise Invalid(
            f"outcome must be one of {', '.join(o.value for o in VisitOutcome)}", field="outcome"
        ) from None
    if task.state is not VisitState.ACCEPTED:
        raise Conflict(f"task {task.id} is {task.state.value}; accept it first", field="state")
    if actor.username != task.accepted_by and actor.role is not Role.SUPERVISOR:
        raise Forbidden("only the officer who accepted the task, or a supervisor, records its outcome")
    return value


def do_record_outcome(
    session: Session, task: HomeVisitTask, *, outcome: VisitOutcome, note: str, actor: Actor
) -> HomeVisitTask:
    """Close the task with its outcome; an overdue alert on it is closed too. Caller holds the transaction."""
    now = clock.now()
    task.state = VisitState.DONE
    task.outcome = outcome
    task.outcome_note = note[:2000]
    task.done_at = now
    if task.overdue_alert_id is not None:
        alert = session.get(WarningAlert, task.overdue_alert_id)
        if alert is not None and alert.closed_at is None:
            alert.closed_at = now
    audit.record(
        session,
        actor=actor,
        action="warning.visit.outcome",
        object_type="home_visit_task",
        object_id=task.id,
        detail={"outcome": outcome.value, "on_time": now <= task.deadline_at},
    )
    delivery = session.get(WarningDelivery, task.delivery_id)
    if task.kind is VisitKind.DISSUASION and delivery is not None:
        # The person was seen (dissuaded, or found to have paid already): the visit is done; not found: failed.
        state = StepState.FAILED if outcome is VisitOutcome.NOT_REACHABLE else StepState.DONE
        risk_link.do_report_step(
            session,
            delivery,
            StepChannel.HOME_VISIT,
            state,
            actor=actor,
            detail={"task_id": task.id, "outcome": outcome.value},
        )
    return task


def do_flag_overdue(session: Session, *, actor: Actor) -> list[HomeVisitTask]:
    """Raise an alert to the station's supervisor for every task past its deadline and not done."""
    now = clock.now()
    flagged = []
    rows = session.execute(
        select(HomeVisitTask).where(
            HomeVisitTask.state != VisitState.DONE,
            HomeVisitTask.overdue_alert_id.is_(None),
            HomeVisitTask.deadline_at < now,
        )
    ).scalars()
    for task in rows:
        if not rules.visit_overdue(deadline_at=task.deadline_at, done=False, now=now):
            continue
        alert = WarningAlert(
            kind=AlertKind.VISIT_OVERDUE,
            subject=f"visit:{task.id}",
            station_code=task.station_code,
            opened_at=now,
            detail=f"home visit {task.id} ({task.kind.value}) was due {task.deadline_at:%Y-%m-%d %H:%M} UTC",
        )
        session.add(alert)
        session.flush()
        task.overdue_alert_id = alert.id
        audit.record(
            session,
            actor=actor,
            action="warning.visit.overdue",
            object_type="home_visit_task",
            object_id=task.id,
            detail={"station": task.station_code, "alert_id": alert.id},
        )
        events.emit(
            session, EVENT_VISIT_OVERDUE, task_id=task.id, station_code=task.station_code, alert_id=alert.id
        )
        flagged.append(task)
    return flagged
