"""The mule-candidate review queue over HTTP: a page, and confirm / dismiss forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session

from pingan.antifraud.banks.directory import bank_name
from pingan.antifraud.mules.review import actions, queries
from pingan.antifraud.mules.review.choices import CandidateStatus
from pingan.antifraud.tracing.registered import report_store
from pingan.core import listing
from pingan.core.auth import require_roles
from pingan.core.deps import CsrfChecked, DbSession
from pingan.core.errors import NotFound
from pingan.core.pages import render
from pingan.core.roles import Actor
from pingan.core.scoping import record_list_read

router = APIRouter(include_in_schema=False)
Reviewer = Annotated[Actor, Depends(require_roles(*actions.REVIEWERS))]


ListQuery = Annotated[listing.ListParams, Depends(listing.list_params)]


def _candidate_filter(status: str, band: str, q: str) -> queries.CandidateFilter:
    """The queue's filters from the query string (no status parameter: pending; empty: every
    status); Invalid naming the bad one."""
    return queries.CandidateFilter(
        status=listing.enum_filter(status, CandidateStatus, "status"),
        band=listing.choice_filter(band, tuple(queries.SCORE_BANDS), "band"),
        search=listing.parse_search(q),
    )


def _audited_filters(f: queries.CandidateFilter) -> dict[str, object]:
    return listing.filters_for_audit({"status": f.status, "band": f.band}, f.search)


@router.get("/mules/review", response_class=HTMLResponse)
def review_queue(
    request: Request,
    session: DbSession,
    actor: Reviewer,
    params: ListQuery,
    status: Annotated[str, Query(max_length=16)] = CandidateStatus.PENDING.value,
    band: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    """Candidates filtered by status and score band, best score first (or as sorted), each with the
    model's reasons in words (the feature's label, its value in yuan, counts, hours or days, and what
    it means), paged by cursor; the read is audited."""
    sort = listing.parse_sort(queries.CANDIDATE_LIST, params.sort)
    f = _candidate_filter(status, band, params.q)
    session.rollback()  # the read and its audit entry are one transaction of their own
    with session.begin():
        page = listing.fetch_page(
            session,
            queries.CANDIDATE_LIST,
            queries.candidate_list_query(f),
            sort,
            cursor=params.cursor,
            limit=params.limit,
        )
        record_list_read(
            session,
            actor=actor,
            listing="mule_candidate",
            filters={**_audited_filters(f), "sort": params.sort or None, "cursor": params.cursor or None},
            count=len(page.rows),
        )
    raw = {"status": status, "band": band, **params.carried()}
    return render(
        request,
        "mules_review.html",
        actor=actor,
        lst=listing.ListView(path="/mules/review", params=raw, page=page, export_path="/mules/review/export"),
        f=raw,
        reasons_of=queries.reasons_in_words,
        bank_name=bank_name,
        statuses=list(CandidateStatus),
        bands=list(queries.SCORE_BANDS),
    )


@router.get("/mules/review/export", response_model=None)
def review_export(
    session: DbSession,
    actor: Reviewer,
    params: ListQuery,
    format: Annotated[str, Query(max_length=8)] = "csv",
    status: Annotated[str, Query(max_length=16)] = CandidateStatus.PENDING.value,
    band: Annotated[str, Query(max_length=8)] = "",
) -> StreamingResponse:
    """Every candidate the queue's filters select, as CSV or XLSX, accounts masked, audited
    (`mule_candidate.export`)."""
    fmt = listing.export_format(format)
    sort = listing.parse_sort(queries.CANDIDATE_LIST, params.sort)
    f = _candidate_filter(status, band, params.q)
    return listing.export_response(
        session,
        actor=actor,
        spec=queries.CANDIDATE_LIST,
        query=queries.candidate_list_query(f),
        sort=sort,
        columns=queries.CANDIDATE_EXPORT,
        fmt=fmt,
        filters={**_audited_filters(f), "sort": sort.param},
        filename="mule-candidates",
    )


@router.get("/mules/review/{candidate_id}", response_class=HTMLResponse)
def candidate_page(request: Request, candidate_id: int, session: DbSession, actor: Reviewer) -> HTMLResponse:
    """One candidate: the model's reasons in words, the fraud reports that name its account and the
    account's latest transfers in the transaction store, counterparties masked; opening it is audited."""
    with session.begin():
        row = queries.get_candidate(session, candidate_id)
        actions.do_record_candidate_view(session, row, actor=actor)
        reports = queries.candidate_reports(session, row, actor=actor)
    try:
        transfers, store_missing = queries.candidate_transfers(row, report_store()), False
    except NotFound:  # no store under the data directory: the page says so
        transfers, store_missing = [], True
    return render(
        request,
        "mules_candidate.html",
        c=row,
        reasons=queries.reasons_in_words(row.reasons),
        reports=reports,
        transfers=transfers,
        store_missing=store_missing,
        bank_name=bank_name,
    )


def _decide(candidate_id: int, decision: str, note: str, session: Session, actor: Actor) -> RedirectResponse:
    actions.check_review(actor, note)
    do = actions.do_confirm if decision == "confirm" else actions.do_dismiss
    with session.begin():
        do(session, candidate_id=candidate_id, note=note, actor=actor)
    return RedirectResponse("/mules/review", status_code=303)


@router.post("/mules/review/{candidate_id}/confirm")
def confirm(
    candidate_id: int,
    session: DbSession,
    actor: Reviewer,
    _csrf: CsrfChecked,
    note: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Confirm: the account enters the watchlist as `suspected`."""
    return _decide(candidate_id, "confirm", note, session, actor)


@router.post("/mules/review/{candidate_id}/dismiss")
def dismiss(
    candidate_id: int,
    session: DbSession,
    actor: Reviewer,
    _csrf: CsrfChecked,
    note: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Dismiss: nothing is listed."""
    return _decide(candidate_id, "dismiss", note, session, actor)
