"""The mule-candidate review queue over HTTP: a page, and confirm / dismiss forms."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.banks.directory import bank_name
from pingan.antifraud.mules.review import actions
from pingan.antifraud.mules.review.choices import CandidateStatus
from pingan.antifraud.mules.review.labels import describe
from pingan.antifraud.mules.review.model import MuleCandidate
from pingan.core.auth import require_roles
from pingan.core.deps import CsrfChecked, DbSession
from pingan.core.pages import render
from pingan.core.roles import Actor

router = APIRouter(include_in_schema=False)
Reviewer = Annotated[Actor, Depends(require_roles(*actions.REVIEWERS))]


@router.get("/mules/review", response_class=HTMLResponse)
def review_queue(
    request: Request, session: DbSession, actor: Reviewer, status: CandidateStatus = CandidateStatus.PENDING
) -> HTMLResponse:
    """Candidates of one status, best score first, each with the model's reasons in words: the
    feature's label, its value in yuan, counts, hours or days, and what it means."""
    rows = session.execute(
        select(MuleCandidate)
        .where(MuleCandidate.status == status)
        .order_by(MuleCandidate.score.desc(), MuleCandidate.id)
        .limit(200)
    ).scalars()
    items = [(c, [describe(str(r)) for r in json.loads(c.reasons)]) for c in rows]
    return render(
        request,
        "mules_review.html",
        actor=actor,
        items=items,
        status=status,
        statuses=list(CandidateStatus),
        bank_name=bank_name,
    )


def _decide(candidate_id: int, decision: str, note: str, session: Session, actor: Actor) -> RedirectResponse:
    actions.check_review(actor, note)
    do = actions.do_confirm if decision == "confirm" else actions.do_dismiss
    with session.begin():
        do(session, candidate_id=candidate_id, note=note, actor=actor)
    return RedirectResponse("/mules/review", status_code=303)


@router.post("/mules/review/{candidate_id}/confirm")
def confirm(
    candidate_id: int,
    session: DbSession,
    actor: Reviewer,
    _csrf: CsrfChecked,
    note: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Confirm: the account enters the watchlist as `suspected`."""
    return _decide(candidate_id, "confirm", note, session, actor)


@router.post("/mules/review/{candidate_id}/dismiss")
def dismiss(
    candidate_id: int,
    session: DbSession,
    actor: Reviewer,
    _csrf: CsrfChecked,
    note: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Dismiss: nothing is listed."""
    return _decide(candidate_id, "dismiss", note, session, actor)
