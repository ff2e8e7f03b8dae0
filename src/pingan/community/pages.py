"""Pages of community mediation: the mediator's queue (/community), a dispute with its timeline, grade
and factors, the factor table, the wage-arrears cases, and the monthly figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.community import actions, queries
from pingan.community.choices import DisputeType, Grade, Mediator, RiskFactor
from pingan.community.factors import table
from pingan.community.model import StationTask
from pingan.community.schemas import AgreementIn, DisputeIn, StepIn
from pingan.core import audit, clock, db
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.errors import DomainError, Invalid, NotFound
from pingan.core.i18n import _
from pingan.core.pages import ECHARTS_JS, page_message, render
from pingan.core.roles import Actor
from pingan.core.scoping import NO_STATION_MESSAGE, check_station, no_station, record_list_read

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
MediatorActor = Annotated[Actor, Depends(require_roles(*actions.MEDIATORS))]
DisputeId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
BEIJING = ZoneInfo("Asia/Shanghai")  # a time typed on a page is Beijing time
MAX_YUAN = Decimal(10_000_000)  # a wage recovery above ten million yuan is a typing error
GRADE_COLOURS = {
    Grade.RED: "#c62828",
    Grade.ORANGE: "#e65100",
    Grade.YELLOW: "#8d6e00",
    Grade.BLUE: "#1565c0",
}


@router.get("/community", response_class=HTMLResponse)
def queue_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The mediator's queue: disputes that need work, reddest first, with their next deadline; the
    station's open tasks. The read is audited."""
    now = clock.now()
    with session.begin():
        rows = queries.queue(session, actor, now=now)
        tasks = queries.open_tasks(session, actor)
        record_list_read(session, actor=actor, listing="dispute", filters={"queue": "open"}, count=len(rows))
    return render(
        request,
        "community_queue.html",
        rows=rows,
        tasks=tasks,
        now=now,
        scope_error=NO_STATION_MESSAGE if no_station(actor) else None,
    )


FLAGS = (
    "threats",
    "violence_history",
    "weapons",
    "alcohol_or_drugs",
    "separation",
    "economic_stress",
    "vulnerable_party",
)


def _intake_form(
    request: Request,
    actor: Actor,
    status: int = 200,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "community_new.html",
        status,
        values=values or {},
        error=error,
        kinds=list(DisputeType),
        sides=list(Mediator),
        flags=[RiskFactor(f) for f in FLAGS],
        station=actor.station_code or "",
    )


@router.get("/community/disputes/new", response_class=HTMLResponse)
def intake_form(request: Request, actor: MediatorActor) -> HTMLResponse:
    """The mediator's intake form: type, parties, address, 110 incident, mediators, risk answers."""
    return _intake_form(request, actor)


def _parse_intake(v: dict[str, str]) -> DisputeIn:
    parties = [
        {
            "role": role,
            "name": v[f"{role}_name"],
            **({"phone": v[f"{role}_phone"]} if v[f"{role}_phone"] else {}),
        }
        for role in ("applicant", "respondent")
    ]
    data: dict[str, object] = {
        "kind": v["kind"],
        "station_code": v["station_code"],
        "summary": v["summary"],
        "address": v["address"],
        "domestic_violence": v["domestic_violence"] == "1",
        "parties": parties,
        "mediators": [
            {"side": m.value, "name": v[f"mediator_{m.value}"]} for m in Mediator if v[f"mediator_{m.value}"]
        ],
        "risk": {**{f: v[f] == "1" for f in FLAGS}, "repeated_calls": v["repeated_calls"] or "0"},
        "employer": v["employer"],
        "owed_fen": round(float(v["owed_yuan"]) * 100) if v["owed_yuan"] else 0,
    }
    if v["incident_id"]:
        data["incident_id"] = v["incident_id"]
    return DisputeIn.model_validate(data)


@router.post("/community/disputes", response_class=HTMLResponse, response_model=None)
async def take_in(
    request: Request, actor: MediatorActor, _csrf: CsrfChecked
) -> HTMLResponse | RedirectResponse:
    """Take in a dispute from the form; a refusal shows the form again with the field named."""
    form = await request.form()
    names = (
        "kind",
        "station_code",
        "summary",
        "address",
        "incident_id",
        "domestic_violence",
        "applicant_name",
        "applicant_phone",
        "respondent_name",
        "respondent_phone",
        "repeated_calls",
        "employer",
        "owed_yuan",
        *FLAGS,
        *(f"mediator_{m.value}" for m in Mediator),
    )
    values = {n: str(form.get(n, ""))[:4000].strip() for n in names}
    try:
        body = _parse_intake(values)
    except (ValueError, OverflowError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else []
        field = ".".join(str(p) for p in errors[0].get("loc", ())) if errors else "owed_yuan"
        message = errors[0].get("msg", "invalid") if errors else str(exc)
        return _intake_form(request, actor, 422, values=values, error=f"{field}: {message}")
    try:
        dispute_id = await run_in_threadpool(_store, body, actor)
    except DomainError as exc:
        return _intake_form(request, actor, 422, values=values, error=str(exc))
    return RedirectResponse(f"/community/disputes/{dispute_id}", status_code=303)


def _store(body: DisputeIn, actor: Actor) -> int:
    with db.transaction() as session:
        intake = actions.check_take_in(session, body, actor)
        return actions.do_take_in(session, intake, actor).id


def _dispute_page(
    request: Request,
    session: Session,
    actor: Actor,
    dispute_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    now = clock.now()
    with session.begin():
        dispute = actions.get_dispute(session, dispute_id, actor)
        view = queries.dispute_view(session, dispute, now=now)
        audit.record(session, actor=actor, action="dispute.read", object_type="dispute", object_id=dispute.id)
    sources = {f.name: f for f in table().factors}
    return render(
        request,
        "community_dispute.html",
        status,
        view=view,
        d=dispute,
        now=now,
        sources=sources,
        steps=actions.steps_offered(dispute),
        may_write=bool(actor.role in actions.MEDIATORS),
        error=error,
        values=values or {},
    )


@router.get("/community/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute_page(request: Request, dispute_id: DisputeId, session: DbSession, actor: Reader) -> HTMLResponse:
    """One dispute: parties masked, mediators, clocks, grade with every factor, links and timeline,
    and the forms to record the agreement and the steps after it. Opening it is audited."""
    return _dispute_page(request, session, actor, dispute_id)


def _form_time(value: str, field: str) -> datetime | None:
    """A `datetime-local` value typed on the page, taken as Beijing time; empty means now."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid("a date and time such as 2026-03-10T14:00 is expected", field=field) from exc
    return parsed.replace(tzinfo=BEIJING) if parsed.tzinfo is None else parsed


def _form_fen(value: str, field: str) -> int | None:
    """An amount in yuan typed on the page, in fen; empty means none."""
    if not value:
        return None
    try:
        yuan = Decimal(value)
    except InvalidOperation as exc:
        raise Invalid("an amount in yuan such as 1200.50 is expected", field=field) from exc
    if not yuan.is_finite() or yuan < 0 or yuan > MAX_YUAN:
        raise Invalid("an amount in yuan such as 1200.50 is expected", field=field)
    return int((yuan * 100).to_integral_value())


def _refusal(exc: ValidationError, rename: dict[str, str]) -> str:
    """A request model's refusal as the page says it: the form's field, then why."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "form"
    return f"field {rename.get(field, field)!r}: {first.get('msg', 'invalid')}"


def _on_dispute_form(
    request: Request,
    session: Session,
    actor: Actor,
    dispute_id: int,
    values: dict[str, str],
    write: Callable[[], None],
    rename: dict[str, str],
) -> HTMLResponse | RedirectResponse:
    """Run a dispute page's form: `write` parses and writes in one transaction. A refusal shows the
    dispute page again with the field named and the values typed; nothing is written."""
    try:
        write()
    except ValidationError as exc:
        session.rollback()
        return _dispute_page(
            request, session, actor, dispute_id, status=422, error=_refusal(exc, rename), values=values
        )
    except DomainError as exc:
        session.rollback()
        exc.field = rename.get(exc.field or "", exc.field)
        return _dispute_page(
            request, session, actor, dispute_id, status=exc.status, error=page_message(exc), values=values
        )
    return RedirectResponse(f"/community/disputes/{dispute_id}", status_code=303)


@router.post("/community/disputes/{dispute_id}/agreement", response_class=HTMLResponse, response_model=None)
def agreement_form(
    request: Request,
    dispute_id: DisputeId,
    session: DbSession,
    actor: MediatorActor,
    _csrf: CsrfChecked,
    terms: Annotated[str, Form(max_length=4000)] = "",
    agreed_at: Annotated[str, Form(max_length=40)] = "",
    recovered_yuan: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse | RedirectResponse:
    """Record the agreement and its terms from the dispute page, through the same checks as the API."""
    values = {"terms": terms, "agreed_at": agreed_at, "recovered_yuan": recovered_yuan}

    def write() -> None:
        body = AgreementIn(
            terms=terms.strip(),
            agreed_at=_form_time(agreed_at.strip(), "agreed_at"),
            recovered_fen=_form_fen(recovered_yuan.strip(), "recovered_yuan"),
        )
        with session.begin():
            dispute = actions.get_dispute(session, dispute_id, actor, for_update=True)
            at = actions.check_agree(dispute, body, actor)
            actions.do_agree(session, dispute, body, actor, at=at)

    return _on_dispute_form(
        request, session, actor, dispute_id, values, write, {"recovered_fen": "recovered_yuan"}
    )


@router.post("/community/disputes/{dispute_id}/steps", response_class=HTMLResponse, response_model=None)
def step_form(
    request: Request,
    dispute_id: DisputeId,
    session: DbSession,
    actor: MediatorActor,
    _csrf: CsrfChecked,
    kind: Annotated[str, Form(max_length=40)] = "",
    at: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    urgent: Annotated[str, Form(max_length=3)] = "",
    recovered_yuan: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse | RedirectResponse:
    """Record a step from the dispute page (follow-up visit, judicial confirmation applied for, a
    domestic-violence step, failure, escalation, wages recovered), through the same checks as the API."""
    values = {"kind": kind, "at": at, "note": note, "urgent": urgent, "recovered_yuan": recovered_yuan}

    def write() -> None:
        body = StepIn.model_validate(
            {
                "kind": kind,
                "at": _form_time(at.strip(), "at"),
                "note": note.strip(),
                "urgent": urgent == "1",
                "recovered_fen": _form_fen(recovered_yuan.strip(), "recovered_yuan"),
            }
        )
        with session.begin():
            dispute = actions.get_dispute(session, dispute_id, actor, for_update=True)
            when = actions.check_step(dispute, body, actor)
            actions.do_step(session, dispute, body, actor, at=when)

    return _on_dispute_form(
        request, session, actor, dispute_id, values, write, {"recovered_fen": "recovered_yuan"}
    )


@router.post("/community/tasks/{task_id}/done", response_model=None)
def task_done(
    task_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    session: DbSession,
    actor: MediatorActor,
    _csrf: CsrfChecked,
) -> RedirectResponse:
    """Mark a station task done, then go back to its dispute."""
    with session.begin():
        task = session.execute(select(StationTask).where(StationTask.id == task_id)).scalar_one_or_none()
        if task is None:
            raise NotFound(f"no task {task_id}", field="task_id")
        check_station(actor, task.station_code, what=f"task {task_id}")
        actions.do_complete_task(session, task, actor)
        dispute_id = task.dispute_id
    return RedirectResponse(f"/community/disputes/{dispute_id}", status_code=303)


@router.get("/community/factors", response_class=HTMLResponse)
def factors_page(request: Request, actor: Reader) -> HTMLResponse:
    """The risk grader's factor table: weights, sources, thresholds and version."""
    return render(request, "community_factors.html", t=table())


@router.get("/community/wages", response_class=HTMLResponse)
def wages_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """Wage arrears: the biggest open cases and the totals per employer. The read is audited."""
    with session.begin():
        cases, employers = queries.wage_cases(session, actor)
        record_list_read(
            session, actor=actor, listing="dispute", filters={"kind": "wage_arrears"}, count=len(cases)
        )
    return render(request, "community_wages.html", cases=cases, employers=employers)


@router.get("/community/monthly", response_class=HTMLResponse)
def monthly_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """Monthly figures: taken in, resolved %, average days, repeats and escalations (target: none)."""
    with session.begin():
        months = queries.monthly(session, actor)
    chart = {
        "monthly": {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "legend": {"data": [_("Taken in"), _("Agreed"), _("Escalated")]},
            "xAxis": {"type": "category", "data": [m.month for m in months]},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {"name": _("Taken in"), "type": "bar", "data": [m.taken_in for m in months]},
                {"name": _("Agreed"), "type": "bar", "data": [m.agreed for m in months]},
                {
                    "name": _("Escalated"),
                    "type": "line",
                    "data": [m.escalated for m in months],
                    "color": GRADE_COLOURS[Grade.RED],
                },
            ],
        }
    }
    return render(
        request,
        "community_monthly.html",
        months=months,
        charts_json=json.dumps(chart, ensure_ascii=False).replace("</", "<\\/"),
        echarts=ECHARTS_JS.exists(),
    )
