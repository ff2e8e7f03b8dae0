"""Pages of traffic safety: the accident list with the major-accident alarm, an accident, the ranked
black spots with their map layer, and the monthly traffic bulletin (page and XLSX)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import Invalid, NotFound
from pingan.core.i18n import _, label
from pingan.core.pages import render
from pingan.core.roles import Actor
from pingan.core.scoping import record_list_read
from pingan.traffic import actions, queries
from pingan.traffic.choices import CountermeasureKind

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
TOP_SPOTS = 20


@router.get("/traffic", response_class=HTMLResponse)
def accidents_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The latest accidents, those a human must place first; major accidents arrive live on top."""
    with session.begin():
        flagged = queries.recent_accidents(session, flagged_only=True, limit=50)
        recent = queries.recent_accidents(session, limit=100)
        now = clock.now()
        clocks = {a.id: queries.clock_of(a, now=now) for a in recent + flagged}
        record_list_read(session, actor=actor, listing="traffic_accident", filters={}, count=len(recent))
    return render(request, "traffic_accidents.html", recent=recent, flagged=flagged, clocks=clocks)


@router.get("/traffic/accidents/{accident_id}", response_class=HTMLResponse)
def accident_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    accident_id: int,
) -> HTMLResponse:
    """One accident: place and segment, conditions, vehicles (plates masked), people, finding clock."""
    if not 1 <= accident_id <= MAX_ROW_ID:
        raise NotFound(f"no accident {accident_id}", field="accident_id")
    with session.begin():
        a = queries.accident_detail(session, accident_id)
        if a is None:
            raise NotFound(f"no accident {accident_id}", field="accident_id")
        audit.record(
            session, actor=actor, action="accident.read", object_type="traffic_accident", object_id=a.id
        )
        c = queries.clock_of(a, now=clock.now())
        causes = queries.causes_of(a)
    return render(request, "traffic_accident.html", a=a, clock=c, causes=causes)


@router.get("/traffic/blackspots", response_class=HTMLResponse)
def black_spots_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    years: Annotated[int, Query(ge=1, le=10)] = 3,
) -> HTMLResponse:
    """The segments ranked by EB excess over the last `years` years, and their map layer."""
    with session.begin():
        spots = queries.black_spots(session, end=clock.now(), years=years, top=50)
    return render(request, "traffic_blackspots.html", spots=spots, years=years)


@router.get("/traffic/blackspots.geojson")
def black_spots_geojson(
    session: DbSession, actor: Reader, years: Annotated[int, Query(ge=1, le=10)] = 3
) -> JSONResponse:
    """The ranked segments as GeoJSON lines, with rank, counts and EB figures."""
    with session.begin():
        spots = queries.black_spots(session, end=clock.now(), years=years, top=50)
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [list(p) for p in s.coordinates]},
            "properties": {
                "rank": s.rank,
                "edge_id": s.edge_id,
                "observed": s.observed,
                "predicted": round(s.predicted, 2),
                "eb": round(s.eb, 2),
                "excess": round(s.excess, 2),
            },
        }
        for s in spots
    ]
    return JSONResponse(
        {"type": "FeatureCollection", "features": features}, media_type="application/geo+json"
    )


def _month(raw: str | None) -> tuple[int, int]:
    if not raw:
        today = clock.now().date()
        return today.year, today.month
    try:
        d = datetime.strptime(raw, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid("give the month as YYYY-MM", field="month") from None
    if not 2000 <= d.year <= 2100:
        raise Invalid("give the month as YYYY-MM", field="month")
    return d.year, d.month


class Bulletin:
    """The monthly traffic bulletin's content."""

    def __init__(self, session: Any, year: int, month: int) -> None:
        self.year, self.month = year, month
        self.figures = queries.monthly_figures(session, years=(year - 1, year))
        end_day = date(year + (month == 12), month % 12 + 1, 1)
        end = datetime.combine(end_day, datetime.min.time(), tzinfo=queries.BEIJING).astimezone(UTC)
        self.spots = queries.black_spots(session, end=end, years=3, top=TOP_SPOTS)
        now = min(clock.now(), end)
        self.effects = [
            (kind, queries.countermeasure_effect(session, kind=kind, now=now)) for kind in CountermeasureKind
        ]
        self.measures = [m for m in queries.countermeasures(session) if m.installed_on < end_day]

    def series(self) -> dict[str, Any]:
        """The year-over-year series the chart draws."""
        this = [f for f in self.figures if f.year == self.year]
        last = [f for f in self.figures if f.year == self.year - 1]
        return {
            "months": [f"{m}" for m in range(1, 13)],
            "this_year": str(self.year),
            "last_year": str(self.year - 1),
            "accidents": [[f.accidents for f in last], [f.accidents for f in this]],
            "deaths": [[f.deaths for f in last], [f.deaths for f in this]],
            "injuries": [[f.injuries for f in last], [f.injuries for f in this]],
        }

    def month_row(self, year: int) -> queries.MonthFigures:
        """The bulletin month's figures in `year`."""
        return next(f for f in self.figures if f.year == year and f.month == self.month)


@router.get("/traffic/bulletin", response_class=HTMLResponse)
def bulletin_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> HTMLResponse:
    """The monthly traffic bulletin: year over year, the top 20 spots, countermeasures and their effects."""
    year, m = _month(month)
    with session.begin():
        b = Bulletin(session, year, m)
    return render(request, "traffic_bulletin.html", b=b, month_text=f"{year:04d}-{m:02d}")


@router.get("/traffic/bulletin.xlsx")
def bulletin_xlsx(
    session: DbSession, actor: Reader, month: Annotated[str | None, Query(max_length=7)] = None
) -> Response:
    """The monthly bulletin as a workbook: the month's figures, the top 20 spots, the effects."""
    from openpyxl import Workbook

    year, m = _month(month)
    with session.begin():
        b = Bulletin(session, year, m)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = _("Traffic bulletin")[:31]
    sheet.append([_("Monthly traffic bulletin"), f"{year:04d}-{m:02d}"])
    sheet.append([_("Year"), _("Accidents"), _("Deaths"), _("Injuries")])
    for y in (year - 1, year):
        f = b.month_row(y)
        sheet.append([y, f.accidents, f.deaths, f.injuries])
    sheet.append([])
    sheet.append(
        [_("Rank"), _("Segment"), _("Observed"), _("Predicted by SPF"), _("EB estimate"), _("Excess")]
    )
    for s in b.spots:
        sheet.append(
            [s.rank, s.edge_id, s.observed, round(s.predicted, 2), round(s.eb, 2), round(s.excess, 2)]
        )
    sheet.append([])
    sheet.append(
        [_("Countermeasure"), _("Sites"), _("Index of effectiveness"), _("Low"), _("High"), _("Method")]
    )
    for kind, e in b.effects:
        if e is None:
            sheet.append([label(kind), _("not estimable yet")])
        else:
            sheet.append(
                [
                    label(kind),
                    e.sites,
                    round(e.theta, 3),
                    round(e.theta_low, 3),
                    round(e.theta_high, 3),
                    e.method,
                ]
            )
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="traffic-bulletin-{year:04d}-{m:02d}.xlsx"'},
    )


@router.get("/traffic/bulletin.pdf")
def bulletin_pdf(
    session: DbSession, actor: Reader, month: Annotated[str | None, Query(max_length=7)] = None
) -> Response:
    """The monthly bulletin as A4 pages in the system's CJK font (`core.pdf`; 503 when none is installed):
    the month's figures year over year, the top 20 spots, the effects with their method. No chart."""
    from pingan.core.pdf import FAMILY, cjk_document

    year, m = _month(month)
    with session.begin():
        b = Bulletin(session, year, m)
    pdf = cjk_document()
    title = f"{_('Monthly traffic bulletin')} {year:04d}-{m:02d}"
    pdf.set_title(title)
    pdf.set_creator("pingan")
    pdf.add_page()
    width = pdf.epw
    pdf.set_font(FAMILY, size=16)
    pdf.multi_cell(width, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    with pdf.table(line_height=6) as table:
        table.row([_("Year"), _("Accidents"), _("Deaths"), _("Injuries")])
        for y in (year - 1, year):
            f = b.month_row(y)
            table.row([str(y), str(f.accidents), str(f.deaths), str(f.injuries)])
    pdf.ln(3)
    pdf.set_font(FAMILY, size=13)
    pdf.multi_cell(width, 8, _("Top 20 spots"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    with pdf.table(line_height=5) as table:
        table.row(
            [_("Rank"), _("Segment"), _("Observed"), _("Predicted by SPF"), _("EB estimate"), _("Excess")]
        )
        for s in b.spots:
            table.row(
                [
                    str(s.rank),
                    str(s.edge_id),
                    str(s.observed),
                    f"{s.predicted:.2f}",
                    f"{s.eb:.2f}",
                    f"{s.excess:.2f}",
                ]
            )
    pdf.ln(3)
    pdf.set_font(FAMILY, size=13)
    pdf.multi_cell(width, 8, _("Countermeasures and their estimated effects"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    with pdf.table(line_height=5) as table:
        table.row([_("Countermeasure"), _("Sites"), _("Index of effectiveness"), _("Low"), _("High")])
        for kind, e in b.effects:
            if e is None:
                table.row([label(kind), _("not estimable yet"), "", "", ""])
            else:
                table.row(
                    [label(kind), str(e.sites), f"{e.theta:.2f}", f"{e.theta_low:.2f}", f"{e.theta_high:.2f}"]
                )
    pdf.ln(2)
    pdf.multi_cell(
        width,
        5,
        _("Method") + ": " + _("EB before-after with a comparison group (Hauer 1997); 95% normal interval"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return Response(
        bytes(pdf.output()),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="traffic-bulletin-{year:04d}-{m:02d}.pdf"'},
    )
