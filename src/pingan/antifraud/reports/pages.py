"""Report pages of the anti-fraud centre: the overview, the report list, one report, imports, clusters."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from pingan.antifraud.banks.directory import BANKS
from pingan.antifraud.reports import actions, queries
from pingan.antifraud.reports.choices import Channel, ReportIntake, SuspectKind, Typology
from pingan.antifraud.reports.imports import import_reports
from pingan.antifraud.reports.model import FraudReport
from pingan.antifraud.reports.schemas import NARRATIVE_MAX_LENGTH, ReportIn, ReportOut
from pingan.antifraud.reports.story import ReportSubject, StoryEntry, story_parts, timeline
from pingan.core import clock, events, listing
from pingan.core.deps import CsrfChecked, DbSession, require_roles
from pingan.core.errors import DomainError
from pingan.core.files import purge_older_than, write_private
from pingan.core.i18n import N_, _
from pingan.core.org import Station, all_stations
from pingan.core.pages import district_zone, fen_from_yuan, render, yuan
from pingan.core.roles import Actor
from pingan.core.scoping import NO_STATION_MESSAGE, no_station, record_list_read, station_condition
from pingan.core.settings import get_settings

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.REPORT_READERS))]
# A report saved from the form with the classifier's suggested typology: its narrative, the
# suggestion and the officer's choice (payload `text`, `suggested`, `chosen`, `by`).
EVENT_REPORT_LABELLED = "antifraud.report_labelled"

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


def _own_entries(out: ReportOut) -> list[StoryEntry]:
    """The report's own lines of its timeline: the fraud, each transfer, the report and its intake."""
    entries = [
        StoryEntry(at=out.fraud_started_at, what=_("Fraud began")),
        *(
            StoryEntry(
                at=t.occurred_at,
                what=_("Transfer %(n)s: %(amount)s to %(account)s")
                % {"n": t.seq + 1, "amount": yuan(t.amount_fen), "account": t.payee_account},
            )
            for t in out.transfers
        ),
        StoryEntry(at=out.reported_at, what=_("Reported to the police")),
    ]
    if out.intake is ReportIntake.REGISTERED and not out.confirmed_by:
        entries.append(StoryEntry(at=out.created_at, what=_("Registered by %(who)s") % {"who": out.officer}))
    else:
        entries.append(StoryEntry(at=out.created_at, what=_("Opened by %(who)s") % {"who": out.source}))
    if out.confirmed_at is not None:
        entries.append(
            StoryEntry(at=out.confirmed_at, what=_("Confirmed by %(who)s") % {"who": out.confirmed_by})
        )
    return entries


# What the report page says after an action (`?done=`): a code, never text from the request.
DONE_MESSAGES = {
    "registered": N_("Report registered: the robot stops the payees' accounts now."),
    "opened": N_("Report saved: it waits for a station officer's confirmation."),
    "confirmed": N_("Report confirmed: the robot stops the payees' accounts now."),
}


# The new-report form's rows: most reports have one to three transfers; more come by import or the API.
FORM_TRANSFERS = 5
FORM_SUSPECTS = 3


def _form_time(value: str) -> str | None:
    """A `datetime-local` value, which the browser sends without a zone, read as Beijing time."""
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # the schema refuses it, naming the field
    return (moment if moment.tzinfo else moment.replace(tzinfo=district_zone())).isoformat()


@dataclass
class _ReportForm:
    """The new-report form as posted: the payload for `ReportIn`, the errors found before it, and
    which form row each transfer and suspect of the payload came from (empty rows are skipped)."""

    payload: dict[str, Any]
    errors: dict[str, str]
    rows: dict[str, list[int]]

    def form_field(self, field: str) -> str:
        """The form's name of a payload field (`transfers.0.x` → the row it came from)."""
        parts = field.split(".")
        if len(parts) >= 2 and parts[0] in self.rows and parts[1].isdigit():
            k = int(parts[1])
            if k < len(self.rows[parts[0]]):
                parts[1] = str(self.rows[parts[0]][k])
        return ".".join(parts)


def _read_report_form(form: Mapping[str, str]) -> _ReportForm:
    """Turn the posted form into the API's `ReportIn` payload (times in Beijing time, yuan in fen)."""
    errors: dict[str, str] = {}
    transfers, transfer_rows = [], []
    for i in range(FORM_TRANSFERS):
        names = ("occurred_at", "amount_yuan", "payer_card", "payer_bank", "payee_account", "payee_bank")
        row = {n: form.get(f"transfers.{i}.{n}", "").strip() for n in (*names, "channel")}
        if not any(row[n] for n in names):
            continue
        try:
            amount = fen_from_yuan(row["amount_yuan"])
        except ValueError as exc:
            errors[f"transfers.{i}.amount_fen"] = str(exc)
            amount = None
        transfer_rows.append(i)
        transfers.append(
            {
                "occurred_at": _form_time(row["occurred_at"]),
                "amount_fen": amount,
                "payer_card": row["payer_card"],
                "payer_bank": row["payer_bank"],
                "payee_account": row["payee_account"],
                "payee_bank": row["payee_bank"],
                "channel": row["channel"] or Channel.MOBILE_BANKING.value,
            }
        )
    suspects, suspect_rows = [], []
    for i in range(FORM_SUSPECTS):
        value = form.get(f"suspects.{i}.value", "").strip()
        if value:
            suspect_rows.append(i)
            suspects.append({"kind": form.get(f"suspects.{i}.kind", ""), "value": value})
    payload: dict[str, Any] = {
        "external_ref": form.get("external_ref", "").strip() or None,
        "victim": {k: form.get(f"victim.{k}", "") for k in ("name", "national_id", "phone")},
        "fraud_started_at": _form_time(form.get("fraud_started_at", "")),
        "reported_at": _form_time(form.get("reported_at", "")),
        "station_code": form.get("station_code", ""),
        "typology": form.get("typology", ""),
        "narrative": form.get("narrative", ""),
        "transfers": transfers,
        "suspects": suspects,
    }
    return _ReportForm(payload, errors, {"transfers": transfer_rows, "suspects": suspect_rows})


def _new_report_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    *,
    status: int = 200,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    now = clock.now().astimezone(district_zone()).strftime("%Y-%m-%dT%H:%M")
    defaults = {"station_code": actor.station_code or "", "reported_at": now}
    return render(
        request,
        "new_report.html",
        status,
        values={**defaults, "idempotency_key": secrets.token_hex(16), **(values or {})},
        errors=dict(errors or {}),
        stations=all_stations(session),
        typologies=list(Typology),
        channels=list(Channel),
        suspect_kinds=list(SuspectKind),
        banks=BANKS,
        transfer_rows=range(FORM_TRANSFERS),
        suspect_rows=range(FORM_SUSPECTS),
        narrative_max=NARRATIVE_MAX_LENGTH,
    )


@router.get("/reports/new", response_class=HTMLResponse)
def new_report_form(request: Request, session: DbSession, actor: Writer) -> HTMLResponse:
    """The new-report form (受案登记): what `POST /api/v1/fraud-reports` takes, field by field."""
    return _new_report_page(request, session, actor)


@router.post("/reports/new", response_class=HTMLResponse, response_model=None)
async def new_report_submit(
    request: Request, session: DbSession, actor: Writer, _csrf: CsrfChecked
) -> HTMLResponse | RedirectResponse:
    """Register a report from the form, with the API's validation (`ReportIn`, then `check_*`).

    A refusal shows each message beside its field with the values entered, and answers 422 (409 for
    a reference registered already); nothing is written. A form posted twice registers once (its
    idempotency key).
    """
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf_token"}
    return await run_in_threadpool(_register_from_form, request, session, actor, values)


def _register_from_form(
    request: Request, session: DbSession, actor: Actor, values: dict[str, str]
) -> HTMLResponse | RedirectResponse:
    form = _read_report_form(values)
    try:
        body = ReportIn.model_validate(form.payload)
    except ValidationError as exc:
        errors = dict(form.errors)
        for e in exc.errors():
            field = form.form_field(".".join(str(p) for p in e["loc"]) or "body")
            errors.setdefault(field, str(e["msg"]))
        return _new_report_page(request, session, actor, status=422, values=values, errors=errors)
    if form.errors:
        return _new_report_page(request, session, actor, status=422, values=values, errors=form.errors)
    key = values.get("idempotency_key", "")[:128] or None
    try:
        session.rollback()
        with session.begin():
            outcome = actions.register_report(
                session, actions.NewReport(report=body, actor=actor, idempotency_key=key)
            )
            suggested = values.get("suggested_typology", "")[:40]
            if suggested and outcome.created and body.narrative.strip():
                # The officer's typology is final; the classifier's suggestion came with the form. A
                # subscriber (web/reactions.py) logs a differing choice as training data.
                events.emit(
                    session,
                    EVENT_REPORT_LABELLED,
                    text=body.narrative,
                    suggested=suggested,
                    chosen=body.typology.value,
                    by=actor.username,
                )
    except DomainError as exc:
        errors = {form.form_field(exc.field or "body"): exc.message}
        return _new_report_page(request, session, actor, status=exc.status, values=values, errors=errors)
    done = "registered" if outcome.report.intake is ReportIntake.REGISTERED else "opened"
    return RedirectResponse(f"/reports/{outcome.report.id}?done={done}", status_code=303)


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(
    request: Request, report_id: int, session: DbSession, actor: Reader, error: str = "", done: str = ""
) -> HTMLResponse:
    """A report's whole story, masked; opening it is audited. The transfers, the orders at each bank,
    the findings and their decisions, the trace, the warnings sent to the victim, the linked cases and
    a timeline of everything, newest first. A report awaiting an officer offers another officer than
    the one who entered it the confirmation; a report of another station is 404 to an officer."""
    with session.begin():
        report = actions.get_visible_report(session, report_id, actor=actor)
        actions.do_record_report_view(session, report, actor=actor)
    out = queries.report_out(session, report)
    station = session.get(Station, out.station_code)
    subject = ReportSubject(
        id=report.id,
        external_ref=report.external_ref,
        station_code=report.station_code,
        victim_pseudonym=report.victim_id.pseudonym,
    )
    parts = story_parts(session, subject, actor=actor)
    cluster = queries.get_cluster(session, out.cluster.id, actor=actor)
    return render(
        request,
        "report.html",
        r=out,
        station_name=station.name if station else out.station_code,
        may_confirm=actor.role in actions.REPORT_CONFIRMERS and report.created_by != actor.username,
        error=error[:300] or None,
        done=_(DONE_MESSAGES[done]) if done in DONE_MESSAGES else None,
        parts=parts,
        linked=[c for c in cluster.reports if c.id != out.id],
        shared=cluster.shared,
        timeline=timeline(_own_entries(out), parts),
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
    return RedirectResponse(f"/reports/{report_id}?done=confirmed", status_code=303)


@router.get("/clusters/{cluster_id}", response_class=HTMLResponse)
def cluster_page(request: Request, cluster_id: int, session: DbSession, actor: Reader) -> HTMLResponse:
    """A linked-case cluster and its shared identifiers."""
    c = queries.get_cluster(session, cluster_id, actor=actor)
    return render(request, "cluster.html", c=c, refs={r.id: r.external_ref for r in c.reports})
