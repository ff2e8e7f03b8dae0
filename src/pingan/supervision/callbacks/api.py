"""110 call-backs over HTTP (`/api/v1/supervision/callbacks`): the weekly draw, the tasks, the outcome
of each call, a dissatisfied call turned into a complaint, and the month's figures."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import Invalid
from pingan.core.roles import Actor
from pingan.supervision.callbacks import actions, queries
from pingan.supervision.callbacks.choices import TaskState
from pingan.supervision.callbacks.model import CallbackDraw, CallbackTask
from pingan.supervision.callbacks.schemas import (
    DrawIn,
    DrawOut,
    FiguresOut,
    OutcomeIn,
    ShareOut,
    StationFiguresOut,
    TaskOut,
    ToComplaintIn,
)
from pingan.supervision.complaints.rules import Share

router = APIRouter(prefix="/api/v1/supervision/callbacks", tags=["callbacks"])
Drawer = Annotated[Actor, Depends(require_roles(*actions.DRAWERS))]
Caller = Annotated[Actor, Depends(require_roles(*actions.CALLERS))]
Escalator = Annotated[Actor, Depends(require_roles(*actions.ESCALATORS))]
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
TaskId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
MONTH = re.compile(r"^20\d{2}-(0[1-9]|1[0-2])$")  # the years 2000 to 2099


def draw_out(d: CallbackDraw) -> DrawOut:
    return DrawOut.model_validate(d, from_attributes=True)


def task_out(t: CallbackTask) -> TaskOut:
    return TaskOut.model_validate(t, from_attributes=True)


def share_out(s: Share) -> ShareOut:
    return ShareOut(count=s.successes, n=s.n, low=round(s.low, 4), high=round(s.high, 4))


@router.post("/draws", response_model=DrawOut, status_code=201)
def draw(body: DrawIn, session: DbSession, actor: Drawer) -> DrawOut:
    """Draw a week's sample of closed incidents (seeded, at the stated rate): 409 if drawn already."""
    now = clock.now()
    with session.begin():
        actions.check_draw(session, body, actor=actor, now=now)
        return draw_out(actions.do_draw(session, body, actor=actor, now=now))


@router.get("/draws", response_model=list[DrawOut])
def list_draws(session: DbSession, actor: Reader) -> list[DrawOut]:
    """The latest weekly draws with their rate, seed, population and sample size."""
    with session.begin():
        return [draw_out(d) for d in queries.draws(session)]


@router.get("", response_model=list[TaskOut])
def list_tasks(
    session: DbSession, actor: Reader, state: Annotated[TaskState | None, Query()] = None
) -> list[TaskOut]:
    """The call-back tasks in view, those to call first."""
    with session.begin():
        return [task_out(t) for t in queries.tasks(session, actor, state=state)]


@router.get("/figures", response_model=FiguresOut)
def figures(session: DbSession, actor: Reader, month: Annotated[str, Query(max_length=7)]) -> FiguresOut:
    """The month's call-back rate, reach rate and satisfaction, each with its base and interval."""
    if not MONTH.match(month):
        raise Invalid("give the month as YYYY-MM, between the years 2000 and 2099", field="month")
    with session.begin():
        m = queries.month_figures(session, month, actor=actor)
    f = m.figures
    return FiguresOut(
        month=m.month,
        weeks_drawn=m.weeks,
        eligible=f.eligible,
        drawn=f.drawn,
        callback_rate=share_out(f.callback_rate),
        reach_rate=share_out(f.reach_rate),
        satisfaction=share_out(f.satisfaction),
        by_station=[
            StationFiguresOut(
                station_code=s.station_code,
                drawn=s.figures.drawn,
                called=s.figures.called,
                reach_rate=share_out(s.figures.reach_rate),
                satisfaction=share_out(s.figures.satisfaction),
            )
            for s in m.by_station
        ],
    )


def _task(session: Session, task_id: int, actor: Actor) -> CallbackTask:
    return actions.get_task(session, task_id, actor=actor)


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: TaskId, session: DbSession, actor: Reader) -> TaskOut:
    """One call-back task, the caller's phone masked; the read is audited."""
    with session.begin():
        task = _task(session, task_id, actor)
        audit.record(
            session,
            actor=actor,
            action="supervision.callback_read",
            object_type="callback_task",
            object_id=task.id,
        )
        out = task_out(task)
        out.caller_phone_masked = actions.masked_phone(session, task)
    return out


@router.post("/{task_id}/outcome", response_model=TaskOut)
def record_outcome(task_id: TaskId, body: OutcomeIn, session: DbSession, actor: Caller) -> TaskOut:
    """Record the call-back's outcome: 409 if recorded already, 422 naming `at` if before the close."""
    now = clock.now()
    with session.begin():
        task = _task(session, task_id, actor)
        actions.check_outcome(task, body, actor=actor, now=now)
        return task_out(actions.do_outcome(session, task, body, actor=actor, now=now))


@router.post("/{task_id}/complaint", response_model=TaskOut, status_code=201)
def to_complaint(task_id: TaskId, body: ToComplaintIn, session: DbSession, actor: Escalator) -> TaskOut:
    """Turn a dissatisfied call-back into a complaint (channel `callback_110`, about the incident)."""
    now = clock.now()
    with session.begin():
        task = _task(session, task_id, actor)
        complaint, subject = actions.check_to_complaint(session, task, body, actor=actor, now=now)
        actions.do_to_complaint(session, task, complaint, subject, actor=actor, now=now)
        return task_out(task)
