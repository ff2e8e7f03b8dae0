"""Community mediation over HTTP: take in a dispute, record its agreement and steps, read it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from pingan.community import actions, queries
from pingan.community.model import Dispute
from pingan.community.schemas import (
    AgreementIn,
    ClockOut,
    ContributionOut,
    DisputeIn,
    DisputeOut,
    EventOut,
    MediatorOut,
    PartyOut,
    StepIn,
    TaskOut,
)
from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.roles import Actor

router = APIRouter(prefix="/api/v1", tags=["community"])
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
MediatorActor = Annotated[Actor, Depends(require_roles(*actions.MEDIATORS))]
DisputeId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def dispute_out(view: queries.DisputeView) -> DisputeOut:
    """A dispute as the API shows it: parties masked, clocks and contributions computed."""
    d = view.dispute
    return DisputeOut(
        id=d.id,
        kind=d.kind,
        status=d.status,
        station_code=d.station_code,
        taken_in_at=d.taken_in_at,
        summary=d.summary,
        address=d.address,
        incident_id=d.incident_id,
        domestic_violence=d.domestic_violence,
        grade=d.grade,
        score=d.score,
        factor_version=view.grades[-1].version if view.grades else "",
        contributions=[
            ContributionOut(name=c.name, value=c.value, points=c.points) for c in view.contributions
        ],
        repeat_count=d.repeat_count,
        earlier_dispute_ids=[link.earlier_id for link in view.earlier],
        agreed_at=d.agreed_at,
        agreement_terms=d.agreement_terms,
        employer=d.employer,
        owed_fen=d.owed_fen,
        recovered_fen=d.recovered_fen,
        parties=[
            PartyOut(role=p.role, name_masked=p.name.masked, phone_masked=p.phone.masked if p.phone else None)
            for p in d.parties
        ],
        mediators=[MediatorOut(side=m.side, name=m.name) for m in d.mediators],
        clocks=[
            ClockOut(kind=c.kind, deadline=c.deadline, warn_at=c.warn_at, met_at=c.met_at, state=c.state)
            for c in view.clocks
        ],
        tasks=[TaskOut(kind=t.kind, due_at=t.due_at, done_at=t.done_at) for t in view.tasks],
        events=[EventOut(kind=e.kind, at=e.at, actor=e.actor, note=e.note) for e in d.events],
    )


def _out(session: DbSession, dispute: Dispute, now: datetime) -> DisputeOut:
    return dispute_out(queries.dispute_view(session, dispute, now=now))


@router.post("/disputes", response_model=DisputeOut, status_code=201)
def take_in(body: DisputeIn, session: DbSession, actor: MediatorActor) -> DisputeOut:
    """Take in a dispute: it is graded at once (every factor's contribution in `contributions`),
    earlier disputes of the same parties or address are linked, and a red grade creates the station's
    home-visit and art. 25 report tasks. An agreement dated before the intake is refused (422,
    `agreed_at`)."""
    with session.begin():
        intake = actions.check_take_in(session, body, actor)
        dispute = actions.do_take_in(session, intake, actor)
        session.flush()
        return _out(session, dispute, clock.now())


@router.get("/disputes/{dispute_id}", response_model=DisputeOut)
def read_dispute(dispute_id: DisputeId, session: DbSession, actor: Reader) -> DisputeOut:
    """One dispute with its parties masked, clocks, grade and timeline; the read is audited."""
    with session.begin():
        dispute = actions.get_dispute(session, dispute_id, actor)
        audit.record(session, actor=actor, action="dispute.read", object_type="dispute", object_id=dispute.id)
        return _out(session, dispute, clock.now())


@router.post("/disputes/{dispute_id}/agreement", response_model=DisputeOut)
def agree(dispute_id: DisputeId, body: AgreementIn, session: DbSession, actor: MediatorActor) -> DisputeOut:
    """Record the agreement and its terms (not before the intake: 422 naming `agreed_at`)."""
    with session.begin():
        dispute = actions.get_dispute(session, dispute_id, actor, for_update=True)
        at = actions.check_agree(dispute, body, actor)
        actions.do_agree(session, dispute, body, actor, at=at)
        session.flush()
        return _out(session, dispute, clock.now())


@router.post("/disputes/{dispute_id}/steps", response_model=DisputeOut)
def step(dispute_id: DisputeId, body: StepIn, session: DbSession, actor: MediatorActor) -> DisputeOut:
    """Record a step: follow-up visit, confirmation applied for, written warning, protection order
    applied for (`urgent`: 24 h) or decided, failure, escalation, wages recovered."""
    with session.begin():
        dispute = actions.get_dispute(session, dispute_id, actor, for_update=True)
        at = actions.check_step(dispute, body, actor)
        actions.do_step(session, dispute, body, actor, at=at)
        session.flush()
        return _out(session, dispute, clock.now())
