"""Report pages of the anti-fraud centre: the overview, the report list, one report, imports, clusters."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy import func, select

from pingan.antifraud.banks.directory import BANKS
from pingan.antifraud.reports import actions, queries
from pingan.antifraud.reports.choices import ReportIntake, Typology
from pingan.antifraud.reports.imports import import_reports
from pingan.antifraud.reports.model import FraudReport
from pingan.core import clock, listing
from pingan.core.deps import CsrfChecked, DbSession, require_roles
from pingan.core.errors import DomainError
from pingan.core.files import purge_older_than, write_private
from pingan.core.org import Station, all_stations
from pingan.core.pages import render
from pingan.core.roles import Actor
from pingan.core.scoping import NO_STATION_MESSAGE, no_station, record_list_read, station_condition
from pingan.core.settings import get_settings

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.REPORT_READERS))]
Writer = Annotated[Actor, Depends(require_roles(*actions.REPORT_WRITERS))]
Confirmer = Annotated[Actor, Depends(require_roles(*actions.REPORT_CONFIRMERS))]
ListQuery = Annotated[listing.ListParams, Depends(listing.list_params)]


@router.get("/antifraud", response_class=HTMLResponse)
def home(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    """The anti-fraud centre's overview, of the reader's station view (the district's for district-wide
    roles and grants)."""
    total, amount = session.execute(
        select(func.count(FraudReport.id), func.coalesce(func.sum(FraudReport.total_amount_fen), 0)).where(
            station_condition(actor, FraudReport.station_code)
        )
    ).one()
    typ = sorted(queries.typology_counts(session, actor=actor).items(), key=lambda kv: -kv[1])
    return render(
        request,
        "home.html",
        total_reports=int(total),
        total_amount_fen=int(amount),
        typologies=typ,
        max_typ=max((n for _, n in typ), default=0),
        clusters=queries.largest_clusters(session, actor=actor),
    )


def _report_filter(
    status: str, station: str, date_from: str, date_to: str, typology: str, bank: str, q: str
) -> queries.ReportListFilter:
    """The report list's filters from the query string; Invalid naming the bad one."""
    return queries.ReportListFilter(
        status=listing.enum_filter(status, ReportIntake, "status"),
        station=station or None,
        date_from=listing.date_filter(date_from, "date_from"),
        date_to=listing.date_filter(date_to, "date_to"),
        typology=listing.enum_filter(typology, Typology, "typology"),
        bank=listing.choice_filter(bank, [b.code for b in BANKS], "bank"),
        search=listing.parse_search(q),
    )


def _audited_filters(f: queries.ReportListFilter) -> dict[str, object]:
    return listing.filters_for_audit(
        {
            "status": f.status,
            "station": f.station,
            "date_from": f.date_from,
            "date_to": f.date_to,
            "typology": f.typology,
            "bank": f.bank,
        },
        f.search,
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    params: ListQuery,
    status: Annotated[str, Query(max_length=32)] = "",
    station: Annotated[str, Query(max_length=32)] = "",
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
    typology: Annotated[str, Query(max_length=32)] = "",
    bank: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """The report list of the officer's station (the district's, for district-wide roles and grants):
    filters, search, sorting and cursor paging; the read is audited. Bad parameters are 422 naming
    the parameter."""
    stations = all_stations(session)
    sort = listing.parse_sort(queries.REPORT_LIST, params.sort)
    f = _report_filter(status, station, date_from, date_to, typology, bank, params.q)
    session.rollback()  # the read and its audit entry are one transaction of their own
    with session.begin():
        page = listing.fetch_page(
            session,
            queries.REPORT_LIST,
            queries.report_list_query(f, actor=actor),
            sort,
            cursor=params.cursor,
            limit=params.limit,
        )
        record_list_read(
            session,
            actor=actor,
            listing="fraud_report",
            filters={**_audited_filters(f), "sort": params.sort or None, "cursor": params.cursor or None},
            count=len(page.rows),
        )
    raw = {
        "status": status,
        "station": station,
        "date_from": date_from,
        "date_to": date_to,
        "typology": typology,
        "bank": bank,
        **params.carried(),
    }
    return render(
        request,
        "reports.html",
        lst=listing.ListView(
            path="/reports",
            params=raw,
            page=page,
            export_path="/reports/export",
            error=NO_STATION_MESSAGE if no_station(actor) else None,
        ),
        f=raw,
        typologies=list(Typology),
        statuses=list(ReportIntake),
        stations=stations,
        banks=BANKS,
        may_confirm=actor.role in actions.REPORT_CONFIRMERS,
    )


@router.get("/reports/export", response_model=None)
def reports_export(
    session: DbSession,
    actor: Reader,
    params: ListQuery,
    format: Annotated[str, Query(max_length=8)] = "csv",
    status: Annotated[str, Query(max_length=32)] = "",
    station: Annotated[str, Query(max_length=32)] = "",
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
    typology: Annotated[str, Query(max_length=32)] = "",
    bank: Annotated[str, Query(max_length=16)] = "",
) -> StreamingResponse:
    """Every report the list's filters select, in its order, as CSV or XLSX: masked as on the page,
    within the reader's station view, audited (`fraud_report.export`)."""
    fmt = listing.export_format(format)
    sort = listing.parse_sort(queries.REPORT_LIST, params.sort)
    f = _report_filter(status, station, date_from, date_to, typology, bank, params.q)
    return listing.export_response(
        session,
        actor=actor,
        spec=queries.REPORT_LIST,
        query=queries.report_list_query(f, actor=actor),
        sort=sort,
        columns=queries.REPORT_EXPORT,
        fmt=fmt,
        filters={**_audited_filters(f), "sort": sort.param},
        filename="reports",
    )


@router.get("/reports/import", response_class=HTMLResponse)
def import_form(request: Request, actor: Writer) -> HTMLResponse:
    """The import form."""
    return render(request, "import.html", summary=None)


@router.post("/reports/import", response_class=HTMLResponse)
def import_submit(
    request: Request, actor: Writer, _csrf: CsrfChecked, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    """Import an uploaded file and show the summary."""
    name = Path(file.filename or "upload.jsonl").name
    suffix = ".csv" if name.lower().endswith(".csv") else ".jsonl"
    settings = get_settings()
    uploads = settings.data_dir / "uploads"
    uploads.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = clock.now()
    # Uploads and their quarantine copies hold personal data in clear: kept only for the retention period.
    purge_older_than(uploads, timedelta(days=settings.upload_retention_days), now=now)
    stored = write_private(uploads / f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}{suffix}", file.file.read())
    summary = import_reports(stored, actor=actor)
    return render(request, "import.html", summary=summary)


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(
    request: Request, report_id: int, session: DbSession, actor: Reader, error: str = ""
) -> HTMLResponse:
    """One report, masked; opening it is audited. A report awaiting an officer offers officers the
    confirmation; a report of another station is 404 to an officer."""
    with session.begin():
        report = actions.get_visible_report(session, report_id, actor=actor)
        actions.do_record_report_view(session, report, actor=actor)
    out = queries.report_out(session, report)
    station = session.get(Station, out.station_code)
    return render(
        request,
        "report.html",
        r=out,
        station_name=station.name if station else out.station_code,
        may_confirm=actor.role in actions.REPORT_CONFIRMERS,
        error=error[:300] or None,
    )


@router.post("/reports/{report_id}/confirm", response_model=None)
def confirm_report(
    request: Request, report_id: int, session: DbSession, actor: Confirmer, _csrf: CsrfChecked
) -> RedirectResponse:
    """An officer confirms a report that waits (受案登记): it is registered, and the robot starts on it."""
    try:
        with session.begin():
            report = actions.get_visible_report(session, report_id, actor=actor)
            actions.check_confirm_report(report, actor=actor)
            actions.do_confirm_report(session, report, actor=actor)
    except DomainError as exc:
        return RedirectResponse(f"/reports/{report_id}?{urlencode({'error': str(exc)})}", status_code=303)
    return RedirectResponse(f"/reports/{report_id}", status_code=303)


@router.get("/clusters/{cluster_id}", response_class=HTMLResponse)
def cluster_page(request: Request, cluster_id: int, session: DbSession, actor: Reader) -> HTMLResponse:
    """A linked-case cluster and its shared identifiers."""
    c = queries.get_cluster(session, cluster_id, actor=actor)
    return render(request, "cluster.html", c=c, refs={r.id: r.external_ref for r in c.reports})
