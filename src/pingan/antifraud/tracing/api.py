"""Fund tracing over HTTP (资金追踪): a report's trace as JSON, and the flow drawn as a layered graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pingan.antifraud.reports import queries as report_queries
from pingan.antifraud.tracing import actions
from pingan.antifraud.tracing.drawing import Card, accounts_shown, layered_graph
from pingan.antifraud.tracing.engine import TraceResult
from pingan.antifraud.tracing.registered import report_store, trace_report
from pingan.antifraud.tracing.rules import Method
from pingan.antifraud.tracing.store import account_cards
from pingan.core.auth import require_roles
from pingan.core.deps import CsrfChecked, DbSession
from pingan.core.errors import DomainError, Invalid
from pingan.core.pages import render
from pingan.core.pii import PiiKind, lookup_key
from pingan.core.roles import Actor, Role
from pingan.core.schemas import MAX_FEN

router = APIRouter(tags=["fund tracing"])
Analyst = Annotated[Actor, Depends(require_roles(*actions.TRACE_READERS))]
Accepter = Annotated[Actor, Depends(require_roles(*(actions.ACCEPTERS - {Role.SYSTEM})))]


@router.get("/api/v1/fraud-reports/{report_id}/trace")
def get_trace(
    report_id: int,
    session: DbSession,
    actor: Analyst,
    method: Method = Method.FIFO,
    hops: Annotated[int, Query(ge=1, le=12)] = 6,
    hours: Annotated[float, Query(gt=0, le=24 * 30)] = 72.0,
    min_fen: Annotated[int, Query(ge=0, le=MAX_FEN)] = 10_000,
    paths: Annotated[int, Query(ge=0, le=500)] = 20,
) -> dict[str, object]:
    """The traced flow graph, paths, cash-out points and freeze recommendations of a report."""
    return trace_report(session, report_id, method, hops, hours, min_fen).as_dict(path_limit=paths)


# Account ids of the transaction store: 64-bit.
StoreAccountId = Annotated[int, Field(ge=0, le=2**63 - 1)]


class AcceptIn(BaseModel):
    """Accept a trace's freeze recommendations: the trace is re-run here with these parameters."""

    method: Method = Method.FIFO
    hops: int = Field(default=6, ge=1, le=12)
    hours: float = Field(default=72.0, gt=0, le=24 * 30)
    min_fen: int = Field(default=10_000, ge=0, le=MAX_FEN)
    accounts: list[StoreAccountId] | None = Field(
        default=None, description="store account ids to accept; all recommended accounts when omitted"
    )
    major_case: bool = Field(default=False, description="a major case: the freezes run 1 year, not 6 months")
    major_case_reason: str | None = Field(default=None, max_length=255)


class AcceptOut(BaseModel):
    """The draft finding awaiting a supervisor, and the accounts now watch-listed as `traced`."""

    finding_id: int
    accounts: list[dict[str, object]]


def accept(session: Session, report_id: int, body: AcceptIn, actor: Actor) -> AcceptOut:
    """Re-run the trace, then draft the finding and watch-list the accepted accounts (one transaction)."""
    with session.begin():
        result = trace_report(session, report_id, body.method, body.hops, body.hours, body.min_fen)
        report = report_queries.find_report(session, report_id)
        assert report is not None  # trace_report raised NotFound otherwise
        wanted = body.accounts if body.accounts is not None else [r.account for r in result.recommendations()]
        cards = account_cards(report_store(), wanted)
        accepted = actions.check_accept_recommendations(result, body.accounts, cards, actor=actor)
        done = actions.do_accept_recommendations(
            session,
            report_id=report_id,
            case_ref=report.external_ref,
            result=result,
            accepted=accepted,
            cards=cards,
            actor=actor,
            major_case=body.major_case,
            major_case_reason=body.major_case_reason,
        )
    return AcceptOut(
        finding_id=done.finding.id,
        accounts=[
            {"account": r.account, "recoverable_fen": r.recoverable_fen, "watchlist_entry": e.id}
            for r, e in zip(accepted, done.listed, strict=True)
        ],
    )


@router.post("/api/v1/fraud-reports/{report_id}/trace/accept", response_model=AcceptOut, status_code=201)
def accept_recommendations(report_id: int, body: AcceptIn, session: DbSession, actor: Accepter) -> AcceptOut:
    """Draft a finding from the trace's recommendations and watch-list the accounts as `traced`."""
    return accept(session, report_id, body, actor)


@router.get("/fraud-reports/{report_id}/trace", response_class=HTMLResponse, include_in_schema=False)
def trace_page(
    request: Request, report_id: int, session: DbSession, actor: Analyst, method: Method = Method.FIFO
) -> HTMLResponse:
    """The report's traced flow as a server-rendered SVG: victim → tier 1 → … → cash-out."""
    return _trace_page(request, session, report_id, method, actor)


def _card_labels(result: TraceResult) -> tuple[dict[int, Card], dict[int, str]]:
    """How each traced account is shown (masked card, bank name), and the card pseudonym of each
    recommended account: the accept form names accounts by it, never by the store's account id."""
    numbers = account_cards(report_store(), sorted(accounts_shown(result)))
    shown = {a: Card.of(bank, number) for a, (bank, number) in numbers.items()}
    recommended = {r.account for r in result.recommendations()}
    keys = {
        a: lookup_key(PiiKind.CARD, number, field="accounts")
        for a, (_, number) in numbers.items()
        if a in recommended
    }
    return shown, keys


def _trace_page(
    request: Request, session: Session, report_id: int, method: Method, actor: Actor, error: str = ""
) -> HTMLResponse:
    result = trace_report(session, report_id, method, 6, 72.0, 10_000)
    report = report_queries.find_report(session, report_id)
    assert report is not None  # trace_report raised NotFound otherwise
    cards, keys = _card_labels(result)
    context = {
        "actor": actor,
        "report_id": report_id,
        "case_ref": report.external_ref,
        "result": result,
        "g": layered_graph(result, cards),
        "recommendations": [(r, cards.get(r.account), keys.get(r.account)) for r in result.recommendations()],
        "can_accept": actor.role is Role.ANTIFRAUD_ANALYST,
        "error": error,
    }
    return render(request, "trace.html", 422 if error else 200, **context)


@router.post(
    "/fraud-reports/{report_id}/trace/accept",
    response_class=HTMLResponse,
    response_model=None,
    include_in_schema=False,
)
def accept_form(
    request: Request,
    report_id: int,
    session: DbSession,
    actor: Accepter,
    _csrf: CsrfChecked,
    method: Annotated[Method, Form()] = Method.FIFO,
    cards: Annotated[list[Annotated[str, Field(max_length=64)]] | None, Form(max_length=500)] = None,
) -> HTMLResponse | RedirectResponse:
    """The page's accept button: the ticked recommendations become a draft finding for a supervisor.

    The form names each ticked account by its card pseudonym, so that the page carries no store
    account id; they are matched against the trace's recommendations, run again here.
    """
    if not cards:
        return _trace_page(request, session, report_id, method, actor, error="accounts: tick at least one")
    try:
        result = trace_report(session, report_id, method, 6, 72.0, 10_000)
        _, keys = _card_labels(result)
        by_key = {key: account for account, key in keys.items()}
        unknown = [c for c in cards if c not in by_key]
        if unknown:
            raise Invalid("accounts: a ticked account is not recommended by this trace", field="accounts")
        session.rollback()  # the trace's reads end here: `accept` opens its own transaction
        accept(session, report_id, AcceptIn(method=method, accounts=[by_key[c] for c in cards]), actor)
    except DomainError as exc:
        session.rollback()
        return _trace_page(request, session, report_id, method, actor, error=str(exc))
    return RedirectResponse("/findings", status_code=303)
