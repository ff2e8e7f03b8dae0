"""Recommendations over HTTP: `GET /api/v1/incidents/{id}/recommendations`, and the fragment the
incident page loads for a dispatcher. Accepting a recommendation posts the unit's `assign` move to
`/command/units/{id}/moves`, the command package's one write path for a dispatch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from pingan.command import actions, recommend
from pingan.command.choices import UnitKind
from pingan.command.model import Incident
from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import NotFound
from pingan.core.pages import render
from pingan.core.roles import Actor
from pingan.core.scoping import check_station

router = APIRouter()
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Dispatcher = Annotated[Actor, Depends(require_roles(*actions.DISPATCHERS))]
IncidentPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Limit = Annotated[int, Query(ge=1, le=50, description="how many units to recommend")]


class RecommendationOut(BaseModel):
    """A recommended unit: its road travel time and distance, fix age, penalty, and reasons."""

    unit_id: int
    call_sign: str
    kind: UnitKind
    rank: int
    travel_s: float
    distance_m: float
    fix_age_s: float
    stale_penalty_s: float
    score_s: float
    reasons: list[str]


class ExcludedOut(BaseModel):
    """A unit left out, and why (`busy:<state>`, `wrong_type:<kind>`, `missing_skill:<skill>`, ...)."""

    unit_id: int
    call_sign: str
    kind: UnitKind
    reasons: list[str]


class RecommendationsOut(BaseModel):
    incident_id: int
    engine: str
    kinds: list[UnitKind]
    skills: list[str]
    recommended: list[RecommendationOut]
    excluded: list[ExcludedOut]
    notes: list[str]


def _ranking(session: DbSession, incident_id: int, actor: Actor, limit: int) -> recommend.Ranking:
    with session.begin():
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id}", field="incident_id")
        check_station(actor, incident.station_code, what=f"incident {incident_id}")
        ranking = recommend.recommendations(session, incident, actor, now=clock.now(), limit=limit)
        audit.record(
            session, actor=actor, action="incident.recommend", object_type="incident", object_id=incident_id
        )
    return ranking


@router.get(
    "/api/v1/incidents/{incident_id}/recommendations", response_model=RecommendationsOut, tags=["command"]
)
def recommendations(
    incident_id: IncidentPath, session: DbSession, actor: Reader, limit: Limit = 5
) -> RecommendationsOut:
    """The nearest suitable units by road travel time, each with its explanation, and the units left
    out with their reasons (`pingan.command.recommend` documents the rule)."""
    r = _ranking(session, incident_id, actor, limit)
    return RecommendationsOut(
        incident_id=incident_id,
        engine=r.engine,
        kinds=sorted(r.need.kinds),
        skills=sorted(r.need.skills),
        recommended=[
            RecommendationOut(
                unit_id=x.unit_id,
                call_sign=x.call_sign,
                kind=x.kind,
                rank=x.rank,
                travel_s=x.travel_s,
                distance_m=x.distance_m,
                fix_age_s=x.fix_age_s,
                stale_penalty_s=x.stale_penalty_s,
                score_s=x.score_s,
                reasons=list(x.reasons),
            )
            for x in r.recommended
        ],
        excluded=[
            ExcludedOut(unit_id=e.unit_id, call_sign=e.call_sign, kind=e.kind, reasons=list(e.reasons))
            for e in r.excluded
        ],
        notes=list(r.notes),
    )


@router.get(
    "/command/incidents/{incident_id}/recommendations", response_class=HTMLResponse, include_in_schema=False
)
def recommendations_fragment(
    request: Request, incident_id: IncidentPath, session: DbSession, actor: Dispatcher, limit: Limit = 5
) -> HTMLResponse:
    """The recommendations as a fragment of the incident page, with a dispatch button per unit."""
    r = _ranking(session, incident_id, actor, limit)
    return render(request, "command_recommendations.html", 200, ranking=r, incident_id=incident_id)
