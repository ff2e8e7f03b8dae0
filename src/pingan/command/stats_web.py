"""Statistics over HTTP: the change tables and hotspots as JSON (`/api/v1/command/stats`) and as a
page with charts and a printable view (`/command/stats`). Mounted by `api.py` and `pages.py`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from pingan.command import actions, stats
from pingan.command.queries import BEIJING
from pingan.core import clock
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.errors import Invalid
from pingan.core.pages import ECHARTS_JS, render
from pingan.core.roles import Actor
from pingan.core.schemas import EARLIEST, LATEST

api_router = APIRouter(prefix="/api/v1/command/stats", tags=["command"])
page_router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Resolution = Annotated[int, Query(ge=stats.MIN_RESOLUTION, le=stats.MAX_RESOLUTION)]
Days = Annotated[int, Query(ge=1, le=366)]
Windows = Annotated[int, Query(ge=1, le=52)]
HOTSPOT_METHOD = (
    "count in the window against Poisson(λ), λ = (sum of the cell's counts in the N previous equal "
    "windows + 0.5) ÷ N; p = P(X ≥ count); a hotspot has count ≥ {min_count} and p < {alpha} ÷ cells tested "
    "(Bonferroni)"
)


def _period(month: str) -> stats.Period:
    if not month:
        return stats.Period.of(clock.now().astimezone(BEIJING).date())
    try:
        return stats.Period.parse(month)
    except ValueError as exc:
        raise Invalid(str(exc), field="month") from None


def _hotspot_end(end: date | None, period: stats.Period) -> datetime:
    """The end of the hotspot window: the day after `end`, or the month's end, or now if sooner."""
    if end is not None:
        if not EARLIEST.date() < end < LATEST.date():
            raise Invalid("give a date between 2000 and 2099", field="end")
        return datetime.combine(end + timedelta(days=1), time(0), tzinfo=BEIJING).astimezone(UTC)
    return min(period.bounds()[1], clock.now())


def row_json(row: stats.ChangeRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "current": row.current,
        "last_year": row.last_year,
        "previous": row.previous,
        "yoy": row.yoy,
        "mom": row.mom,
        "yoy_text": stats.format_change(row.yoy),
        "mom_text": stats.format_change(row.mom),
    }


def table_json(t: stats.PeriodTable) -> dict[str, Any]:
    return {
        "month": str(t.period),
        "last_year": str(t.period.last_year),
        "previous": str(t.period.previous),
        "by": t.grouping.value,
        "formulas": {"yoy": stats.YOY_FORMULA, "mom": stats.MOM_FORMULA, "no_base": stats.NO_BASE},
        "total": row_json(t.total),
        "rows": [row_json(r) for r in t.rows],
    }


def scan_json(scan: stats.HotspotScan) -> dict[str, Any]:
    return {
        "start": scan.start.isoformat(),
        "end": scan.end.isoformat(),
        "windows": scan.windows,
        "resolution": scan.resolution,
        "alpha": scan.alpha,
        "method": HOTSPOT_METHOD.format(min_count=stats.MIN_HOTSPOT_COUNT, alpha=scan.alpha),
        "cells": [
            {
                "cell": c.cell,
                "count": c.count,
                "history": list(c.history),
                "expected": round(c.expected, 3),
                "p_value": c.p_value,
                "hotspot": c.hotspot,
                "lat": round(c.lat, 6),
                "lon": round(c.lon, 6),
            }
            for c in scan.cells
        ],
    }


@api_router.get("")
def stats_api(
    session: DbSession,
    actor: Reader,
    month: Annotated[
        str, Query(max_length=7, description="YYYY-MM, Beijing time; this month if omitted")
    ] = "",
    by: stats.Grouping = stats.Grouping.TYPE,
) -> dict[str, Any]:
    """Counts of a month, the same month a year earlier and the month before, with YoY and MoM (null
    when the base is zero), by 类别 (`class`), 类型 (`type`) or station, within the caller's view."""
    period = _period(month)
    with session.begin():
        table = stats.period_table(session, actor, period=period, grouping=by)
    return table_json(table)


@api_router.get("/hotspots")
def hotspots_api(
    session: DbSession,
    actor: Reader,
    month: Annotated[str, Query(max_length=7)] = "",
    end: date | None = None,
    days: Days = 28,
    windows: Windows = stats.DEFAULT_HISTORY,
    resolution: Resolution = stats.DEFAULT_RESOLUTION,
) -> dict[str, Any]:
    """H3 cells of the `days` up to `end` (inclusive; the month's end or today by default), each
    tested against its own `windows` previous windows of the same length."""
    period = _period(month)
    stop = _hotspot_end(end, period)
    with session.begin():
        scan = stats.hotspot_scan(session, actor, end=stop, days=days, windows=windows, resolution=resolution)
    return scan_json(scan)


def _charts(table: dict[str, Any], scan: dict[str, Any]) -> str:
    """The ECharts options of the page, as JSON for `command-stats.js`."""
    rows = table["rows"][:15]
    names = [r["name"] or r["key"] or "—" for r in rows]
    cells = scan["cells"][:15]
    options = {
        "change": {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "legend": {"data": [table["month"], table["last_year"], table["previous"]]},
            "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 30}},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {"name": table["month"], "type": "bar", "data": [r["current"] for r in rows]},
                {"name": table["last_year"], "type": "bar", "data": [r["last_year"] for r in rows]},
                {"name": table["previous"], "type": "bar", "data": [r["previous"] for r in rows]},
            ],
        },
        "hotspots": {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "legend": {"data": ["count", "expected"]},
            "xAxis": {"type": "category", "data": [c["cell"] for c in cells], "axisLabel": {"rotate": 30}},
            "yAxis": {"type": "value"},
            "series": [
                {"name": "count", "type": "bar", "data": [c["count"] for c in cells]},
                {"name": "expected", "type": "line", "data": [c["expected"] for c in cells]},
            ],
        },
    }
    # Safe inside <script type="application/json">: no "</" can close the element.
    return json.dumps(options, ensure_ascii=False).replace("</", "<\\/")


@page_router.get("/command/stats", response_class=HTMLResponse)
def stats_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    month: str = "",
    by: str = "type",
    resolution: int = stats.DEFAULT_RESOLUTION,
    print_view: Annotated[bool, Query(alias="print")] = False,
) -> HTMLResponse:
    """The change table with its formulas, the hotspot cells, two charts; `?print=1` for paper."""
    try:
        period = stats.Period.parse(month) if month else _period("")
    except ValueError:
        period = _period("")
    grouping = by if by in {g.value for g in stats.Grouping} else stats.Grouping.TYPE.value
    res = min(max(resolution, stats.MIN_RESOLUTION), stats.MAX_RESOLUTION)
    with session.begin():
        table = table_json(
            stats.period_table(session, actor, period=period, grouping=stats.Grouping(grouping))
        )
        scanned = stats.hotspot_scan(session, actor, end=_hotspot_end(None, period), resolution=res)
    scan = scan_json(scanned)
    return render(
        request,
        "command_stats_print.html" if print_view else "command_stats.html",
        t=table,
        scan=scan,
        window=(scanned.start, scanned.end),
        by=grouping,
        resolution=res,
        charts_json=_charts(table, scan),
        echarts=ECHARTS_JS.exists(),
        groupings=[g.value for g in stats.Grouping],
    )
