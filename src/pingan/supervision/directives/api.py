"""Directives over HTTP: issue (with the near-duplicate warning), list, read, answer, and the
stations' load and the year-over-year count."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from pingan.core import clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import Invalid, NotFound
from pingan.core.roles import Actor
from pingan.supervision.directives import actions, queries, rules
from pingan.supervision.directives.choices import AnswerState
from pingan.supervision.directives.model import Directive
from pingan.supervision.directives.schemas import (
    AnswerIn,
    DirectiveIn,
    DirectiveOut,
    DuplicateWarningOut,
    RecipientOut,
    SimilarOut,
    StationLoadOut,
    YearOverYearOut,
)

router = APIRouter(prefix="/api/v1/directives", tags=["directives"])
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Issuer = Annotated[Actor, Depends(require_roles(*actions.ISSUERS))]
Answerer = Annotated[Actor, Depends(require_roles(*actions.ANSWERERS))]
Supervisor = Annotated[Actor, Depends(require_roles(*(actions.READERS - actions.ANSWERERS)))]


def directive_out(d: Directive, *, now: datetime) -> DirectiveOut:
    """A directive with each station's answer and where it stands at `now`."""
    return DirectiveOut(
        id=d.id,
        subject=d.subject,
        text=d.text,
        issuer=d.issuer,
        issued_at=d.issued_at,
        deadline=d.deadline,
        required_answer=d.required_answer,
        duplicate_override=d.duplicate_override,
        similar_to=[int(x) for x in d.similar_to.split(",") if x],
        recipients=[
            RecipientOut(
                station_code=r.station_code,
                state=AnswerState(rules.answer_state(d.deadline, r.answered_at, now=now)),
                answered_at=r.answered_at,
                answered_by=r.answered_by,
                answer_text=r.answer_text,
                minutes_spent=r.minutes_spent,
            )
            for r in d.recipients
        ],
    )


def similar_out(session: Session, matches: tuple[rules.Match, ...]) -> list[SimilarOut]:
    """The near duplicates a check found, with their subjects, issuers and issue times."""
    found = queries.directives_by_id(session, [m.directive_id for m in matches])
    return [
        SimilarOut(
            directive_id=m.directive_id,
            subject=found[m.directive_id].subject,
            issuer=found[m.directive_id].issuer,
            issued_at=found[m.directive_id].issued_at,
            similarity=m.similarity,
            subject_similarity=m.subject_similarity,
            reasons=list(m.reasons),
        )
        for m in matches
    ]


@router.post(
    "", response_model=DirectiveOut, status_code=201, responses={409: {"model": DuplicateWarningOut}}
)
def issue_directive(body: DirectiveIn, session: DbSession, actor: Issuer) -> DirectiveOut | JSONResponse:
    """Send a directive to its stations. When it nearly duplicates earlier ones and is not confirmed,
    nothing is sent: 409 lists them with their similarity."""
    now = clock.now()
    with session.begin():
        checked = actions.check_issue_directive(session, body, actor=actor, now=now)
        if checked.similar and not body.confirm_duplicate:
            warning = DuplicateWarningOut(
                message="this directive nearly duplicates earlier ones: confirm to send it anyway",
                similar=similar_out(session, checked.similar),
            )
            return JSONResponse(warning.model_dump(mode="json"), status_code=409)
        directive = actions.do_issue_directive(session, body, checked, actor=actor, now=now)
        out = directive_out(directive, now=now)
    return out


@router.get("", response_model=list[DirectiveOut])
def list_directives(
    session: DbSession,
    actor: Reader,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[DirectiveOut]:
    """Directives in view, newest first: all for the bureau, those to their station for an officer."""
    now = clock.now()
    with session.begin():
        return [
            directive_out(d, now=now)
            for d in queries.directive_list(session, actor=actor, search=q, limit=limit, offset=offset)
        ]


@router.get("/load", response_model=list[StationLoadOut])
def station_load(
    session: DbSession,
    actor: Supervisor,
    start: Annotated[datetime, Query()],
    end: Annotated[datetime, Query()],
) -> list[StationLoadOut]:
    """Directives per station per week in [start, end), with the answers and the minutes spent."""
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("give times with their zone, e.g. 2026-03-01T00:00:00+08:00", field="start")
    if end <= start:
        raise Invalid("end must come after start", field="end")
    with session.begin():
        rows = queries.station_load(session, start=start, end=end)
    return [StationLoadOut(**r.__dict__) for r in rows]


@router.get("/year-over-year", response_model=YearOverYearOut)
def year_over_year(
    session: DbSession, actor: Supervisor, year: Annotated[int, Query(ge=2001, le=2099)]
) -> YearOverYearOut:
    """Directives issued in the Beijing calendar year against the year before, with the change."""
    with session.begin():
        y = queries.year_over_year(session, year)
    return YearOverYearOut(
        year=year, directives=y.this, previous_year=y.last, change_percent=y.change_percent
    )


@router.get("/{directive_id}", response_model=DirectiveOut)
def get_directive(directive_id: int, session: DbSession, actor: Reader) -> DirectiveOut:
    """One directive with its stations' answers."""
    if not 1 <= directive_id <= MAX_ROW_ID:
        raise NotFound("no directive", field="id")
    with session.begin():
        return directive_out(queries.get_directive(session, directive_id, actor=actor), now=clock.now())


@router.post("/{directive_id}/answer", response_model=DirectiveOut)
def answer_directive(directive_id: int, body: AnswerIn, session: DbSession, actor: Answerer) -> DirectiveOut:
    """The officer's station answers the directive, recording the minutes spent."""
    if not 1 <= directive_id <= MAX_ROW_ID:
        raise NotFound("no directive", field="id")
    now = clock.now()
    with session.begin():
        recipient = actions.get_recipient(session, directive_id, actor=actor)
        actions.check_answer(recipient, body, actor=actor, now=now)
        actions.do_answer(session, recipient, body, actor=actor, now=now)
        return directive_out(recipient.directive, now=now)
