"""Pages of 110 call-backs: the tasks with the week's draw form and the month's figures, and one task
with the caller's phone to dial (the read audited), the outcome form and, for a dissatisfied caller,
the form that registers the complaint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pingan.core import audit, clock, listing
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.errors import DomainError, Invalid
from pingan.core.pages import form_refusal, form_time, page_message, render, run_form
from pingan.core.roles import Actor
from pingan.supervision.callbacks import actions, queries, rules
from pingan.supervision.callbacks.choices import CallbackOutcome, TaskState
from pingan.supervision.callbacks.schemas import DrawIn, OutcomeIn, ToComplaintIn
from pingan.supervision.complaints import actions as complaint_actions
from pingan.supervision.rules import BEIJING

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Drawer = Annotated[Actor, Depends(require_roles(*actions.DRAWERS))]
Caller = Annotated[Actor, Depends(require_roles(*actions.CALLERS))]
Escalator = Annotated[Actor, Depends(require_roles(*actions.ESCALATORS))]
Text = Annotated[str, Form(max_length=8000)]


def _month(raw: str) -> str:
    m = raw or clock.now().astimezone(BEIJING).strftime("%Y-%m")
    if len(m) != 7 or not m[:4].isdigit() or m[4] != "-" or not m[5:].isdigit() or not 1 <= int(m[5:]) <= 12:
        raise Invalid("give the month as YYYY-MM", field="month")
    if not 2000 <= int(m[:4]) <= 2099:
        raise Invalid("a month lies between the years 2000 and 2099", field="month")
    return m


def _list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    state: str = "",
    month: str = "",
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    m = clock.now().astimezone(BEIJING).strftime("%Y-%m")
    try:
        chosen = listing.enum_filter(state, TaskState, "state")
        m = _month(month)
    except DomainError as exc:
        chosen, status, error = None, exc.status, page_message(exc)
    with session.begin():
        rows = queries.tasks(session, actor, state=chosen)
        figures = queries.month_figures(session, m, actor=actor)
        page = render(
            request,
            "callbacks_list.html",
            status,
            rows=rows,
            draws=queries.draws(session),
            figures=figures,
            month=m,
            states=list(TaskState),
            chosen=state,
            may_draw=actor.role in actions.DRAWERS,
            default_rate=rules.DEFAULT_RATE,
            default_seed=rules.DEFAULT_SEED,
            error=error,
        )
    return page


@router.get("/callbacks", response_class=HTMLResponse)
def list_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    state: Annotated[str, Query(max_length=10)] = "",
    month: Annotated[str, Query(max_length=7)] = "",
) -> HTMLResponse:
    """The call-back tasks (those to call first), the weekly draws and the month's figures."""
    return _list_page(request, session, actor, state=state, month=month)


@router.post("/callbacks/draws", response_class=HTMLResponse, response_model=None)
def draw_form(
    request: Request,
    session: DbSession,
    actor: Drawer,
    _csrf: CsrfChecked,
    week_start: Annotated[str, Form(max_length=10)],
    rate: Annotated[str, Form(max_length=10)] = "",
    seed: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse | RedirectResponse:
    """Draw a week's sample from the form; a refusal shows the page again with why."""
    now = clock.now()
    try:
        try:
            week = date.fromisoformat(week_start)
        except ValueError:
            raise Invalid("a week is named by its Monday, written YYYY-MM-DD", field="week_start") from None
        data = DrawIn(
            week_start=week,
            rate=float(rate) if rate else rules.DEFAULT_RATE,
            seed=int(seed) if seed else rules.DEFAULT_SEED,
        )
        with session.begin():
            actions.check_draw(session, data, actor=actor, now=now)
            actions.do_draw(session, data, actor=actor, now=now)
    except DomainError as exc:
        session.rollback()
        return _list_page(request, session, actor, status=exc.status, error=page_message(exc))
    except ValidationError as exc:
        session.rollback()
        return _list_page(request, session, actor, status=422, error=form_refusal(exc))
    except ValueError:
        session.rollback()
        return _list_page(request, session, actor, status=422, error="rate, seed: a number is expected")
    return RedirectResponse("/callbacks", status_code=303)


def _task_page(
    request: Request,
    session: Session,
    actor: Actor,
    task_id: int,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    if not 1 <= task_id <= MAX_ROW_ID:
        raise Invalid("no such task", field="task_id")
    with session.begin():
        task = actions.get_task(session, task_id, actor=actor)
        # The call-back desk dials the caller: the phone is shown in clear to it, and the read audited.
        phone = actions.caller_phone(session, task) if actor.role in actions.CALLERS else None
        audit.record(
            session,
            actor=actor,
            action="supervision.callback_read",
            object_type="callback_task",
            object_id=task.id,
            detail={"phone_revealed": phone is not None},
        )
        page = render(
            request,
            "callback_task.html",
            status,
            t=task,
            phone=phone,
            masked=actions.masked_phone(session, task),
            outcomes=list(CallbackOutcome),
            may_call=actor.role in actions.CALLERS,
            may_escalate=actor.role in actions.ESCALATORS,
            reads_complaints=actor.role in complaint_actions.READERS,
            categories=complaint_actions.categories(),
            error=error,
        )
    return page


@router.get("/callbacks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: int, session: DbSession, actor: Reader) -> HTMLResponse:
    """One call-back task: the incident, the caller's phone to dial, and the forms."""
    return _task_page(request, session, actor, task_id)


def _on_form(
    request: Request, session: Session, actor: Actor, task_id: int, write: Callable[[datetime], None]
) -> HTMLResponse | RedirectResponse:
    """Run one form on the page in one transaction; a refusal shows the page again with why."""
    return run_form(
        session,
        write,
        done=f"/callbacks/{task_id}",
        again=lambda status, why: _task_page(request, session, actor, task_id, status=status, error=why),
    )


@router.post("/callbacks/{task_id}/outcome", response_class=HTMLResponse, response_model=None)
def outcome_form(
    request: Request,
    task_id: int,
    session: DbSession,
    actor: Caller,
    _csrf: CsrfChecked,
    at: Annotated[str, Form(max_length=40)],
    outcome: Annotated[str, Form(max_length=16)],
    note: Text = "",
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        chosen = listing.enum_filter(outcome, CallbackOutcome, "outcome")
        if chosen is None:
            raise Invalid("choose what the call-back found", field="outcome")
        data = OutcomeIn(outcome=chosen, at=form_time(at, "at"), note=note)
        task = actions.get_task(session, task_id, actor=actor)
        actions.check_outcome(task, data, actor=actor, now=now)
        actions.do_outcome(session, task, data, actor=actor, now=now)

    return _on_form(request, session, actor, task_id, write)


@router.post("/callbacks/{task_id}/complaint", response_class=HTMLResponse, response_model=None)
def complaint_form(
    request: Request,
    task_id: int,
    session: DbSession,
    actor: Escalator,
    _csrf: CsrfChecked,
    complainant_name: Annotated[str, Form(max_length=64)] = "",
    text: Text = "",
    category: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse | RedirectResponse:
    def write(now: datetime) -> None:
        data = ToComplaintIn(complainant_name=complainant_name or None, text=text or None, category=category)
        task = actions.get_task(session, task_id, actor=actor)
        body, subject = actions.check_to_complaint(session, task, data, actor=actor, now=now)
        actions.do_to_complaint(session, task, body, subject, actor=actor, now=now)

    return _on_form(request, session, actor, task_id, write)
