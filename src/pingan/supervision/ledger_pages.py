"""Pages of the seized-property ledger: the store's reconciliation (with its CSV), the hand-overs
awaiting the reader's signature, and a case's items."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import literal_column, select

from pingan.core import clock, listing
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.errors import DomainError
from pingan.core.i18n import N_, _
from pingan.core.org import Station
from pingan.core.pages import ECHARTS_JS, beijing_time, page_message, render
from pingan.core.roles import Actor
from pingan.supervision import actions, ledger, scores
from pingan.supervision.model import PropertyItem, PropertyMovement, SupervisionCase
from pingan.supervision.pack import in_force

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.CASE_READERS))]
Writer = Annotated[Actor, Depends(require_roles(*actions.CASE_WRITERS))]


def _awaiting(
    session: DbSession, actor: Actor
) -> list[tuple[PropertyMovement, PropertyItem, SupervisionCase]]:
    rows = session.execute(
        select(PropertyMovement, PropertyItem, SupervisionCase)
        .join(PropertyItem, PropertyItem.id == PropertyMovement.item_id)
        .join(SupervisionCase, SupervisionCase.id == PropertyItem.case_id)
        .where(PropertyMovement.to_user == actor.username, PropertyMovement.confirmed_at.is_(None))
        .order_by(PropertyMovement.id)
    ).all()
    return [(m, i, c) for m, i, c in rows if actor.sees_station(c.station_code)]


def _page(
    request: Request, session: DbSession, actor: Actor, *, status: int = 200, error: str | None = None
) -> HTMLResponse:
    now = clock.now()
    session.rollback()
    with session.begin():
        rec = ledger.reconcile(session, actor, now=now)
        awaiting = _awaiting(session, actor)
    return render(
        request,
        "supervision_property.html",
        rec=rec,
        problems=ledger.PROBLEMS,
        awaiting=awaiting,
        error=error,
        status_code=status,
    )


@router.get("/supervision/property", response_class=HTMLResponse, response_model=None)
def reconciliation_page(
    request: Request, session: DbSession, actor: Reader, format: Annotated[str, Query(max_length=8)] = ""
) -> HTMLResponse | Response:
    """What the store should hold against what it does; `?format=csv` downloads the lines (audited)."""
    if not format:
        return _page(request, session, actor)
    if format != "csv":
        return _page(request, session, actor, status=422, error=_("Export as CSV."))
    now = clock.now()
    with session.begin():
        rec = ledger.reconcile(session, actor, now=now)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([_("Case"), _("Item"), _("Problem"), _("Holder"), _("Since") + " (UTC+8)"])
        for ln in rec.lines:
            writer.writerow(
                [
                    listing._defused(ln.case_number),
                    listing._defused(ln.label),
                    _(ledger.PROBLEMS[ln.problem]),
                    listing._defused(ln.holder),
                    beijing_time(ln.since, "%Y-%m-%d %H:%M:%S", zone=False) if ln.since else "",
                ]
            )
        listing.record_export(
            session,
            actor=actor,
            listing="supervision_property_reconciliation",
            fmt="csv",
            filters={},
            count=len(rec.lines),
        )
    stamp = now.strftime("%Y%m%d-%H%M")
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="property-reconciliation-{stamp}.csv"'},
    )


@router.post(
    "/supervision/property/movements/{movement_id}/confirm", response_class=HTMLResponse, response_model=None
)
def confirm_form(
    request: Request, movement_id: int, session: DbSession, actor: Writer, _csrf: CsrfChecked
) -> HTMLResponse | RedirectResponse:
    """The receiver signs a hand-over from the page."""
    now = clock.now()
    session.rollback()
    try:
        with session.begin():
            move, item, case = ledger.get_movement(
                session, movement_id if movement_id <= MAX_ROW_ID else 0, actor=actor
            )
            ledger.check_confirm(case, item, move, actor=actor)
            ledger.do_confirm(session, item, move, actor=actor, now=now)
    except DomainError as exc:
        session.rollback()
        return _page(request, session, actor, status=exc.status, error=page_message(exc))
    return RedirectResponse("/supervision/property", status_code=303)


LEADERBOARD = listing.ListSpec(
    name="supervision_leaderboard",
    sorts={"score": literal_column("score"), "code": Station.code},
    default_sort="-score",
    id_column=Station.code,
)
LEADERBOARD_COLUMNS = [
    listing.ExportColumn(N_("Station code"), "code"),
    listing.ExportColumn(N_("Station"), "name"),
    listing.ExportColumn(N_("Score"), "score", listing.CellKind.NUMBER),
    listing.ExportColumn(N_("Deductions"), "deductions", listing.CellKind.NUMBER),
]


@router.get("/supervision/leaderboard", response_class=HTMLResponse, response_model=None)
def leaderboard_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    month: Annotated[str, Query(max_length=7)] = "",
    format: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse | Response:
    """The month's quality scores (执法质量考评) and leaderboard (龙虎榜): the stations best first with the
    rules that moved them, the officers, a chart, and the CSV or XLSX export."""
    now = clock.now()
    raw_month = month or scores.month_of(now)
    try:
        m = scores.parse_month(raw_month)
        fmt = listing.export_format(format) if format else None
    except DomainError as exc:
        return render(
            request,
            "supervision_leaderboard.html",
            status_code=exc.status,
            error=page_message(exc),
            month=raw_month,
            units=[],
            people=[],
            pack=in_force(),
            charts_json="{}",
            echarts=False,
        )
    if fmt is not None:
        sort = listing.parse_sort(LEADERBOARD, None)
        return listing.export_response(
            session,
            actor=actor,
            spec=LEADERBOARD,
            query=scores.export_query(m, actor),
            sort=sort,
            columns=LEADERBOARD_COLUMNS,
            fmt=fmt,
            filters={"month": m},
            filename=f"leaderboard-{m}",
        )
    with session.begin():
        units, people = scores.leaderboard(session, m, actor=actor)
    charts = {"scores": scores.chart_option(units)}
    return render(
        request,
        "supervision_leaderboard.html",
        error=None,
        month=m,
        units=units,
        people=people,
        pack=in_force(),
        charts_json=json.dumps(charts, ensure_ascii=False).replace("</", "<\\/"),
        echarts=ECHARTS_JS.exists(),
    )
