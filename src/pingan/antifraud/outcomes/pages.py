"""Outcome pages: the monthly 资金预警 report with its charts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from pingan.antifraud.outcomes.report import build_monthly, charts, current_month
from pingan.core import clock
from pingan.core.deps import DbSession, require_roles
from pingan.core.pages import render
from pingan.core.roles import ANTIFRAUD_STAFF, Actor

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]


@router.get("/risk/monthly", response_class=HTMLResponse)
def monthly_page(
    request: Request, session: DbSession, actor: Reader, month: str | None = None
) -> HTMLResponse:
    """The monthly 资金预警 report for `month` (YYYY-MM; default this month)."""
    report = build_monthly(session, month or current_month(clock.now().date()))
    return render(request, "risk_monthly.html", r=report, o=report.previous_outcomes)


@router.get("/risk/monthly/{month}/{chart}.png")
def monthly_chart(month: str, chart: str, session: DbSession, actor: Reader) -> Response:
    """One chart of the monthly report as PNG."""
    png = charts(build_monthly(session, month)).get(chart)
    if png is None:
        return Response(status_code=404)
    return Response(png, media_type="image/png")
