"""Wastewater pages: the site map, a site's trends, the Statistics Canada trends with their CIs, and
the bulletin export. Every figure is per sewershed; no page shows a person or a building."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.i18n import N_, _, label
from pingan.core.pages import ECHARTS_JS, render
from pingan.core.roles import Actor
from pingan.narcotics import actions, bulletin, queries
from pingan.narcotics.choices import EudaVerdict

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]


def _json(data: Any) -> Markup:
    """JSON for a `<script type="application/json">` block: `<` escaped so no tag can close it."""
    return Markup(json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"))  # noqa: S704 - escaped


def _band_chart(
    title: str,
    xs: list[str],
    mid: list[float | None],
    low: list[float | None],
    high: list[float | None],
    marks: list[str],
) -> dict[str, Any]:
    """An ECharts option: the load as a line and its 95% interval as a shaded band (low + width, stacked)."""
    width = [
        None if lo is None or hi is None else round(hi - lo, 4) for lo, hi in zip(low, high, strict=True)
    ]
    unit = _("mg/day/1000 inhabitants")
    return {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 12, "top": 36, "bottom": 28},
        "xAxis": {"type": "category", "data": xs},
        "yAxis": {"type": "value", "name": unit, "nameTextStyle": {"align": "left"}},
        "series": [
            {
                "name": _("95% CI low"),
                "type": "line",
                "data": low,
                "stack": "ci",
                "symbol": "none",
                "lineStyle": {"opacity": 0},
            },
            {
                "name": _("95% CI"),
                "type": "line",
                "data": width,
                "stack": "ci",
                "symbol": "none",
                "lineStyle": {"opacity": 0},
                "areaStyle": {"color": "#90caf9", "opacity": 0.5},
            },
            {
                "name": _("Load"),
                "type": "line",
                "data": mid,
                "color": "#0d47a1",
                "markPoint": {
                    "symbol": "pin",
                    "symbolSize": 28,
                    "itemStyle": {"color": "#c62828"},
                    "data": [{"coord": [m, mid[xs.index(m)]], "value": "↑"} for m in marks if m in xs],
                },
            },
        ],
    }


@router.get("/narcotics", response_class=HTMLResponse)
def overview(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The site map and list: each sewershed's population and how many samples it has."""
    with session.begin():
        sites = queries.sites(session)
        quarantined = len(queries.quarantine(session))
    return render(request, "narcotics_overview.html", sites=sites, quarantined=quarantined)


@router.get("/narcotics/sites.geojson")
def sites_geojson(session: DbSession, actor: Reader) -> JSONResponse:
    """The sites as GeoJSON points for the map: code, place, population served, samples."""
    with session.begin():
        sites = queries.sites(session)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
            "properties": {
                "code": s.code,
                "city": s.city,
                "population": s.population,
                "samples": s.samples,
                "url": f"/narcotics/sites/{s.code}",
            },
        }
        for s in sites
        if s.lat is not None and s.lon is not None
    ]
    return JSONResponse(
        {"type": "FeatureCollection", "features": features}, media_type="application/geo+json"
    )


@router.get("/narcotics/sites/{code}", response_class=HTMLResponse)
def site_page(
    request: Request,
    code: str,
    session: DbSession,
    actor: Reader,
    factors: Annotated[str, Query(pattern="^(residue|consumption)$")] = "residue",
) -> HTMLResponse:
    """One sewershed: each residue's loads with their band, the rise test, the week pattern, the flags."""
    today = clock.now().date()
    with session.begin():
        s = queries.site(session, code)
        if s is None:
            raise HTTPException(404, _("No such site."))
        points = queries.site_loads(session, code, factor_set=factors)
        analysis = queries.analyse(points, until=today)
    charts: dict[str, Any] = {}
    mets = sorted({p.metabolite for p in points})
    for m in mets:
        ps = [p for p in points if p.metabolite is m]
        cis = [p.load.ci95 for p in ps]
        flagged = [f.day.isoformat() for f in analysis.flags if f.metabolite == m.value]
        charts[m.value] = _band_chart(
            label(m),
            [p.day.isoformat() for p in ps],
            [round(p.load.value, 3) for p in ps],
            [None if c is None else round(c[0], 3) for c in cis],
            [None if c is None else round(c[1], 3) for c in cis],
            flagged,
        )
    return render(
        request,
        "narcotics_site.html",
        site=s,
        metabolites=mets,
        rises={r.metabolite: r for r in analysis.rises},
        patterns=analysis.patterns,
        flags=analysis.flags,
        factors=factors,
        charts_json=_json(charts),
        echarts=ECHARTS_JS.exists(),
    )


@router.get("/narcotics/canada", response_class=HTMLResponse)
def canada_page(request: Request, session: DbSession, actor: Reader, geo: str = "") -> HTMLResponse:
    """Statistics Canada's monthly loads for one place, with their 95% CIs and the months that rose
    significantly against the same month a year earlier."""
    with session.begin():
        rows = queries.statcan_rows(session)
        tests, n_tests = queries.statcan_rises(session)
    places = sorted({r.geo for r in rows})
    place = geo if geo in places else (places[0] if places else "")
    flagged = [t for t in tests if t.rise.significant]
    charts: dict[str, Any] = {}
    measures = sorted({r.measure for r in rows if r.geo == place})
    for i, m in enumerate(measures):
        rs = [r for r in rows if r.geo == place and r.measure == m and r.load is not None]
        marks = [t.rise.month for t in flagged if t.geo == place and t.measure == m]
        charts[f"m{i}"] = _band_chart(
            m,
            [r.month for r in rs],
            [r.load for r in rs],
            [r.ci_low for r in rs],
            [r.ci_high for r in rs],
            marks,
        )
    return render(
        request,
        "narcotics_canada.html",
        places=places,
        place=place,
        measures=list(enumerate(measures)),
        flagged=[t for t in flagged if t.geo == place],
        flagged_all=len(flagged),
        n_tests=n_tests,
        q=0.05,
        charts_json=_json(charts),
        echarts=ECHARTS_JS.exists(),
    )


# The EUDA table's day columns, in its order (its sampling week runs Wednesday to Tuesday).
EUDA_DAY_COLUMNS = (
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
    N_("Monday"),
    N_("Tuesday"),
)


@router.get("/narcotics/euda", response_class=HTMLResponse)
def euda_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The EUDA table's stored means against those recomputed from its day values."""
    with session.begin():
        check = queries.euda_check(session)
    return render(
        request,
        "narcotics_euda.html",
        check=check,
        exact=EudaVerdict.EXACT,
        verdicts=list(EudaVerdict),
        inconsistent=check.inconsistent,
        days=[_(d) for d in EUDA_DAY_COLUMNS],
    )


@router.get("/narcotics/bulletin.{fmt}")
def bulletin_export(fmt: str, session: DbSession, actor: Reader) -> Response:
    """The bulletin as CSV or XLSX; the export is audited."""
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(404, _("Unknown export format."))
    today: date = clock.now().date()
    with session.begin():
        rows = bulletin.rows(session, today=today)
        audit.record(
            session,
            actor=actor,
            action="wastewater.bulletin_export",
            object_type="ww_bulletin",
            object_id=today.isoformat(),
            detail={"format": fmt, "rows": len(rows)},
        )
    if fmt == "csv":
        body, media = bulletin.to_csv(rows), "text/csv; charset=utf-8"
    else:
        body, media = (
            bulletin.to_xlsx(rows),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    name = f"wastewater-bulletin-{today.isoformat()}.{fmt}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
