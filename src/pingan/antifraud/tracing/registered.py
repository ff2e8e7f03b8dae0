"""Tracing a registered report: its transfers (decrypted in memory, for the match only) as seeds in
the transaction store under the data directory. Used by the API, the trace page and `pingan trace`."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from pingan.antifraud.reports import queries as report_queries
from pingan.antifraud.tracing.engine import Limits, TraceResult, trace
from pingan.antifraud.tracing.index import TraceIndex
from pingan.antifraud.tracing.rules import Method
from pingan.antifraud.tracing.seeds import seeds_from_report
from pingan.antifraud.tracing.store import card_to_account
from pingan.core.errors import NotFound
from pingan.core.pii import PiiKind, decrypt
from pingan.core.settings import get_settings

if TYPE_CHECKING:  # the report comes from reports' queries; its type only annotates
    from pingan.antifraud.reports.model import FraudReport

# The demo district (`make demo`) is generated here, under the data directory.
STORE_NAME = "district"


@lru_cache(maxsize=2)
def _store(path: Path) -> tuple[TraceIndex, dict[str, int]]:
    # The index and the card map are built once per process: a trace then takes milliseconds.
    return TraceIndex.open(path), card_to_account(path)


def trace_report(
    session: Session, report_id: int, method: Method, hops: int, hours: float, min_fen: int
) -> TraceResult:
    """Trace a registered report's transfers through the store under the data directory."""
    report = report_queries.find_report(session, report_id)
    if report is None:
        raise NotFound(f"no fraud report {report_id}", field="report_id")
    index, cards = _store(report_store())
    seeds = seeds_from_report(index, _as_filed(report), cards)
    limits = Limits(max_hops=hops, window=timedelta(hours=hours), min_fen=min_fen)
    return trace(index, seeds, method=method, limits=limits)


def report_store() -> Path:
    store = get_settings().data_dir / STORE_NAME
    if not (store / "transactions").is_dir():
        raise NotFound(f"no transaction store at {store} (PINGAN_DATA_DIR; `make demo` generates one)")
    return store


def _as_filed(report: FraudReport) -> dict[str, Any]:
    # The store is keyed by card number, so the cards are decrypted here, in memory, for the match only.
    return {
        "external_ref": report.external_ref,
        "transfers": [
            {
                "payer_card": decrypt(PiiKind.CARD, t.payer_card.cipher),
                "payee_account": decrypt(PiiKind.CARD, t.payee_account.cipher),
                "occurred_at": t.occurred_at.isoformat(),
                "amount_fen": t.amount_fen,
            }
            for t in report.transfers
        ],
    }
