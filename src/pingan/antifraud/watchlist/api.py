"""The watchlist over HTTP: list, add with evidence, delist with a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pingan.antifraud.watchlist import actions as watch
from pingan.antifraud.watchlist import queries as watch_queries
from pingan.antifraud.watchlist.schemas import DelistIn, WatchlistIn, WatchlistOut
from pingan.core.deps import DbSession, require_roles
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor

router = APIRouter(prefix="/api/v1", tags=["early warning"])
Analyst = Annotated[Actor, Depends(require_roles(*watch.WATCHLIST_EDITORS))]


@router.get("/watchlist", response_model=list[WatchlistOut])
def list_watchlist(
    session: DbSession, actor: Analyst, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[WatchlistOut]:
    """Watchlist entries, newest first."""
    rows = watch_queries.recent_entries(session, limit=limit)
    return [WatchlistOut.model_validate(e, from_attributes=True) for e in rows]


@router.post("/watchlist", response_model=WatchlistOut, status_code=201)
def add_to_watchlist(body: WatchlistIn, session: DbSession, actor: Analyst) -> WatchlistOut:
    """List an account with its source and evidence (it warns payers; it orders nothing)."""
    card = protect(PiiKind.CARD, body.card_number, field="card_number")
    with session.begin():
        entry = watch.do_list_account(
            session,
            account_pseudonym=card.pseudonym,
            account_masked=card.masked,
            bank=body.bank,
            source=body.source,
            evidence=dict(body.evidence),
            confidence=body.confidence,
            actor=actor,
        )
    return WatchlistOut.model_validate(entry, from_attributes=True)


@router.post("/watchlist/{entry_id}/delist", response_model=WatchlistOut)
def delist(entry_id: int, body: DelistIn, session: DbSession, actor: Analyst) -> WatchlistOut:
    """Delist an entry, with the reason (an appeal upheld, an error found)."""
    watch.check_delist(actor, body.reason)
    with session.begin():
        entry = watch.do_delist(session, entry_id=entry_id, reason=body.reason, actor=actor)
    return WatchlistOut.model_validate(entry, from_attributes=True)
