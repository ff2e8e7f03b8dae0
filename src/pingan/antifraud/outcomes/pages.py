"""Outcome pages: the monthly 资金预警 report with its ECharts charts, and its XLSX and PDF exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from pingan.antifraud.outcomes import exports
from pingan.antifraud.outcomes.actions import do_record_export
from pingan.antifraud.outcomes.report import (
    MonthlyReport,
    build_monthly,
    latest_month_with_data,
    month_bounds,
)
from pingan.core import clock
from pingan.core.deps import DbSession, require_roles
from pingan.core.pages import ECHARTS_JS, render
from pingan.core.roles import ANTIFRAUD_STAFF, Actor

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*ANTIFRAUD_STAFF))]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/risk/monthly", response_class=HTMLResponse)
def monthly_page(
    request: Request, session: DbSession, actor: Reader, month: str | None = None
) -> HTMLResponse:
    """The monthly 资金预警 report for `month` (YYYY-MM; default the latest month with data)."""
    report = build_monthly(session, month or latest_month_with_data(session, now=clock.now()))
    return render(request, "risk_monthly.html", echarts=ECHARTS_JS.exists(), **exports.page_context(report))


def _exported(session: DbSession, actor: Actor, month: str, fmt: str) -> MonthlyReport:
    """Build the month's report and audit its export, in one transaction."""
    month_bounds(month)  # a bad month is refused (422, field month) before anything is written
    session.rollback()
    with session.begin():
        report = build_monthly(session, month)
        do_record_export(session, actor=actor, month=month, fmt=fmt, persons=len(report.predicted))
    return report


@router.get("/risk/monthly/{month}.xlsx")
def monthly_xlsx(month: str, session: DbSession, actor: Reader) -> Response:
    """The month's report as XLSX (audited)."""
    report = _exported(session, actor, month, "xlsx")
    return Response(
        exports.report_xlsx(report),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="pingan-monthly-{month}.xlsx"'},
    )


@router.get("/risk/monthly/{month}.pdf")
def monthly_pdf(month: str, session: DbSession, actor: Reader) -> Response:
    """The month's report as PDF, printed by headless Chromium (audited); 503 without Chromium."""
    if exports.chromium_path() is None:
        raise exports.PdfUnavailable("no headless Chromium (/usr/bin/chromium) to print the PDF with")
    report = _exported(session, actor, month, "pdf")
    return Response(
        exports.report_pdf(report),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="pingan-monthly-{month}.pdf"'},
    )
