"""Watchlist writes: listing (from reports, holder links, traces, confirmed suspicions) and delisting.

An entry warns the payers of its account. It never issues a stop-payment or freeze order by itself:
an order needs a report or a police finding (orders domain), never a watchlist entry alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports import queries as report_queries
from pingan.antifraud.watchlist import rules
from pingan.antifraud.watchlist.choices import WatchSource, WatchStatus
from pingan.antifraud.watchlist.model import WatchlistEntry
from pingan.core import audit, bulk, clock, events
from pingan.core.errors import Forbidden, Invalid, NotFound
from pingan.core.roles import Actor, Role

EVENT_LISTED = "watchlist.listed"
EVENT_DELISTED = "watchlist.delisted"
DELISTERS = (Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR, Role.SYSTEM)
# Who lists and delists by hand, through the API: the anti-fraud centre's analysts and supervisors.
WATCHLIST_EDITORS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR})


@dataclass(frozen=True)
class Listing:
    """One account to list, with what the listing says about it (see `do_list_accounts`)."""

    account_pseudonym: str
    evidence: dict[str, Any]
    bank: str | None = None
    account_masked: str = ""
    store_account_id: int | None = None
    typology: str | None = None
    confidence: float | None = None
    now: datetime | None = None


def do_list_account(
    session: Session,
    *,
    account_pseudonym: str,
    source: WatchSource,
    evidence: dict[str, Any],
    actor: Actor,
    confidence: float | None = None,
    bank: str | None = None,
    account_masked: str = "",
    store_account_id: int | None = None,
    typology: str | None = None,
    now: datetime | None = None,
) -> WatchlistEntry:
    """List an account for `source`, or renew its entry with the new evidence. Caller holds the transaction."""
    listing = Listing(
        account_pseudonym, evidence, bank, account_masked, store_account_id, typology, confidence, now
    )
    (entry_id,) = do_list_accounts(session, [listing], source=source, actor=actor)
    entry = session.get(WatchlistEntry, entry_id, populate_existing=True)
    assert entry is not None
    return entry


def do_list_accounts(
    session: Session, listings: list[Listing], *, source: WatchSource, actor: Actor
) -> list[int]:
    """List (or renew) several accounts for `source`; returns the entry ids, one per listing in order.

    Caller holds the transaction. One query finds the entries that exist, one insert adds the new
    ones and one update renews the others: a batch of registered reports (or approved findings)
    lists its accounts at once, and the ORM's unit of work cost more than the rest of the listing
    (cProfile of the robot's intake). An account listed twice in the batch gets one entry with both
    items of evidence. One audit entry names every listing with its evidence.
    """
    confidences = []
    for item in listings:
        conf = rules.DEFAULT_CONFIDENCE[source] if item.confidence is None else item.confidence
        if not 0.0 <= conf <= 1.0:
            raise Invalid("confidence lies between 0 and 1", field="confidence")
        confidences.append(conf)
    if not listings:
        return []
    session.flush()  # the caller's pending writes go first: the statements below bypass the ORM
    t = _ENTRY
    found = session.execute(
        select(t).where(
            bulk.any_of(session, t.c.account_pseudonym, {item.account_pseudonym for item in listings}),
            t.c.source == source,
        )
    )
    state: dict[str, dict[str, Any]] = {row.account_pseudonym: dict(row._mapping) for row in found}
    new: dict[str, dict[str, Any]] = {}
    for item, conf in zip(listings, confidences, strict=True):
        at = item.now or clock.now()
        e = state.get(item.account_pseudonym)
        if e is None:
            e = state[item.account_pseudonym] = new[item.account_pseudonym] = {
                "account_pseudonym": item.account_pseudonym,
                "source": source,
                "listed_at": at,
                "listed_by": actor.username,
                "evidence": "[]",
                "confidence": None,
                "bank": None,
                "account_masked": "",
                "store_account_id": None,
                "typology": None,
                "status": None,
            }
        # Evidence accumulates: a renewal adds to it, and each item keeps its own time.
        items = json.loads(e["evidence"] or "[]")
        items.append({"at": at.isoformat(), **item.evidence})
        e["evidence"] = json.dumps(items, ensure_ascii=False, sort_keys=True)
        e["confidence"] = max(conf, e["confidence"] or 0.0)
        e["bank"] = item.bank or e["bank"]
        e["account_masked"] = item.account_masked or e["account_masked"]
        if item.store_account_id is not None:
            e["store_account_id"] = item.store_account_id
        e["typology"] = item.typology or e["typology"]
        e["expires_at"] = rules.expiry(source, at)
        if e["status"] is not WatchStatus.ACTIVE:
            e["listed_at"] = at
        e["status"] = WatchStatus.ACTIVE
        e["delisted_at"] = e["delisted_by"] = e["delist_reason"] = None
    renewed = [{**e, "_id": e["id"]} for key, e in state.items() if key not in new]
    if renewed:
        names = _RENEWED_COLUMNS
        session.execute(
            update(t)
            .where(t.c.id == bindparam("_id"))
            .values({n: bindparam(n, type_=t.c[n].type) for n in names}),
            [{n: e[n] for n in (*names, "_id")} for e in renewed],
        )
    if new:
        rows = list(new.values())
        ids = bulk.insert_rows(session, t, rows, return_ids=True)
        for row, entry_id in zip(rows, ids, strict=True):
            row["id"] = entry_id
    out = [int(state[item.account_pseudonym]["id"]) for item in listings]
    audit.record(
        session,
        actor=actor,
        action="watchlist.list",
        object_type="watchlist_entry",
        object_id=audit.span(out),
        detail={
            "source": source.value,
            "listings": [
                {
                    "entry": i,
                    "confidence": state[item.account_pseudonym]["confidence"],
                    "evidence": item.evidence,
                }
                for i, item in zip(out, listings, strict=True)
            ],
        },
    )
    for i in dict.fromkeys(out):
        events.emit(session, EVENT_LISTED, entry_id=i, source=source.value)
    return out


_ENTRY = cast(Table, WatchlistEntry.__table__)
_RENEWED_COLUMNS = (
    "evidence",
    "confidence",
    "bank",
    "account_masked",
    "store_account_id",
    "typology",
    "expires_at",
    "listed_at",
    "status",
    "delisted_at",
    "delisted_by",
    "delist_reason",
)


def check_delist(actor: Actor, reason: str) -> None:
    """Delisting is for an analyst or supervisor, with a stated reason."""
    if actor.role not in DELISTERS:
        raise Forbidden(f"role {actor.role.value} may not delist")
    if len(reason.strip()) < 5:
        raise Invalid("say why the account is delisted (at least 5 characters)", field="reason")


def do_delist(
    session: Session, *, entry_id: int, reason: str, actor: Actor, now: datetime | None = None
) -> WatchlistEntry:
    """Delist an entry (the delisting path: an appeal upheld, an error found). Caller holds the transaction."""
    entry = session.get(WatchlistEntry, entry_id)
    if entry is None:
        raise NotFound(f"no watchlist entry {entry_id}", field="entry_id")
    entry.status = WatchStatus.DELISTED
    entry.delisted_at = now or clock.now()
    entry.delisted_by = actor.username
    entry.delist_reason = reason.strip()
    audit.record(
        session,
        actor=actor,
        action="watchlist.delist",
        object_type="watchlist_entry",
        object_id=entry.id,
        detail={"reason": entry.delist_reason},
    )
    events.emit(session, EVENT_DELISTED, entry_id=entry.id)
    return entry


def do_list_reported_payees(session: Session, *, report_ids: list[int], actor: Actor) -> list[int]:
    """List every payee account of these registered reports, with its report as evidence, in one write.

    Read as plain rows, in one query (`reports.queries.reported_payees`).
    """
    rows = report_queries.reported_payees(session, report_ids)
    listings = [
        Listing(
            row.payee_account_pseudonym,
            {"report_id": row.id, "external_ref": row.external_ref, "amount_fen": row.amount_fen},
            bank=row.payee_bank,
            account_masked=row.payee_account_masked,
            typology=row.typology.value,
            now=row.reported_at,
        )
        for row in rows
    ]
    return do_list_accounts(session, listings, source=WatchSource.REPORTED_PAYEE, actor=actor)


def on_reports_registered(session: Session, batch: list[events.DomainEvent]) -> None:
    """In-transaction event handler: the reports a transaction registers list their payees in it,
    before it commits (a transaction of its own took SQLite's write lock once more per batch)."""
    do_list_reported_payees(
        session,
        report_ids=[int(event.payload["report_id"]) for event in batch],
        actor=Actor.system("watchlist"),
    )


def install() -> None:
    """Subscribe the watchlist to the events that feed it."""
    events.subscribe_batch_in_transaction(report_actions.EVENT_REPORT_REGISTERED, on_reports_registered)
