"""Screening pages: the rules in force, and the risk events each raised."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from pingan.antifraud.risk import queries as risk_queries
from pingan.antifraud.screening.ruleset import load_rules
from pingan.core.deps import DbSession, require_roles
from pingan.core.pages import render
from pingan.core.roles import ANTIFRAUD_STAFF, Actor

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]


@router.get("/risk/rules", response_class=HTMLResponse)
def rule_stats(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """Per-rule statistics: the rules in force, and the events each raised."""
    hits = risk_queries.rule_hits(session)
    return render(
        request,
        "risk_rules.html",
        rules=load_rules(),
        counts=hits.counts,
        amounts=hits.amounts,
        total=hits.total,
    )
