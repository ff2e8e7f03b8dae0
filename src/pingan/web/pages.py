"""Server-rendered pages (Jinja2, htmx where it helps; every page also works without JavaScript)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.antifraud.banks.directory import BANKS
from pingan.antifraud.reports import actions, queries
from pingan.antifraud.reports.imports import import_reports
from pingan.antifraud.reports.model import FraudReport, Typology
from pingan.antifraud.reports.schemas import ReportPage
from pingan.core.auth import TOKEN_COOKIE, authenticate, issue_token, require_roles
from pingan.core.db import session_dependency
from pingan.core.errors import DomainError, Unauthorized
from pingan.core.migrate import REPO_ROOT
from pingan.core.org import Station, all_stations
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
HTMX_JS = REPO_ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"

router = APIRouter(include_in_schema=False)
DbSession = Annotated[Session, Depends(session_dependency)]
AntiFraudReader = Annotated[
    Actor, Depends(require_roles(Role.OFFICER, Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR))
]
AntiFraudWriter = Annotated[Actor, Depends(require_roles(Role.OFFICER, Role.ANTIFRAUD_ANALYST))]


def _render(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    context.setdefault("actor", getattr(request.state, "actor", None))
    context["htmx"] = HTMX_JS.exists()
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/static/vendor/htmx.min.js")
def htmx_js() -> Response:
    """htmx, installed from the npm registry by `make` (package.json); pages work without it."""
    if not HTMX_JS.exists():
        return Response(status_code=404)
    return FileResponse(HTMX_JS, media_type="application/javascript")


def _safe_next(target: str) -> str:
    # Only same-site paths: an open redirect after login would be a phishing gift.
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form."""
    return _render(request, "login.html", next=_safe_next(next), error=None, actor=None)


@router.post("/login", response_model=None)
def login_submit(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials and set the token cookie."""
    try:
        user = authenticate(session, username, password)
    except Unauthorized as exc:
        return _render(request, "login.html", 401, next=_safe_next(next), error=exc.message, actor=None)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        issue_token(user),
        httponly=True,
        samesite="strict",
        max_age=get_settings().token_ttl_minutes * 60,
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    """Drop the token cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DbSession, actor: AntiFraudReader) -> HTMLResponse:
    """The anti-fraud centre's overview."""
    total, amount = session.execute(
        select(func.count(FraudReport.id), func.coalesce(func.sum(FraudReport.total_amount_fen), 0))
    ).one()
    typ = sorted(queries.typology_counts(session).items(), key=lambda kv: -kv[1])
    return _render(
        request,
        "home.html",
        total_reports=int(total),
        total_amount_fen=int(amount),
        typologies=typ,
        max_typ=max((n for _, n in typ), default=0),
        clusters=queries.largest_clusters(session),
    )


def _day_start(d: date | None) -> datetime | None:
    return None if d is None else datetime.combine(d, time(0), tzinfo=UTC)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: DbSession,
    actor: AntiFraudReader,
    date_from: str = "",
    date_to: str = "",
    typology: str = "",
    station: str = "",
    bank: str = "",
    cursor: str = "",
) -> HTMLResponse:
    """The report list with filters."""
    stations = all_stations(session)
    error = None
    page = ReportPage(items=[], next_cursor=None)
    try:
        d_from = date.fromisoformat(date_from) if date_from else None
        d_to = date.fromisoformat(date_to) if date_to else None
        f = queries.ReportFilter(
            reported_from=_day_start(d_from),
            reported_to=_day_start(d_to + timedelta(days=1)) if d_to else None,
            typology=Typology(typology) if typology else None,
            station_code=station or None,
            bank=bank or None,
        )
        page = queries.list_reports(session, f, cursor=cursor or None, limit=50)
    except (ValueError, DomainError) as exc:
        error = f"筛选条件有误 bad filter: {exc}"
    raw = {"date_from": date_from, "date_to": date_to, "typology": typology, "station": station, "bank": bank}
    next_query = urlencode({**{k: v for k, v in raw.items() if v}, "cursor": page.next_cursor or ""})
    return _render(
        request,
        "reports.html",
        page=page,
        f=raw,
        error=error,
        typologies=list(Typology),
        stations=stations,
        station_names={s.code: s.name for s in stations},
        banks=BANKS,
        next_query=next_query,
    )


@router.get("/reports/import", response_class=HTMLResponse)
def import_form(request: Request, actor: AntiFraudWriter) -> HTMLResponse:
    """The import form."""
    return _render(request, "import.html", summary=None)


@router.post("/reports/import", response_class=HTMLResponse)
def import_submit(
    request: Request, actor: AntiFraudWriter, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    """Import an uploaded file and show the summary."""
    name = Path(file.filename or "upload.jsonl").name
    suffix = ".csv" if name.lower().endswith(".csv") else ".jsonl"
    uploads = get_settings().data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    stored = uploads / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}{suffix}"
    stored.write_bytes(file.file.read())
    summary = import_reports(stored, actor=actor)
    return _render(request, "import.html", summary=summary)


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(request: Request, report_id: int, session: DbSession, actor: AntiFraudReader) -> HTMLResponse:
    """One report, masked; opening it is audited."""
    with session.begin():
        report = actions.get_report(session, report_id)
        actions.do_record_report_view(session, report, actor=actor)
    out = queries.report_out(session, report)
    station = session.get(Station, out.station_code)
    return _render(request, "report.html", r=out, station_name=station.name if station else out.station_code)


@router.get("/clusters/{cluster_id}", response_class=HTMLResponse)
def cluster_page(
    request: Request, cluster_id: int, session: DbSession, actor: AntiFraudReader
) -> HTMLResponse:
    """A linked-case cluster and its shared identifiers."""
    c = queries.get_cluster(session, cluster_id)
    return _render(request, "cluster.html", c=c, refs={r.id: r.external_ref for r in c.reports})
