"""Seed transfers of a trace from a fraud report (报案): its transfers matched to the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pingan.antifraud.tracing.index import TraceIndex
from pingan.core.errors import Invalid, NotFound

# Reports give the time to the second, in Beijing time; the store has microseconds.
_TOLERANCE_US = 1_000_000


def seeds_from_report(index: TraceIndex, report: dict[str, Any], cards: dict[str, int]) -> list[int]:
    """tx ids of a report's transfers; NotFound names each transfer the store does not hold."""
    transfers = report.get("transfers") or []
    if not transfers:
        raise Invalid("the report lists no transfers", field="transfers")
    ref = report.get("external_ref", "?")
    found, missing = [], []
    for n, t in enumerate(transfers, 1):
        payer, payee = cards.get(str(t.get("payer_card"))), cards.get(str(t.get("payee_account")))
        try:
            when = datetime.fromisoformat(str(t["occurred_at"]))
            amount = int(t["amount_fen"])
        except (KeyError, ValueError):
            raise Invalid(
                f"report {ref}: transfer {n} lacks occurred_at or amount_fen", field="transfers"
            ) from None
        if when.tzinfo is None:
            raise Invalid(f"report {ref}: transfer {n} occurred_at has no UTC offset", field="transfers")
        tx = -1
        if payer is not None and payee is not None:
            ts_us = int(when.timestamp()) * 1_000_000
            tx = index.find_transfer(payer, payee, amount, ts_us + _TOLERANCE_US // 2, _TOLERANCE_US)
        if tx < 0:
            missing.append(f"#{n} ({t.get('occurred_at')}, {amount} fen to {t.get('payee_account')})")
        else:
            found.append(tx)
    if missing:
        raise NotFound(f"report {ref}: transfers not in the store: {'; '.join(missing)}", field="transfers")
    return found
