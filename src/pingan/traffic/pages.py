"""Pages of traffic safety: the accident list with the major-accident alarm, an accident and the form to
record one, the countermeasure form, the ranked black spots with their map layers (the ranking and the
network kernel density), street racing (hot spots, patrols, reports, enforcement), enforcement
campaigns and violations, and the monthly traffic bulletin (page, XLSX, PDF)."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from pingan.command.queries import (
    SegmentPlace,
    road_names,
    road_segment_places,
    road_segments,
    segment_places,
)
from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.errors import DomainError, Invalid, NotFound
from pingan.core.i18n import _, label
from pingan.core.pages import TEMPLATES, form_time, page_message, render
from pingan.core.roles import Actor
from pingan.core.scoping import record_list_read
from pingan.traffic import actions, queries
from pingan.traffic.choices import (
    CampaignOutcome,
    Cause,
    CollisionType,
    CountermeasureKind,
    Lighting,
    RacingKind,
    RoadSurface,
    VehicleKind,
    ViolationKind,
    Weather,
)
from pingan.traffic.schemas import (
    AccidentIn,
    CampaignIn,
    CountermeasureIn,
    EnforcementIn,
    RacingReportIn,
    ViolationIn,
)

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Recorder = Annotated[Actor, Depends(require_roles(*actions.RECORDERS))]
ReportTaker = Annotated[Actor, Depends(require_roles(*actions.REPORT_TAKERS))]
TOP_SPOTS = 20


def segment_place(places: Mapping[int, SegmentPlace], edge_id: int | None) -> str:
    """Where a segment is, in the page's language (纬12街（经30路至经31街段）); its number where its road
    has no name; "" for none."""
    if edge_id is None:
        return ""
    p = places.get(edge_id)
    if p is None:
        return _("segment %(id)s") % {"id": edge_id}
    if p.from_cross and p.to_cross and p.from_cross != p.to_cross:
        return _("%(road)s between %(a)s and %(b)s") % {"road": p.road, "a": p.from_cross, "b": p.to_cross}
    if p.from_cross or p.to_cross:
        return _("%(road)s near %(cross)s") % {"road": p.road, "cross": p.from_cross or p.to_cross}
    return p.road


def place_name(places: Mapping[int, SegmentPlace], place: str) -> str:
    """A place of the traffic tallies (`queries.place_of`: `segment:ID`, or `cell:LAT,LON` off the
    road graph) as a person says it: a segment by its street, a cell by its south-west corner."""
    edge_id = queries.place_segment(place)
    if edge_id is not None:
        return segment_place(places, edge_id)
    lat, lon = queries.place_cell(place)
    return _("the block at %(lat)s° N, %(lon)s° E") % {"lat": lat, "lon": lon}


_REASON = re.compile(r"^(loud_readings|at_night|citizen_reports):(\d+)(?:>=([\d.]+)dB|x([\d.]+))$")


def hot_reasons(reasons: Sequence[str]) -> str:
    """A hot spot's or a patrol's reasons (`rules.racing_hot_spots`' codes) in the page's language,
    each kind summed over the hours they come from: "12 loud readings (LAmax ≥ 85 dB(A)), 12 of them
    at night (counted twice), 5 citizen reports (3 each)". A code of another shape is shown as it is."""
    sums: dict[str, list[Any]] = {}
    other: list[str] = []
    for code in reasons:
        m = _REASON.match(code)
        if m is None:
            other.append(code)
            continue
        got = sums.setdefault(m[1], [0, m[3] or m[4]])
        got[0] += int(m[2])
    words = {
        "loud_readings": _("%(n)s loud readings (LAmax ≥ %(w)s dB(A))"),
        "at_night": _("%(n)s of them at night (counted %(w)s times)"),
        "citizen_reports": _("%(n)s citizen reports (%(w)s each)"),
    }
    said = [words[k] % {"n": sums[k][0], "w": sums[k][1]} for k in words if k in sums]
    return _(", ").join(said + other)


def place_segments(places: list[str]) -> set[int]:
    """The segments among places of the traffic tallies."""
    return {e for e in map(queries.place_segment, places) if e is not None}


TEMPLATES.env.globals["segment_place"] = segment_place
TEMPLATES.env.globals["place_name"] = place_name
TEMPLATES.env.globals["place_segment"] = queries.place_segment
TEMPLATES.env.filters["hot_reasons"] = hot_reasons


@router.get("/traffic", response_class=HTMLResponse)
def accidents_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The latest accidents, those a human must place first; major accidents arrive live on top."""
    with session.begin():
        flagged = queries.recent_accidents(session, flagged_only=True, limit=50)
        recent = queries.recent_accidents(session, limit=100)
        now = clock.now()
        clocks = {a.id: queries.clock_of(a, now=now) for a in recent + flagged}
        record_list_read(session, actor=actor, listing="traffic_accident", filters={}, count=len(recent))
        places = segment_places(session, {a.edge_id for a in recent + flagged if a.edge_id is not None})
    return render(
        request, "traffic_accidents.html", recent=recent, flagged=flagged, clocks=clocks, places=places
    )


@router.get("/traffic/accidents/new", response_class=HTMLResponse)
def new_accident_page(request: Request, actor: Recorder) -> HTMLResponse:
    """The form to record an accident (the counts; the API takes people one by one). Declared before
    the accident page, whose path would take "new" for an id."""
    return _accident_form(request)


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
        places = segment_places(session, {a.edge_id} if a.edge_id is not None else set())
    return render(request, "traffic_accident.html", a=a, clock=c, causes=causes, places=places)


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
        places = segment_places(session, {s.edge_id for s in spots})
    return render(
        request, "traffic_blackspots.html", spots=spots, years=years, places=places,
        can_record=actor.role in actions.RECORDERS,
    )  # fmt: skip


@router.get("/traffic/blackspots.geojson")
def black_spots_geojson(
    session: DbSession, actor: Reader, years: Annotated[int, Query(ge=1, le=10)] = 3
) -> JSONResponse:
    """The ranked segments as GeoJSON lines, with rank, counts and EB figures."""
    with session.begin():
        spots = queries.black_spots(session, end=clock.now(), years=years, top=50)
        places = segment_places(session, {s.edge_id for s in spots})
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [list(p) for p in s.coordinates]},
            "properties": {
                "rank": s.rank,
                "edge_id": s.edge_id,
                "place": segment_place(places, s.edge_id),
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
        self.places = segment_places(session, {s.edge_id for s in self.spots})
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
        [
            _("Rank"),
            _("Segment"),
            _("Place"),
            _("Observed"),
            _("Predicted by SPF"),
            _("EB estimate"),
            _("Excess"),
        ]
    )
    for s in b.spots:
        place = segment_place(b.places, s.edge_id)
        sheet.append(
            [s.rank, s.edge_id, place, s.observed, round(s.predicted, 2), round(s.eb, 2), round(s.excess, 2)]
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
                    segment_place(b.places, s.edge_id),
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


# ------------------------------------------------------------------------------------------ forms


def refusal(exc: DomainError | ValidationError) -> str:
    """Why a form was refused, naming the field: a rule's refusal, or a value the request model refused."""
    if isinstance(exc, DomainError):
        return page_message(exc)
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"field {where!r}: {first['msg']}"


def _form_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("a date such as 2026-03-10 is expected", field=field) from None


def _form_number(value: str, field: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise Invalid("a number is expected", field=field) from None


def _form_edge(form: Mapping[str, Any] | None) -> set[int]:
    """The segments a form names (`edge_id`, or the list `edges`), to show where they are; what is
    not a number is left for the form's check to name."""
    typed = f"{(form or {}).get('edge_id') or ''} {(form or {}).get('edges') or ''}"
    return {int(t) for t in typed.replace(",", " ").split() if t.isdigit() and int(t) <= MAX_ROW_ID}


def _form_count(value: str, field: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit():
        raise Invalid("a whole number from 0 is expected", field=field)
    return int(value)


def _accident_form(
    request: Request, status: int = 200, form: dict[str, Any] | None = None, error: str | None = None
) -> HTMLResponse:
    return render(
        request,
        "traffic_accident_form.html",
        status,
        form=form or {},
        error=error,
        collisions=list(CollisionType),
        weathers=list(Weather),
        lightings=list(Lighting),
        surfaces=list(RoadSurface),
        causes=list(Cause),
        vehicle_kinds=list(VehicleKind),
    )


@router.post("/traffic/accidents", response_class=HTMLResponse, response_model=None)
async def record_accident_form(
    request: Request, session: DbSession, actor: Recorder, _csrf: CsrfChecked
) -> HTMLResponse | RedirectResponse:
    """Record an accident from the form: placed on its segment, or kept and flagged when far from any
    road. A refusal (more deaths than people, a time in the future) comes back naming the field."""
    raw = await request.form()
    form: dict[str, Any] = {k: str(v)[:255] for k, v in raw.items() if k != "csrf_token"}
    form["causes"] = [str(c) for c in raw.getlist("causes")][:10]
    try:
        vehicles = []
        for n in (1, 2, 3):
            kind = form.get(f"vehicle_{n}_kind", "")
            if kind:
                plate = form.get(f"vehicle_{n}_plate", "").strip()
                vehicles.append({"kind": kind, "plate": plate or None})
        body = AccidentIn.model_validate(
            {
                "occurred_at": form_time(form.get("occurred_at", ""), "occurred_at"),
                "lat": _form_number(form.get("lat", ""), "lat"),
                "lon": _form_number(form.get("lon", ""), "lon"),
                "address": form.get("address", ""),
                "collision": form.get("collision", ""),
                "weather": form.get("weather") or Weather.UNKNOWN,
                "lighting": form.get("lighting") or Lighting.UNKNOWN,
                "surface": form.get("surface") or RoadSurface.UNKNOWN,
                "causes": form["causes"],
                "vehicles": vehicles,
                "people_count": _form_count(form.get("people_count", ""), "people_count"),
                "deaths": _form_count(form.get("deaths", ""), "deaths"),
                "serious_injuries": _form_count(form.get("serious_injuries", ""), "serious_injuries"),
                "slight_injuries": _form_count(form.get("slight_injuries", ""), "slight_injuries"),
            }
        )
        item = actions.NewAccident(accident=body, actor=actor)
        with session.begin():
            checked = actions.check_record_accident(session, item)
            accident = actions.do_record_accident(
                session, item, checked, snapper=actions.Snapper.load(session)
            )
            accident_id = accident.id
    except (DomainError, ValidationError) as exc:
        session.rollback()
        status = exc.status if isinstance(exc, DomainError) else 422
        return _accident_form(request, status, form, refusal(exc))
    return RedirectResponse(f"/traffic/accidents/{accident_id}", status_code=303)


def _countermeasure_form(
    request: Request, session: Any, status: int = 200, form: dict[str, Any] | None = None,
    error: str | None = None,
) -> HTMLResponse:  # fmt: skip
    form = form or {}
    with session.begin():
        places = segment_places(session, _form_edge(form))
    return render(
        request, "traffic_countermeasure_form.html", status, form=form, error=error,
        kinds=list(CountermeasureKind), places=places,
    )  # fmt: skip


@router.get("/traffic/countermeasures/new", response_class=HTMLResponse)
def new_countermeasure_page(
    request: Request,
    session: DbSession,
    actor: Recorder,
    edge_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> HTMLResponse:
    """The form to record a countermeasure at a segment: `edge_id` when given (a black spot's link),
    else picked by road and cross streets."""
    return _countermeasure_form(request, session, form={"edge_id": edge_id})


@router.get("/traffic/roads")
def roads_json(
    session: DbSession, actor: Reader, q: Annotated[str, Query(max_length=64)] = ""
) -> JSONResponse:
    """The segment picker's road names: those containing `q`, at most 20 (`road_names`' order)."""
    with session.begin():
        return JSONResponse({"roads": road_names(session, q)})


@router.get("/traffic/roads/segments")
def road_segments_json(
    session: DbSession, actor: Reader, road: Annotated[str, Query(min_length=1, max_length=128)]
) -> JSONResponse:
    """The segment picker's segments of one road, in order along it, each with its place in the page's
    language; an unknown road is a 404 naming the field."""
    with session.begin():
        found = road_segment_places(session, road)
    if not found:
        raise NotFound(_("no road of that name on the road graph"), field="road")
    places = dict(found)
    return JSONResponse(
        {"road": road, "segments": [{"edge_id": i, "place": segment_place(places, i)} for i, _p in found]}
    )


@router.post("/traffic/countermeasures", response_class=HTMLResponse, response_model=None)
def add_countermeasure_form(
    request: Request,
    session: DbSession,
    actor: Recorder,
    _csrf: CsrfChecked,
    kind: Annotated[str, Form(max_length=16)],
    edge_id: Annotated[str, Form(max_length=12)],
    installed_on: Annotated[str, Form(max_length=10)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Record a countermeasure from the form; one dated in the future comes back naming the field."""
    form = {"kind": kind, "edge_id": edge_id, "installed_on": installed_on, "note": note}
    try:
        body = CountermeasureIn.model_validate(
            {"kind": kind, "edge_id": _form_count(edge_id, "edge_id"), "note": note,
             "installed_on": _form_date(installed_on, "installed_on")}
        )  # fmt: skip
        with session.begin():
            actions.check_add_countermeasure(session, body, actor=actor, today=clock.now().date())
            actions.do_add_countermeasure(session, body, actor=actor)
    except (DomainError, ValidationError) as exc:
        session.rollback()
        status = exc.status if isinstance(exc, DomainError) else 422
        return _countermeasure_form(request, session, status, form, refusal(exc))
    return RedirectResponse("/traffic/bulletin", status_code=303)


# ------------------------------------------------------------------------- network kernel density


@router.get("/traffic/density.geojson")
def density_geojson(
    session: DbSession,
    actor: Reader,
    years: Annotated[int, Query(ge=1, le=10)] = 3,
    bandwidth: Annotated[float, Query(ge=50, le=5000)] = 300.0,
) -> JSONResponse:
    """Every segment with the network kernel density of accidents at it (per km), for a colour layer."""
    with session.begin():
        d = queries.accident_density(session, end=clock.now(), years=years, bandwidth_m=bandwidth)
    s = d.segments
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [
                    [float(s.a_lon[k]), float(s.a_lat[k])],
                    [float(s.b_lon[k]), float(s.b_lat[k])],
                ],
            },
            "properties": {"edge_id": int(s.edge_id[k]), "density": round(float(d.density[k]), 3)},
        }
        for k in range(s.edge_id.size)
        if d.density[k] > 0
    ]
    top = float(d.density.max()) if d.density.size else 0.0
    return JSONResponse(
        {"type": "FeatureCollection", "features": features, "max_density": round(top, 3),
         "bandwidth_m": d.bandwidth_m, "events": d.events},
        media_type="application/geo+json",
    )  # fmt: skip


# ---------------------------------------------------------------- street racing and loud exhausts


def _racing_page(
    request: Request, session: Any, actor: Actor, *, days: int = 30, status: int = 200,
    form: dict[str, Any] | None = None, error: str | None = None,
) -> HTMLResponse:  # fmt: skip
    with session.begin():
        picture = queries.racing_picture(session, end=clock.now(), days=days)
        reports = queries.racing_reports(session, limit=30)
        done = queries.enforcements(session, limit=30)
        letters = queries.noise_dead_letters(session, limit=20)
        hot = [h.place for h in picture.hot_spots] + [p.place for p in picture.patrols]
        places = segment_places(
            session,
            {r.edge_id for r in reports if r.edge_id is not None}
            | {e.edge_id for e in done}
            | place_segments(hot)
            | _form_edge(form),
        )
        record_list_read(
            session, actor=actor, listing="traffic_racing_report", filters={}, count=len(reports)
        )
    return render(
        request, "traffic_racing.html", status, picture=picture, reports=reports, done=done,
        letters=letters, days=days, kinds=list(RacingKind), form=form or {}, error=error, places=places,
        can_record=actor.role in actions.RECORDERS,
    )  # fmt: skip


@router.get("/traffic/racing", response_class=HTMLResponse)
def racing_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    edge_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> HTMLResponse:
    """Street racing and loud exhausts: hot places and hours with their reasons, proposed patrols, the
    map layer, citizen reports, enforcement results and refused noise messages; forms for the last two,
    the enforcement form at segment `edge_id` when given (a patrol's "record the results" link)."""
    form = {"edge_id": edge_id} if edge_id is not None else None
    return _racing_page(request, session, actor, days=days, form=form)


@router.get("/traffic/racing.geojson")
def racing_geojson(
    session: DbSession, actor: Reader, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> JSONResponse:
    """The hot places (summed over their hours) as points, with rank, score and the hottest hour."""
    with session.begin():
        picture = queries.racing_picture(session, end=clock.now(), days=days, top=500)
        segments = road_segments(session)
        names = segment_places(session, place_segments([h.place for h in picture.hot_spots]))
    places: dict[str, list[Any]] = {}
    for h in picture.hot_spots:
        p = places.setdefault(h.place, [0.0, h.hour, h.score])
        p[0] += h.score
        if h.score > p[2]:
            p[1], p[2] = h.hour, h.score
    ranked = sorted(places.items(), key=lambda kv: -kv[1][0])
    features: list[dict[str, Any]] = []
    for rank, (place, (score, hour, _best)) in enumerate(ranked, start=1):
        point = queries.place_point(place, segments)
        if point is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [point[1], point[0]]},
                "properties": {
                    "rank": rank,
                    "place": place,
                    "name": place_name(names, place),
                    "score": round(score, 1),
                    "hour": hour,
                },
            }
        )
    return JSONResponse(
        {"type": "FeatureCollection", "features": features}, media_type="application/geo+json"
    )


@router.post("/traffic/racing/reports", response_class=HTMLResponse, response_model=None)
def racing_report_form(
    request: Request,
    session: DbSession,
    actor: ReportTaker,
    _csrf: CsrfChecked,
    kind: Annotated[str, Form(max_length=16)],
    occurred_at: Annotated[str, Form(max_length=40)],
    lat: Annotated[str, Form(max_length=20)],
    lon: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Take a citizen's report from the form; a refusal comes back on the page naming the field."""
    form = {"kind": kind, "occurred_at": occurred_at, "lat": lat, "lon": lon, "note": note}
    try:
        body = RacingReportIn.model_validate(
            {"kind": kind, "occurred_at": form_time(occurred_at, "occurred_at"), "note": note,
             "lat": _form_number(lat, "lat"), "lon": _form_number(lon, "lon")}
        )  # fmt: skip
        with session.begin():
            actions.check_record_racing_report(session, body, actor=actor)
            actions.do_record_racing_report(session, body, actor=actor, snapper=actions.Snapper.load(session))
    except (DomainError, ValidationError) as exc:
        session.rollback()
        status = exc.status if isinstance(exc, DomainError) else 422
        return _racing_page(request, session, actor, status=status, form=form, error=refusal(exc))
    return RedirectResponse("/traffic/racing#reports", status_code=303)


@router.post("/traffic/racing/enforcement", response_class=HTMLResponse, response_model=None)
def enforcement_form(
    request: Request,
    session: DbSession,
    actor: Recorder,
    _csrf: CsrfChecked,
    edge_id: Annotated[str, Form(max_length=12)],
    started_at: Annotated[str, Form(max_length=40)],
    ended_at: Annotated[str, Form(max_length=40)],
    stops: Annotated[str, Form(max_length=6)] = "0",
    vehicles_seized: Annotated[str, Form(max_length=6)] = "0",
    cases: Annotated[str, Form(max_length=6)] = "0",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Record an operation's results from the form; a refusal comes back naming the field."""
    form = {"edge_id": edge_id, "started_at": started_at, "ended_at": ended_at, "stops": stops,
            "vehicles_seized": vehicles_seized, "cases": cases, "note": note}  # fmt: skip
    try:
        body = EnforcementIn.model_validate(
            {
                "edge_id": _form_count(edge_id, "edge_id"),
                "started_at": form_time(started_at, "started_at"),
                "ended_at": form_time(ended_at, "ended_at"),
                "stops": _form_count(stops, "stops") or 0,
                "vehicles_seized": _form_count(vehicles_seized, "vehicles_seized") or 0,
                "cases": _form_count(cases, "cases") or 0,
                "note": note,
            }
        )
        with session.begin():
            actions.check_record_enforcement(session, body, actor=actor)
            actions.do_record_enforcement(session, body, actor=actor)
    except (DomainError, ValidationError) as exc:
        session.rollback()
        status = exc.status if isinstance(exc, DomainError) else 422
        return _racing_page(request, session, actor, status=status, form=form, error=refusal(exc))
    return RedirectResponse("/traffic/racing#enforcement", status_code=303)


# ------------------------------------------------------------------ violations and campaigns


def _campaigns_page(
    request: Request, session: Any, *, days: int = 90, status: int = 200,
    form: dict[str, Any] | None = None, error: str | None = None,
) -> HTMLResponse:  # fmt: skip
    now = clock.now()
    with session.begin():
        figures = [queries.campaign_figures(session, c, now=now) for c in queries.campaigns(session)]
        tally = queries.violation_tally(session, start=now - timedelta(days=days), end=now)
        places = segment_places(
            session,
            place_segments([p for p, _n in tally.by_place])
            | {e for f in figures for e in queries.campaign_edges(f.campaign)}
            | _form_edge(form),
        )
    return render(
        request, "traffic_campaigns.html", status, figures=figures, tally=tally, days=days,
        violation_kinds=list(ViolationKind), outcomes=list(CampaignOutcome), form=form or {}, error=error,
        places=places, campaign_edges=queries.campaign_edges,
    )  # fmt: skip


@router.get("/traffic/campaigns", response_class=HTMLResponse)
def campaigns_page(
    request: Request, session: DbSession, actor: Reader, days: Annotated[int, Query(ge=1, le=730)] = 90
) -> HTMLResponse:
    """Enforcement campaigns with their before–after figures, and violations by kind, place and hour."""
    return _campaigns_page(request, session, days=days)


@router.post("/traffic/campaigns", response_class=HTMLResponse, response_model=None)
def campaign_form(
    request: Request,
    session: DbSession,
    actor: Recorder,
    _csrf: CsrfChecked,
    name: Annotated[str, Form(max_length=200)],
    outcome: Annotated[str, Form(max_length=12)],
    started_on: Annotated[str, Form(max_length=10)],
    ended_on: Annotated[str, Form(max_length=10)],
    target: Annotated[str, Form(max_length=16)] = "",
    edges: Annotated[str, Form(max_length=4000)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Record a campaign from the form (segments as ids separated by commas or spaces)."""
    form = {"name": name, "outcome": outcome, "started_on": started_on, "ended_on": ended_on,
            "target": target, "edges": edges, "note": note}  # fmt: skip
    try:
        body = CampaignIn.model_validate(
            {
                "name": name,
                "outcome": outcome,
                "target": target or None,
                "started_on": _form_date(started_on, "started_on"),
                "ended_on": _form_date(ended_on, "ended_on"),
                "edges": edges.replace(",", " ").split(),
                "note": note,
            }
        )
        with session.begin():
            actions.check_add_campaign(session, body, actor=actor, today=clock.now().date())
            actions.do_add_campaign(session, body, actor=actor)
    except (DomainError, ValidationError) as exc:
        session.rollback()
        status = exc.status if isinstance(exc, DomainError) else 422
        return _campaigns_page(request, session, status=status, form=form, error=refusal(exc))
    return RedirectResponse("/traffic/campaigns", status_code=303)


@router.post("/traffic/violations", response_class=HTMLResponse, response_model=None)
def violation_form(
    request: Request,
    session: DbSession,
    actor: Recorder,
    _csrf: CsrfChecked,
    kind: Annotated[str, Form(max_length=16)],
    occurred_at: Annotated[str, Form(max_length=40)],
    lat: Annotated[str, Form(max_length=20)],
    lon: Annotated[str, Form(max_length=20)],
) -> HTMLResponse | RedirectResponse:
    """Record a violation from the form; a refusal comes back naming the field."""
    form = {"v_kind": kind, "v_occurred_at": occurred_at, "v_lat": lat, "v_lon": lon}
    try:
        body = ViolationIn.model_validate(
            {"kind": kind, "occurred_at": form_time(occurred_at, "occurred_at"),
             "lat": _form_number(lat, "lat"), "lon": _form_number(lon, "lon")}
        )  # fmt: skip
        with session.begin():
            actions.check_record_violation(session, body, actor=actor)
            actions.do_record_violation(session, body, actor=actor, snapper=actions.Snapper.load(session))
    except (DomainError, ValidationError) as exc:
        session.rollback()
        status = exc.status if isinstance(exc, DomainError) else 422
        return _campaigns_page(request, session, status=status, form=form, error=refusal(exc))
    return RedirectResponse("/traffic/campaigns", status_code=303)
