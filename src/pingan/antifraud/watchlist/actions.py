"""Watchlist writes: listing (from reports, holder links, traces, confirmed suspicions) and delisting.

An entry warns the payers of its account. It never issues a stop-payment or freeze order by itself:
an order needs a report or a police finding (orders domain), never a watchlist entry alone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.screening.engine import TS, WATCHLIST_SCHEMA
from pingan.antifraud.watchlist import rules
from pingan.antifraud.watchlist.model import WatchlistEntry, WatchSource, WatchStatus
from pingan.core import audit, clock, events
from pingan.core.errors import Invalid, NotFound
from pingan.core.roles import Actor, Role

EVENT_LISTED = "watchlist.listed"
EVENT_DELISTED = "watchlist.delisted"
DELISTERS = (Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR, Role.SYSTEM)


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
    at = now or clock.now()
    conf = rules.DEFAULT_CONFIDENCE[source] if confidence is None else confidence
    if not 0.0 <= conf <= 1.0:
        raise Invalid("confidence lies between 0 and 1", field="confidence")
    entry = session.execute(
        select(WatchlistEntry).where(
            WatchlistEntry.account_pseudonym == account_pseudonym, WatchlistEntry.source == source
        )
    ).scalar_one_or_none()
    if entry is None:
        entry = WatchlistEntry(
            account_pseudonym=account_pseudonym,
            source=source,
            listed_at=at,
            listed_by=actor.username,
            evidence="[]",
        )
        session.add(entry)
    # Evidence accumulates: a renewal adds to it, and each item keeps its own time.
    items = json.loads(entry.evidence or "[]")
    items.append({"at": at.isoformat(), **evidence})
    entry.evidence = json.dumps(items, ensure_ascii=False, sort_keys=True)
    entry.confidence = max(conf, entry.confidence or 0.0)
    entry.bank = bank or entry.bank
    entry.account_masked = account_masked or entry.account_masked
    entry.store_account_id = store_account_id if store_account_id is not None else entry.store_account_id
    entry.typology = typology or entry.typology
    entry.expires_at = rules.expiry(source, at)
    if entry.status != WatchStatus.ACTIVE:
        entry.listed_at = at
    entry.status = WatchStatus.ACTIVE
    entry.delisted_at = entry.delisted_by = entry.delist_reason = None
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="watchlist.list",
        object_type="watchlist_entry",
        object_id=entry.id,
        detail={"source": source.value, "confidence": entry.confidence, "evidence": evidence},
    )
    events.emit(session, EVENT_LISTED, entry_id=entry.id, source=source.value)
    return entry


def check_delist(actor: Actor, reason: str) -> None:
    """Delisting is for an analyst or supervisor, with a stated reason."""
    if actor.role not in DELISTERS:
        from pingan.core.errors import Forbidden

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


def do_list_reported_payees(session: Session, *, report_id: int, actor: Actor) -> list[WatchlistEntry]:
    """List every payee account of a registered report, with the report as evidence."""
    from pingan.antifraud.actions import get_report

    report = get_report(session, report_id)
    out = []
    for t in report.transfers:
        out.append(
            do_list_account(
                session,
                account_pseudonym=t.payee_account_pseudonym,
                source=WatchSource.REPORTED_PAYEE,
                evidence={
                    "report_id": report.id,
                    "external_ref": report.external_ref,
                    "amount_fen": t.amount_fen,
                },
                actor=actor,
                bank=t.payee_bank,
                account_masked=t.payee_account_masked,
                typology=report.typology.value,
                now=report.reported_at,
            )
        )
    return out


def on_reports_registered(batch: list[events.DomainEvent]) -> None:
    """Batch event handler: the reports one commit registered list their payees at once, in one transaction."""
    from pingan.core import db

    with db.transaction() as session:
        for event in batch:
            do_list_reported_payees(
                session, report_id=int(event.payload["report_id"]), actor=Actor.system("watchlist")
            )


def install() -> None:
    """Subscribe the watchlist to the events that feed it."""
    from pingan.antifraud.actions import EVENT_REPORT_REGISTERED

    events.subscribe_batch(EVENT_REPORT_REGISTERED, on_reports_registered)


def live_entries(session: Session, *, now: datetime | None = None) -> list[WatchlistEntry]:
    """Entries now warning payers: active and unexpired."""
    at = now or clock.now()
    return list(
        session.execute(
            select(WatchlistEntry).where(
                WatchlistEntry.status == WatchStatus.ACTIVE, WatchlistEntry.expires_at > at
            )
        ).scalars()
    )


def watchlist_frame(entries: list[WatchlistEntry], account_ids: dict[str, int]) -> pl.DataFrame:
    """The entries as the screening engine's watchlist (WATCHLIST_SCHEMA), keyed by store account id.

    `account_ids` maps account pseudonym to the transaction store's account id; entries with a
    `store_account_id` need no mapping.
    """
    rows = []
    for e in entries:
        acct = e.store_account_id if e.store_account_id is not None else account_ids.get(e.account_pseudonym)
        if acct is None:
            continue
        rows.append(
            {
                "account_id": acct,
                "listed_from": e.listed_at,
                "expires_at": e.expires_at,
                "source": e.source.value,
                "confidence": e.confidence,
                "typology": e.typology,
            }
        )
    if not rows:
        return pl.DataFrame(schema=WATCHLIST_SCHEMA)
    frame = pl.DataFrame(rows).with_columns(pl.col("listed_from", "expires_at").cast(TS))
    # One row per account: the most trusted entry, listed from the earliest time any source listed it.
    return (
        frame.sort("confidence", descending=True)
        .group_by("account_id", maintain_order=True)
        .agg(
            pl.col("listed_from").min(),
            pl.col("expires_at").max(),
            pl.col("source").first(),
            pl.col("confidence").first(),
            pl.col("typology").drop_nulls().first(),
        )
        .select(list(WATCHLIST_SCHEMA))
        .cast(WATCHLIST_SCHEMA)  # type: ignore[arg-type]
    )
