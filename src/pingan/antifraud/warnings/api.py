"""The warnings API: accept plans, read deliveries and figures, work home-visit tasks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from pingan.antifraud.warnings import actions
from pingan.antifraud.warnings.figures import compute_figures
from pingan.antifraud.warnings.model import WarningDelivery
from pingan.antifraud.warnings.schemas import DeliveryOut, MessageOut, OutcomeIn, PlanIn, VisitOut
from pingan.antifraud.warnings.visits import actions as visit_actions
from pingan.antifraud.warnings.visits.actions import VISIT_STAFF
from pingan.antifraud.warnings.visits.choices import VisitState
from pingan.antifraud.warnings.visits.model import HomeVisitTask
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import record_list_read, station_condition
from pingan.core.settings import get_settings

router = APIRouter(prefix="/api/v1/warnings", tags=["warnings"])
# The admin role runs the system (IT) and sends no warnings.
Analyst = Annotated[Actor, Depends(require_roles(*actions.MANUAL_PLANNERS))]
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]
FieldStaff = Annotated[Actor, Depends(require_roles(*VISIT_STAFF))]


def delivery_out(d: WarningDelivery) -> DeliveryOut:
    """Serialise a delivery, phone masked."""
    return DeliveryOut(
        plan_id=d.plan_id,
        person_pseudonym=d.person_pseudonym,
        phone=d.phone.masked if d.phone is not None else None,
        typology=d.typology,
        amount_fen=d.amount_fen,
        elderly=d.elderly,
        home_station_code=d.home_station_code,
        state=d.state.value,
        priority=d.priority.value,
        first_contact_at=d.first_contact_at,
        messages=[
            MessageOut(
                message_key=m.message_key,
                kind=m.kind.value,
                channel=m.channel,
                attempt=m.attempt,
                state=m.state.value,
                due_at=m.due_at,
                digit=m.digit,
                body=m.body,
                last_error=m.last_error,
            )
            for m in d.messages
        ],
    )


def visit_out(t: HomeVisitTask) -> VisitOut:
    """Serialise a home-visit task."""
    return VisitOut(
        id=t.id,
        plan_id=t.plan_id,
        kind=t.kind.value,
        station_code=t.station_code,
        state=t.state.value,
        deadline_at=t.deadline_at,
        accepted_by=t.accepted_by,
        outcome=t.outcome.value if t.outcome else None,
    )


@router.post("/plans", status_code=201)
def accept_plan(body: PlanIn, session: DbSession, actor: Analyst) -> DeliveryOut:
    """Accept a warning plan for delivery (idempotent by plan id)."""
    phone = protect(PiiKind.PHONE, body.phone, field="phone") if body.phone else None
    req = actions.DeliveryRequest(
        plan_id=body.plan_id,
        person_pseudonym=body.person_pseudonym,
        phone_cipher=phone.cipher if phone else None,
        phone_masked=phone.masked if phone else None,
        typology=body.typology,
        amount_fen=body.amount_fen,
        elderly=body.elderly,
        home_station_code=body.home_station_code,
        urgency=body.urgency,
        risk_event_at=body.risk_event_at,
        reasons=tuple(body.reasons),
        risk_event_id=body.risk_event_id,
        manual_reason=body.manual_reason,
    )
    s = get_settings().warnings
    with session.begin():
        actions.check_request(req)
        actions.check_plan_basis(session, req, actor=actor)
        actions.check_plan_station(session, req)
        delivery, _ = actions.do_accept_plan(
            session, req, sms_channel=s.sms_channel, voice_channel=s.voice_channel, actor=actor
        )
        return delivery_out(delivery)


@router.get("/plans/{plan_id}")
def get_plan(plan_id: str, session: DbSession, actor: Reader) -> DeliveryOut:
    """A plan's delivery with every message; a person of another station is 404 to an officer."""
    return delivery_out(actions.get_delivery(session, plan_id, actor=actor))


@router.get("/figures")
def figures(session: DbSession, actor: Reader) -> dict[str, Any]:
    """Reach by channel, time to first contact, answered calls, keys, visits on time."""
    return compute_figures(session).as_dict()


@router.get("/visits")
def list_visits(
    session: DbSession, actor: FieldStaff, station: str = "", open_only: bool = True
) -> list[VisitOut]:
    """Home-visit tasks of the caller's station (or the district's), by deadline; filtered by station.
    The read is audited."""
    q = (
        select(HomeVisitTask)
        .where(station_condition(actor, HomeVisitTask.station_code))
        .order_by(HomeVisitTask.deadline_at)
    )
    if station:
        q = q.where(HomeVisitTask.station_code == station)
    if open_only:
        q = q.where(HomeVisitTask.state != VisitState.DONE)
    with session.begin():
        tasks = [visit_out(t) for t in session.execute(q.limit(500)).scalars()]
        record_list_read(
            session,
            actor=actor,
            listing="home_visit",
            filters={"station": station, "open_only": open_only},
            count=len(tasks),
        )
    return tasks


@router.post("/visits/{task_id}/accept")
def accept_visit(task_id: int, session: DbSession, actor: FieldStaff) -> VisitOut:
    """An officer takes a home-visit task."""
    with session.begin():
        task = visit_actions.get_task(session, task_id, actor=actor)
        visit_actions.check_accept(task, actor=actor)
        return visit_out(visit_actions.do_accept(session, task, actor=actor))


@router.post("/visits/{task_id}/outcome")
def record_outcome(task_id: int, body: OutcomeIn, session: DbSession, actor: FieldStaff) -> VisitOut:
    """The officer records what the visit found: dissuaded, already paid, or not reachable."""
    with session.begin():
        task = visit_actions.get_task(session, task_id, actor=actor)
        outcome = visit_actions.check_outcome(task, outcome=body.outcome, actor=actor)
        return visit_out(
            visit_actions.do_record_outcome(session, task, outcome=outcome, note=body.note, actor=actor)
        )
