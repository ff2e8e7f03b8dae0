"""Read side of the mule review queue: the candidates list with its filters, search and export columns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pingan.antifraud.mules.review.choices import CandidateStatus
from pingan.antifraud.mules.review.labels import Reason, describe
from pingan.antifraud.mules.review.model import MuleCandidate
from pingan.antifraud.reports import queries as report_queries
from pingan.antifraud.reports.choices import Channel, Typology
from pingan.antifraud.tracing.store import account_cards
from pingan.core.errors import NotFound
from pingan.core.i18n import N_
from pingan.core.listing import CellKind, ExportColumn, ListSpec, SearchTerm, any_of
from pingan.core.pii import PiiKind, mask
from pingan.core.roles import Actor

CANDIDATE_LIST = ListSpec(
    name="mule_candidate",
    sorts={"score": MuleCandidate.score, "queued_at": MuleCandidate.queued_at},
    default_sort="-score",
    id_column=MuleCandidate.id,
)
# Score bands of the queue's filter: [low, high) of the model's score, which lies between 0 and 1.
SCORE_BANDS: dict[str, tuple[float, float]] = {
    "high": (0.9, 1.01),
    "medium": (0.7, 0.9),
    "low": (0.0, 0.7),
}


@dataclass(frozen=True)
class CandidateFilter:
    """The filters of the review queue: a status (None: every status) and a score band."""

    status: CandidateStatus | None = CandidateStatus.PENDING
    band: str | None = None
    search: SearchTerm | None = None


def candidate_list_query(f: CandidateFilter) -> Select[Any]:
    """The candidates matching `f`, unordered. An account is found by its number's pseudonym."""
    columns: list[Any] = [
        MuleCandidate.id,
        MuleCandidate.account_masked,
        MuleCandidate.bank,
        MuleCandidate.score,
        MuleCandidate.reasons,
        MuleCandidate.model_ref,
        MuleCandidate.status,
        MuleCandidate.queued_at,
        MuleCandidate.reviewed_at,
        MuleCandidate.reviewed_by,
        MuleCandidate.review_note,
    ]
    q: Select[Any] = select(*columns)
    if f.status is not None:
        q = q.where(MuleCandidate.status == f.status)
    if f.band is not None:
        low, high = SCORE_BANDS[f.band]
        q = q.where(MuleCandidate.score >= low, MuleCandidate.score < high)
    if f.search is not None:
        q = q.where(any_of([MuleCandidate.account_pseudonym == f.search.card] if f.search.card else []))
    return q


def reasons_of(raw: str) -> list[str]:
    """A candidate's reasons (feature contributions), from their stored JSON."""
    try:
        value = json.loads(raw)
    except ValueError:
        return [raw]
    return [str(r) for r in value] if isinstance(value, list) else [str(value)]


def reasons_in_words(raw: str) -> list[Reason]:
    """A candidate's reasons as a reviewer reads them: each feature's label, value and explanation."""
    return [describe(r) for r in reasons_of(raw)]


CANDIDATE_EXPORT = (
    ExportColumn(N_("Candidate"), "id", CellKind.NUMBER),
    ExportColumn(N_("Account"), "account_masked"),
    ExportColumn(N_("Bank"), "bank"),
    ExportColumn(N_("Score"), "score", CellKind.NUMBER),
    ExportColumn(
        N_("Why (feature contributions)"),
        "reasons",
        convert=lambda raw: "; ".join(f"{r.label}: {r.value}" for r in reasons_in_words(raw)),
    ),
    ExportColumn(N_("Model"), "model_ref"),
    ExportColumn(N_("Status"), "status", CellKind.LABEL),
    ExportColumn(N_("Queued"), "queued_at", CellKind.TIME),
    ExportColumn(N_("Reviewed"), "reviewed_at", CellKind.TIME),
    ExportColumn(N_("Reviewer"), "reviewed_by"),
)


def get_candidate(session: Session, candidate_id: int) -> MuleCandidate:
    """The candidate with this id; NotFound naming it."""
    row = session.get(MuleCandidate, candidate_id)
    if row is None:
        raise NotFound(f"no mule candidate {candidate_id}", field="candidate_id")
    return row


@dataclass(frozen=True)
class CandidateReport:
    """A fraud report that names the candidate's account (as a payer's card or a payee account)."""

    id: int
    external_ref: str
    reported_at: datetime
    typology: Typology
    amount_fen: int


def candidate_reports(session: Session, candidate: MuleCandidate, *, actor: Actor) -> list[CandidateReport]:
    """The reports within the actor's view that name the candidate's account, newest first."""
    term = SearchTerm(text="", card=candidate.account_pseudonym)
    found = set(session.execute(report_queries.report_ids_found(term)).scalars())
    visible = (
        found & set(session.execute(report_queries.report_ids_in_view(actor)).scalars()) if found else set()
    )
    reports = report_queries.reports_by_id(session, visible)
    return sorted(
        (
            CandidateReport(r.id, r.external_ref, r.reported_at, r.typology, r.total_amount_fen)
            for r in reports.values()
        ),
        key=lambda r: r.reported_at,
        reverse=True,
    )


@dataclass(frozen=True)
class CandidateTransfer:
    """One transfer of the candidate's account, its counterparty masked."""

    ts: datetime
    incoming: bool
    counterparty: str  # masked account number; "" for cash
    counterparty_bank: str
    amount_fen: int
    channel: Channel | None  # None: a channel the report catalogue has no label for (POS)


def account_transfers(store: Path, account: int, *, limit: int = 50) -> pl.DataFrame:
    """The account's latest transfers in and out (at most `limit`, newest first): ts, direction
    ("in" or "out"), counterparty (store account id, -1 for cash), amount_fen and channel.

    Day partitions are read newest first, each filtered on the account, until `limit` rows are found.
    """
    tx_dir = store / "transactions"
    if not tx_dir.is_dir():
        raise NotFound(f"no transactions/ directory in store {store}")
    me = pl.lit(account, dtype=pl.Int64)
    found: list[pl.DataFrame] = []
    n = 0
    for day in sorted(tx_dir.glob("day=*"), reverse=True):
        parts = sorted(day.glob("*.parquet"))
        if not parts:
            continue
        rows = (
            pl.scan_parquet(parts)
            .filter((pl.col("payer_account") == me) | (pl.col("payee_account") == me))
            .select(
                pl.col("ts").dt.cast_time_unit("us").dt.replace_time_zone("UTC"),
                pl.when(pl.col("payee_account") == me)
                .then(pl.lit("in"))
                .otherwise(pl.lit("out"))
                .alias("direction"),
                pl.when(pl.col("payee_account") == me)
                .then(pl.col("payer_account"))
                .otherwise(pl.col("payee_account"))
                .alias("counterparty"),
                pl.col("amount_fen").cast(pl.Int64),
                pl.col("channel").cast(pl.String),
            )
            .collect()
        )
        found.append(rows)
        n += rows.height
        if n >= limit:
            break
    if not found:
        return pl.DataFrame(
            schema={"ts": pl.Datetime("us", "UTC"), "direction": pl.String, "counterparty": pl.Int64,
                    "amount_fen": pl.Int64, "channel": pl.String}
        )  # fmt: skip
    return pl.concat(found).sort("ts", descending=True).head(limit)


_CHANNELS = {c.value for c in Channel}
# A page shows the latest transfers; the trace and the store itself hold the rest.
TRANSFERS_SHOWN = 50


def candidate_transfers(candidate: MuleCandidate, store: Path) -> list[CandidateTransfer]:
    """The latest transfers of the candidate's account in the transaction store, newest first."""
    if candidate.store_account_id is None:
        return []
    rows = account_transfers(store, candidate.store_account_id, limit=TRANSFERS_SHOWN)
    others = sorted({int(c) for c in rows["counterparty"].to_list() if c >= 0})
    cards = account_cards(store, others) if others else {}
    out = []
    for r in rows.iter_rows(named=True):
        bank, number = cards.get(int(r["counterparty"]), ("", ""))
        masked = mask(PiiKind.CARD, number) if len(number) >= 8 else ("*" * len(number))
        out.append(
            CandidateTransfer(
                ts=r["ts"],
                incoming=r["direction"] == "in",
                counterparty=masked,
                counterparty_bank=bank,
                amount_fen=int(r["amount_fen"]),
                channel=Channel(r["channel"]) if r["channel"] in _CHANNELS else None,
            )
        )
    return out
