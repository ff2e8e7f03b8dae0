"""Hand-built transaction stores in the synthetic district's layout, with people's names for accounts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pingan.antifraud.tracing import TraceIndex
from tests.factories import card

DAY = date(2026, 11, 20)

# Accounts named after their holders.
EMPLOYER_CHENGDU_TECH = 90
VICTIM_WANG = 1
VICTIM_LIU = 2
MULE_T1_ZHAO = 10
MULE_T2_QIAN = 20
MULE_T2_SUN = 21
MULE_T3_ZHOU = 30
MULE_T4_WU = 40
SHOP_HOTPOT = 80
ATM = -1


def card_of(account: int) -> str:
    """The (Luhn-valid) card number of a store account in these stores."""
    return card("622202", account)


def at(hh: int, mm: int, day: int = 0) -> datetime:
    """A Beijing wall-clock time on the example day, as UTC."""
    return datetime(2026, 11, 20, hh, mm, tzinfo=UTC) - timedelta(hours=8) + timedelta(days=day)


@dataclass
class Store:
    """Transfers to be written as a store; `tx` returns the new transfer's id."""

    root: Path
    rows: list[dict[str, object]] = field(default_factory=list)
    days: int = 3

    def tx(self, when: datetime, payer: int, payee: int, yuan: int, channel: str = "mobile_banking") -> int:
        tx_id = len(self.rows) + 1
        self.rows.append(
            {
                "tx_id": tx_id,
                "ts": when,
                "payer_account": payer,
                "payee_account": payee,
                "amount_fen": yuan * 100,
                "channel": "atm" if payee == ATM else channel,
            }
        )
        return tx_id

    def write(self, skip_days: tuple[int, ...] = ()) -> Path:
        by_day: dict[date, list[dict[str, object]]] = {}
        for r in self.rows:
            ts = r["ts"]
            assert isinstance(ts, datetime)
            by_day.setdefault((ts + timedelta(hours=8)).date(), []).append(r)
        for i in range(self.days):
            d = DAY + timedelta(days=i)
            if i in skip_days:
                continue
            rows = by_day.get(d, [])
            table = pa.table(
                {
                    "tx_id": pa.array([r["tx_id"] for r in rows], pa.int64()),
                    "ts": pa.array([r["ts"] for r in rows], pa.timestamp("us", tz="UTC")),
                    "payer_account": pa.array([r["payer_account"] for r in rows], pa.int64()),
                    "payee_account": pa.array([r["payee_account"] for r in rows], pa.int64()),
                    "amount_fen": pa.array([r["amount_fen"] for r in rows], pa.int64()),
                    "channel": pa.array([r["channel"] for r in rows], pa.string()),
                }
            )
            part = self.root / "transactions" / f"day={d.isoformat()}"
            part.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, part / "part-0.parquet")
        ids = sorted(
            {int(r["payer_account"]) for r in self.rows}
            | {int(r["payee_account"]) for r in self.rows} - {ATM}
        )  # type: ignore[call-overload]
        pq.write_table(
            pa.table(
                {
                    "account_id": pa.array(ids, pa.int64()),
                    "bank": ["ICBC"] * len(ids),
                    "card_number": [card_of(i) for i in ids],
                }
            ),
            self.root / "accounts.parquet",
        )
        (self.root / "manifest.json").write_text(json.dumps({"start": DAY.isoformat(), "days": self.days}))
        return self.root

    def index(self, skip_days: tuple[int, ...] = ()) -> TraceIndex:
        return TraceIndex.build(self.write(skip_days))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


@pytest.fixture
def make_store(tmp_path: Path) -> Callable[[str], Store]:
    return lambda name: Store(tmp_path / name)
