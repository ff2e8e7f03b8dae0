"""The dispatcher's live map (/command/map) and the big screen (/command/bigscreen).

The map has no tile server: its style's sources are GeoJSON served here (station areas, incidents,
units), so it works on a network with no way out. MapLibre GL JS (its ES module build) is served from node_modules.
A `map` event of the live stream names the incidents and units that changed; the page's script
fetches only those (`?ids=`) and merges them into what it shows. A full refetch runs on load and
every few minutes, so that incidents leave the time window: a busy day's event does not cost a read
of the whole day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from pingan.command import actions, rules
from pingan.command.actions import chain_of
from pingan.command.categories import catalogue
from pingan.command.choices import Disposition, IncidentStatus, Priority, UnitState
from pingan.command.model import Incident, Unit
from pingan.command.queries import BEIJING, incidents_in_view, units_in_view
from pingan.core import clock, listing, names
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.errors import Invalid
from pingan.core.i18n import N_, label
from pingan.core.live import Change, Message, Topic
from pingan.core.migrate import REPO_ROOT
from pingan.core.org import all_stations
from pingan.core.pages import beijing_time, render
from pingan.core.roles import Actor
from pingan.core.scoping import record_list_read

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]

MAPLIBRE_DIST = REPO_ROOT / "node_modules" / "maplibre-gl" / "dist"
# The time windows the map offers, in hours; the first day is the default.
WINDOWS_H = ("1", "6", "24", "72", "168")
DEFAULT_WINDOW_H = "24"
BUSY = (UnitState.ASSIGNED, UnitState.DISPATCHED, UnitState.EN_ROUTE, UnitState.ON_SCENE)


@dataclass(frozen=True)
class MapFilters:
    """What the map shows: incidents received in the last `window_h` hours, of a category (a code
    and every code under it), a station and a priority."""

    window_h: int
    category: str | None
    station: str | None
    priority: Priority | None

    def audited(self) -> dict[str, Any]:
        """The filters as the audit log records them."""
        return {
            "window_h": self.window_h,
            "category": self.category,
            "station": self.station,
            "priority": self.priority.value if self.priority else None,
        }

    def query_string(self) -> str:
        """The filters as a query string, for the page's data and export links."""
        pairs = {
            "window": str(self.window_h),
            "category": self.category or "",
            "station": self.station or "",
            "priority": self.priority.value if self.priority else "",
        }
        return urlencode({k: v for k, v in pairs.items() if v})


def map_filters(
    window: Annotated[str, Query(max_length=4)] = DEFAULT_WINDOW_H,
    category: Annotated[str, Query(max_length=8)] = "",
    station: Annotated[str, Query(max_length=32)] = "",
    priority: Annotated[str, Query(max_length=2)] = "",
) -> MapFilters:
    """The map's filters from the query string; Invalid naming the field that is wrong."""
    hours = listing.choice_filter(window or DEFAULT_WINDOW_H, WINDOWS_H, "window")
    code = category.strip() or None
    if code is not None and catalogue().get(code) is None:
        raise Invalid(f"unknown category {code!r} (catalogue {catalogue().version})", field="category")
    return MapFilters(
        window_h=int(hours or DEFAULT_WINDOW_H),
        category=code,
        station=station.strip() or None,
        priority=listing.enum_filter(priority, Priority, "priority"),
    )


Filters = Annotated[MapFilters, Depends(map_filters)]
# At most this many ids in one `?ids=` read (a `map` event names what changed in one poll).
MAX_IDS = 500


def only_ids(ids: Annotated[list[int] | None, Query(max_length=MAX_IDS)] = None) -> list[int] | None:
    """The ids a live map asks for after an event; None asks for everything the filters keep."""
    if ids is not None and any(i < 1 for i in ids):
        raise Invalid("ids are positive integers", field="ids")
    return ids


Ids = Annotated[list[int] | None, Depends(only_ids)]


def incident_query(actor: Actor, filters: MapFilters, *, now: datetime) -> Select[Any]:
    """The incidents (new ones: an attached call is shown by its incident) the filters keep, within
    the actor's station view, newest first."""
    q = select(Incident).where(
        incidents_in_view(actor),
        Incident.disposition == Disposition.NEW,
        Incident.received_at >= now - timedelta(hours=filters.window_h),
    )
    if filters.category:
        q = q.where(Incident.category_code.startswith(filters.category, autoescape=True))
    if filters.station:
        q = q.where(Incident.station_code == filters.station)
    if filters.priority:
        q = q.where(Incident.priority == filters.priority)
    return q.order_by(Incident.received_at.desc(), Incident.id.desc())


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def incident_features(
    session: Session, actor: Actor, filters: MapFilters, *, now: datetime, ids: list[int] | None = None
) -> dict[str, Any]:
    """The filtered incidents with coordinates as a GeoJSON FeatureCollection (of `ids` only, when
    given). A feature carries what the popup shows and the layers style by; never the caller (not
    even masked) nor the call text."""
    cat = catalogue()
    q = incident_query(actor, filters, now=now).where(Incident.lat.is_not(None), Incident.lon.is_not(None))
    if ids is not None:
        q = q.where(Incident.id.in_(ids))
    rows = session.execute(q.options(selectinload(Incident.events))).scalars()
    features = []
    for i in rows:
        assert isinstance(i, Incident) and i.lat is not None and i.lon is not None
        chain = chain_of(i, now=now)
        features.append(
            {
                "type": "Feature",
                "id": i.id,
                "geometry": _point(i.lon, i.lat),
                "properties": {
                    "id": i.id,
                    "priority": i.priority.value,
                    "priority_label": label(i.priority),
                    "category": cat.display(i.category_code),
                    "received": beijing_time(i.received_at, "%m-%d %H:%M:%S"),
                    "status": i.status.value,
                    "status_label": label(i.status),
                    "station": i.station_code or "",
                    "station_name": names.station(i.station_code),
                    "address": i.address,
                    "breached": chain.breached,
                    "url": f"/command/incidents/{i.id}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def unit_features(
    session: Session, actor: Actor, filters: MapFilters, *, ids: list[int] | None = None
) -> dict[str, Any]:
    """The units of the actor's view (and the station filter) with a position, with their state
    (of `ids` only, when given)."""
    q = select(Unit).where(units_in_view(actor), Unit.lat.is_not(None), Unit.lon.is_not(None))
    if ids is not None:
        q = q.where(Unit.id.in_(ids))
    if filters.station:
        q = q.where(Unit.station_code == filters.station)
    features = []
    for u in session.execute(q.order_by(Unit.call_sign)).scalars():
        assert u.lat is not None and u.lon is not None
        features.append(
            {
                "type": "Feature",
                "id": u.id,
                "geometry": _point(u.lon, u.lat),
                "properties": {
                    "id": u.id,
                    "call_sign": u.call_sign,
                    "state": u.state.value,
                    "state_label": label(u.state),
                    "station": u.station_code,
                    "station_name": names.station(u.station_code),
                    "incident_id": u.incident_id,
                    "fix": beijing_time(u.fix_at, "%m-%d %H:%M:%S") if u.fix_at else "",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def station_features(session: Session) -> dict[str, Any]:
    """Every station's area polygon (the map's base layer), with its code and name."""
    features = []
    for s in all_stations(session):
        if not s.area_geojson:
            continue
        geometry = json.loads(s.area_geojson)
        if geometry.get("type") == "Feature":
            geometry = geometry.get("geometry") or {}
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        features.append(
            {"type": "Feature", "geometry": geometry, "properties": {"code": s.code, "name": s.name}}
        )
    return {"type": "FeatureCollection", "features": features}


def _geojson(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, media_type="application/geo+json")


@dataclass(frozen=True)
class Figures:
    """The big screen's key figures of the Beijing-time day so far, within the reader's view."""

    calls_today: int
    open_incidents: int
    units_available: int
    units_busy: int
    sign_off: rules.Share
    on_scene: rules.Share

    def as_json(self) -> dict[str, Any]:
        """The figures as the big screen's script reads them."""
        return {
            "calls_today": self.calls_today,
            "open_incidents": self.open_incidents,
            "units_available": self.units_available,
            "units_busy": self.units_busy,
            "sign_off_pct": self.sign_off.percent,
            "sign_off_of": self.sign_off.total,
            "on_scene_pct": self.on_scene.percent,
            "on_scene_of": self.on_scene.total,
        }


def day_figures(session: Session, actor: Actor, *, now: datetime) -> Figures:
    """Calls received since Beijing midnight (every call, whatever its disposition), open incidents,
    units available and busy, and today's shares of sign-off and on-scene within target (the same
    counting as the weekly bulletin)."""
    midnight = datetime.combine(now.astimezone(BEIJING).date(), time(0), tzinfo=BEIJING).astimezone(UTC)
    calls = session.execute(
        select(func.count())
        .select_from(Incident)
        .where(incidents_in_view(actor), Incident.received_at >= midnight)
    ).scalar_one()
    open_n = session.execute(
        select(func.count())
        .select_from(Incident)
        .where(
            incidents_in_view(actor),
            Incident.status == IncidentStatus.OPEN,
            Incident.disposition == Disposition.NEW,
        )
    ).scalar_one()
    states: dict[UnitState, int] = {
        state: int(n)
        for state, n in session.execute(
            select(Unit.state, func.count()).where(units_in_view(actor)).group_by(Unit.state)
        ).all()
    }
    today = session.execute(
        select(Incident)
        .where(
            incidents_in_view(actor),
            Incident.disposition == Disposition.NEW,
            Incident.received_at >= midnight,
        )
        .options(selectinload(Incident.events))
    ).scalars()
    bulletin = rules.weekly_bulletin([chain_of(i, now=now) for i in today], [])
    return Figures(
        calls_today=int(calls),
        open_incidents=int(open_n),
        units_available=int(states.get(UnitState.AVAILABLE, 0)),
        units_busy=sum(int(states.get(s, 0)) for s in BUSY),
        sign_off=bulletin.sign_off,
        on_scene=bulletin.on_scene,
    )


# ------------------------------------------------------------------------------------------- routes


@router.get("/command/map", response_class=HTMLResponse)
def map_page(request: Request, session: DbSession, actor: Reader, filters: Filters) -> HTMLResponse:
    """The live map with its filter form; the data comes from the GeoJSON routes below."""
    with session.begin():
        stations = all_stations(session)
    return render(
        request,
        "command_map.html",
        filters=filters,
        query=filters.query_string(),
        windows=WINDOWS_H,
        stations=stations,
        categories=sorted(catalogue().by_code.values(), key=lambda c: c.code),
        cat=catalogue(),
        priorities=list(Priority),
        unit_states=list(UnitState),
        bigscreen=False,
    )


@router.get("/command/bigscreen", response_class=HTMLResponse)
def bigscreen_page(request: Request, session: DbSession, actor: Reader, filters: Filters) -> HTMLResponse:
    """The map full screen, with the day's key figures drawn by ECharts."""
    with session.begin():
        figures = day_figures(session, actor, now=clock.now())
    return render(
        request,
        "command_bigscreen.html",
        filters=filters,
        query=filters.query_string(),
        figures_json=json.dumps(figures.as_json()),
        figures=figures,
    )


@router.get("/command/map/incidents.geojson")
def incidents_geojson(session: DbSession, actor: Reader, filters: Filters, ids: Ids) -> JSONResponse:
    """The incidents the filters keep, within the reader's view (of `ids` only, when given: an id
    missing from the answer has left the filters or the view). The read is audited."""
    with session.begin():
        body = incident_features(session, actor, filters, now=clock.now(), ids=ids)
        audited = filters.audited() if ids is None else {**filters.audited(), "ids": ids}
        record_list_read(
            session, actor=actor, listing="incident", filters=audited, count=len(body["features"])
        )
    return _geojson(body)


@router.get("/command/map/units.geojson")
def units_geojson(session: DbSession, actor: Reader, filters: Filters, ids: Ids) -> JSONResponse:
    """The units of the reader's view with a position, and their states (of `ids` only, when given)."""
    with session.begin():
        return _geojson(unit_features(session, actor, filters, ids=ids))


@router.get("/command/map/stations.geojson")
def stations_geojson(session: DbSession, actor: Reader) -> JSONResponse:
    """The station areas: the map's base layer."""
    with session.begin():
        return _geojson(station_features(session))


@router.get("/command/bigscreen/figures.json")
def figures_json(session: DbSession, actor: Reader) -> JSONResponse:
    """The day's key figures, refetched by the big screen on each live event."""
    with session.begin():
        return JSONResponse(day_figures(session, actor, now=clock.now()).as_json())


SPEC = listing.ListSpec(
    name="incident",
    sorts={"received_at": Incident.received_at},
    default_sort="-received_at",
    id_column=Incident.id,
)
C = listing.CellKind
EXPORT_COLUMNS = (
    listing.ExportColumn(N_("Incident"), "id", C.NUMBER),
    listing.ExportColumn(N_("Received"), "received_at", C.TIME),
    listing.ExportColumn(N_("Priority"), "priority", C.LABEL),
    listing.ExportColumn(N_("Category"), "category_code", convert=lambda c: catalogue().display(c)),
    listing.ExportColumn(N_("Status"), "status", C.LABEL),
    listing.ExportColumn(N_("Station"), "station_code"),
    listing.ExportColumn(N_("Address"), "address"),
    listing.ExportColumn(N_("Latitude"), "lat", C.NUMBER),
    listing.ExportColumn(N_("Longitude"), "lon", C.NUMBER),
    listing.ExportColumn(N_("Location"), "location_flag", C.LABEL),
)


@router.get("/command/map/export.csv")
def export_csv(session: DbSession, actor: Reader, filters: Filters) -> Response:
    """The incidents the filters keep (with or without coordinates), as CSV, with its audit entry.
    No caller data: the columns are the map's."""
    now = clock.now()
    cols: list[Any] = [
        Incident.id,
        Incident.received_at,
        Incident.priority,
        Incident.category_code,
        Incident.status,
        Incident.station_code,
        Incident.address,
        Incident.lat,
        Incident.lon,
        Incident.location_flag,
    ]
    query = incident_query(actor, filters, now=now).with_only_columns(*cols).order_by(None)
    return listing.export_response(
        session,
        actor=actor,
        spec=SPEC,
        query=query,
        sort=listing.parse_sort(SPEC, None),
        columns=EXPORT_COLUMNS,
        fmt="csv",
        filters=filters.audited(),
        filename="incidents-map",
    )


# The files of MapLibre's ES module build the page loads: the library, its worker (which the library
# starts from its own address, so the page's CSP needs no blob: worker) and its stylesheet.
MAPLIBRE_FILES = {
    "maplibre-gl.mjs": "application/javascript",
    "maplibre-gl-shared.mjs": "application/javascript",
    "maplibre-gl-worker.mjs": "application/javascript",
    "maplibre-gl.css": "text/css",
}


@router.get("/static/vendor/maplibre-gl/{name}")
def maplibre_file(name: str) -> Response:
    """MapLibre GL JS, installed from the npm registry by `make` (package.json): the map pages'
    library, served from our own origin (nothing is fetched from elsewhere)."""
    media_type = MAPLIBRE_FILES.get(name)
    path = MAPLIBRE_DIST / name
    if media_type is None or not path.exists():
        return Response(status_code=404)
    return FileResponse(path, media_type=media_type)


# ------------------------------------------------------------------------------------- live topic


def render_change(session: Session, actor: Actor, changes: list[Change]) -> list[Message]:
    """One `map` event per read, as JSON: the incidents and units that changed within the
    reader's view (`{"incidents": [...], "units": [...]}`); the map fetches those and merges them."""
    incident_ids = sorted({i for c in changes if c.action.startswith("incident.") for i in c.ids})
    unit_ids = sorted({i for c in changes if c.action.startswith("unit.") for i in c.ids})
    seen_incidents = (
        list(
            session.execute(
                select(Incident.id).where(Incident.id.in_(incident_ids), incidents_in_view(actor))
            ).scalars()
        )
        if incident_ids
        else []
    )
    seen_units = (
        list(session.execute(select(Unit.id).where(Unit.id.in_(unit_ids), units_in_view(actor))).scalars())
        if unit_ids
        else []
    )
    if not seen_incidents and not seen_units:
        return []
    return [Message("map", json.dumps({"incidents": sorted(seen_incidents), "units": sorted(seen_units)}))]


def changed_ids(object_id: str, detail: dict[str, Any]) -> tuple[int, ...]:
    """The objects an entry names: its own id, or a batch of positions' units (`detail["units"]`)."""
    if object_id.isdigit():
        return (int(object_id),)
    return tuple(int(u) for u in detail.get("units", []))


TOPIC = Topic(
    name="map",
    roles=actions.READERS,
    actions=(
        "incident.take_call",
        "incident.sign_off",
        "unit.move",
        "unit.position",
        actions.POSITIONS_ACTION,
    ),
    render=render_change,
    ids=changed_ids,
    needs_detail=True,
)
