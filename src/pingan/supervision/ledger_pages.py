"""Pages of the seized-property ledger: the store's reconciliation (with its CSV), the hand-overs
awaiting the reader's signature, and a case's items."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from pingan.core import clock, listing
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, CsrfChecked, DbSession
from pingan.core.errors import DomainError, Invalid
from pingan.core.i18n import N_, _
from pingan.core.org import Station
from pingan.core.pages import ECHARTS_JS, beijing_time, form_time, page_message, render
from pingan.core.roles import Actor
from pingan.supervision import actions, approvals, ledger, pages, scores
from pingan.supervision.choices import MovementKind, PropertyState
from pingan.supervision.model import PropertyItem, PropertyMovement, SupervisionCase
from pingan.supervision.pack import in_force
from pingan.supervision.schemas import MovementIn, PropertyIn, PropertyRequestIn, PropertyStepIn

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*actions.CASE_READERS))]
Writer = Annotated[Actor, Depends(require_roles(*actions.CASE_WRITERS))]
Filer = Annotated[Actor, Depends(require_roles(*approvals.FILERS))]


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


# ------------------------------------------------------------------------- the case page's item forms


def _item_case(session: Session, item_id: int, actor: Actor) -> int:
    """The case of an item the reader may see (404 or 403 otherwise), read outside the write."""
    with session.begin():
        _item, case = ledger.get_item(session, item_id if 1 <= item_id <= MAX_ROW_ID else 0, actor=actor)
        case_id = case.id
    return case_id


@router.post("/supervision/cases/{case_id}/property", response_class=HTMLResponse, response_model=None)
def register_form(
    request: Request,
    case_id: int,
    session: DbSession,
    actor: Writer,
    _csrf: CsrfChecked,
    label: Annotated[str, Form(max_length=64)] = "",
    description: Annotated[str, Form(max_length=200)] = "",
    quantity: Annotated[str, Form(max_length=8)] = "1",
    at: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse | RedirectResponse:
    """Register a seized item from the case page (the label names the case's seizure step)."""
    now = clock.now()

    def write() -> None:
        if not quantity.strip().isdigit():
            raise Invalid("a whole number of pieces is expected", field="quantity")
        data = PropertyIn(
            label=label.strip(),
            description=description.strip(),
            quantity=int(quantity.strip()),
            at=form_time(at, "at"),
        )
        with session.begin():
            case = actions.get_case(session, case_id, actor=actor)
            ledger.check_register(session, case, data, actor=actor, now=now)
            ledger.do_register(session, case, data, actor=actor, now=now)

    return pages._on_case_form(request, session, actor, case_id, write, anchor="#property")


@router.post("/supervision/property/{item_id}/movements", response_class=HTMLResponse, response_model=None)
def hand_over_form(
    request: Request,
    item_id: int,
    session: DbSession,
    actor: Writer,
    _csrf: CsrfChecked,
    kind: Annotated[str, Form(max_length=16)] = "",
    to_user: Annotated[str, Form(max_length=64)] = "",
    due_at: Annotated[str, Form(max_length=40)] = "",
    location: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """The holder starts a hand-over from the case page; the receiver confirms it."""
    now = clock.now()
    case_id = _item_case(session, item_id, actor)

    def write() -> None:
        data = MovementIn(
            kind=listing.enum_filter(kind, MovementKind, "kind") or MovementKind.CUSTODY,
            to_user=to_user.strip(),
            due_at=form_time(due_at, "due_at") if due_at.strip() else None,
            location=location.strip(),
            note=note.strip(),
        )
        with session.begin():
            item, case = ledger.get_item(session, item_id, actor=actor)
            ledger.check_movement(session, case, item, data, actor=actor, now=now)
            ledger.do_movement(session, item, data, actor=actor, now=now)

    return pages._on_case_form(request, session, actor, case_id, write, anchor="#property")


@router.post(
    "/supervision/property/movements/{movement_id}/receive", response_class=HTMLResponse, response_model=None
)
def receive_form(
    request: Request, movement_id: int, session: DbSession, actor: Writer, _csrf: CsrfChecked
) -> HTMLResponse | RedirectResponse:
    """The receiver signs a hand-over from the case page, and comes back to it."""
    now = clock.now()
    with session.begin():
        _m, _i, case = ledger.get_movement(
            session, movement_id if 1 <= movement_id <= MAX_ROW_ID else 0, actor=actor
        )
        case_id = case.id

    def write() -> None:
        with session.begin():
            move, item, case = ledger.get_movement(session, movement_id, actor=actor)
            ledger.check_confirm(case, item, move, actor=actor)
            ledger.do_confirm(session, item, move, actor=actor, now=now)

    return pages._on_case_form(request, session, actor, case_id, write, anchor="#property")


CLOSINGS = {"release": PropertyState.RELEASED, "disposal": PropertyState.DISPOSED}


@router.post("/supervision/property/{item_id}/requests", response_class=HTMLResponse, response_model=None)
def request_property_form(
    request: Request,
    item_id: int,
    session: DbSession,
    actor: Filer,
    _csrf: CsrfChecked,
    kind: Annotated[str, Form(max_length=16)] = "",
    approver: Annotated[str, Form(max_length=64)] = "",
    grounds: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """From the case page: ask a superior to approve returning the item to its owner or disposing of it;
    it queues on their page, and the custodian acts once it is approved."""
    now = clock.now()
    case_id = _item_case(session, item_id, actor)

    def write() -> None:
        if kind not in CLOSINGS:
            raise Invalid("return to the owner or dispose", field="kind")
        data = PropertyRequestIn(
            kind="release" if kind == "release" else "disposal",
            approver=approver.strip(),
            grounds=grounds.strip(),
        )
        with session.begin():
            item, case = ledger.get_item(session, item_id, actor=actor)
            approvals.check_request_property(session, case, item, data, actor=actor, now=now)
            approvals.do_request_property(session, case, item, data, actor=actor, now=now)

    return pages._on_case_form(request, session, actor, case_id, write, anchor="#property")


@router.post("/supervision/property/{item_id}/{step}", response_class=HTMLResponse, response_model=None)
def item_step_form(
    request: Request,
    item_id: int,
    step: Annotated[str, Path(pattern="^(unrelated|release|disposal)$")],
    session: DbSession,
    actor: Writer,
    _csrf: CsrfChecked,
    at: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """From the case page: the item found unrelated (the 3-day clock starts), released to its owner or
    disposed of by the custodian on an approved request."""
    now = clock.now()
    case_id = _item_case(session, item_id, actor)

    def write() -> None:
        data = PropertyStepIn(at=form_time(at, "at"), note=note.strip())
        with session.begin():
            item, case = ledger.get_item(session, item_id, actor=actor)
            if step == "unrelated":
                ledger.check_unrelated(case, item, data, actor=actor, now=now)
                ledger.do_unrelated(session, case, item, data, actor=actor, now=now)
            else:
                state = CLOSINGS[step]
                approved = ledger.check_close(session, case, item, data, state, actor=actor, now=now)
                ledger.do_close(session, case, item, data, state, approved, actor=actor, now=now)

    return pages._on_case_form(request, session, actor, case_id, write, anchor="#property")


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
