"""The trace index (追踪索引): the store's transfers as time-sorted NumPy arrays, built once.

- `tx_*` arrays hold every transfer in time order (ties by tx_id); a transfer's *position* is its row.
- Each account's *ledger* (its credits and debits, in time order) is a CSR slice
  `ledger_pos[ledger_start[a]:ledger_start[a + 1]]` of transfer positions, with `ledger_cum`, the running
  net flow (credits minus debits) after each entry.
- `opening[a]` is the least opening balance that keeps the account's balance non-negative over the whole
  store, so the balance before ledger entry i is `opening[a] + ledger_cum[i - 1]`: no transfer ever pays
  out money the account did not have.

Accounts are renumbered densely (`accounts[k]` is the store's account id of index k). `save` writes the
arrays as .npy files; `load` maps them back read-only without copying (mmap).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import numpy as np

from pingan.antifraud.tracing.store import cashout_codes, read_transactions, store_days
from pingan.core.errors import NotFound

INDEX_VERSION = 1


@dataclass
class TraceIndex:
    """Time-sorted adjacency of the transaction store."""

    tx_id: np.ndarray  # int64, by position
    tx_ts: np.ndarray  # int64 µs UTC
    tx_payer: np.ndarray  # int32/int64 dense account index
    tx_payee: np.ndarray  # dense index, -1: no account (cash left the banks)
    tx_amount: np.ndarray  # int64 fen
    tx_cashout: np.ndarray  # int8 store.CASHOUT_*
    id_order: np.ndarray  # positions sorted by tx_id (for lookup)
    accounts: np.ndarray  # int64 store account id by dense index
    ledger_start: np.ndarray  # int64 CSR offsets, size n_accounts + 1
    ledger_pos: np.ndarray  # int64 transfer positions
    ledger_cum: np.ndarray  # int64 running net flow after each entry
    opening: np.ndarray  # int64 implied opening balance per account
    first_day: date
    last_day: date
    missing_days: tuple[date, ...]

    @property
    def size(self) -> int:
        """Number of transfers."""
        return int(self.tx_id.size)

    @classmethod
    def build(cls, store: Path) -> TraceIndex:
        """Read the store once and sort it into the index."""
        days = store_days(store)
        table = read_transactions(store)
        tx_id = table.column("tx_id").to_numpy()
        ts = table.column("ts").to_numpy()
        order = np.lexsort((tx_id, ts))
        tx_id, ts = tx_id[order], ts[order]
        payer_raw = table.column("payer_account").to_numpy()[order]
        payee_col = table.column("payee_account")
        payee_raw = payee_col.fill_null(-1).to_numpy()[order]
        amount = table.column("amount_fen").to_numpy()[order].astype(np.int64)
        cashout = cashout_codes(store, payee_raw, table.column("channel").take(order))
        del table
        has_payee = payee_raw >= 0
        accounts = np.unique(np.concatenate([payer_raw, payee_raw[has_payee]]))
        payer = np.searchsorted(accounts, payer_raw)
        payee = np.where(has_payee, np.searchsorted(accounts, payee_raw), -1)
        # Ledger: debits and credits grouped by account; a stable sort keeps time order within each.
        pos = np.arange(tx_id.size, dtype=np.int64)
        in_pos = pos[has_payee]
        owner = np.concatenate([payer, payee[has_payee]])
        ledger_pos = np.concatenate([pos, in_pos])
        signed = np.concatenate([-amount, amount[has_payee]])
        # Within one account, order by position, debits and credits of one position: the debit first.
        by = np.lexsort((signed > 0, ledger_pos, owner))
        owner, ledger_pos, signed = owner[by], ledger_pos[by], signed[by]
        counts = np.bincount(owner, minlength=accounts.size)
        ledger_start = np.zeros(accounts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=ledger_start[1:])
        cum = np.cumsum(signed)
        base = np.repeat(np.concatenate([[0], cum[ledger_start[1:-1] - 1]]), counts) if cum.size else cum
        ledger_cum = cum - base
        running_min = np.minimum.reduceat(ledger_cum, ledger_start[:-1][counts > 0]) if cum.size else cum
        opening = np.zeros(accounts.size, dtype=np.int64)
        opening[counts > 0] = np.maximum(0, -running_min)
        return cls(
            tx_id=tx_id,
            tx_ts=ts,
            tx_payer=payer.astype(np.int64),
            tx_payee=payee.astype(np.int64),
            tx_amount=amount,
            tx_cashout=cashout,
            id_order=np.argsort(tx_id, kind="stable"),
            accounts=accounts.astype(np.int64),
            ledger_start=ledger_start,
            ledger_pos=ledger_pos,
            ledger_cum=ledger_cum,
            opening=opening,
            first_day=days.first,
            last_day=days.last,
            missing_days=days.missing,
        )

    _ARRAYS = (
        "tx_id", "tx_ts", "tx_payer", "tx_payee", "tx_amount", "tx_cashout", "id_order", "accounts",
        "ledger_start", "ledger_pos", "ledger_cum", "opening",
    )  # fmt: skip

    def save(self, path: Path) -> None:
        """Write the index to directory `path` (.npy arrays and meta.json)."""
        path.mkdir(parents=True, exist_ok=True)
        for name in self._ARRAYS:
            np.save(path / f"{name}.npy", getattr(self, name))
        meta = {
            "version": INDEX_VERSION,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "missing_days": [d.isoformat() for d in self.missing_days],
        }
        (path / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TraceIndex:
        """Map a saved index back, read-only (the arrays stay on disk until touched)."""
        meta_path = path / "meta.json"
        if not meta_path.exists():
            raise NotFound(f"no trace index at {path}")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        arrays = {n: np.load(path / f"{n}.npy", mmap_mode="r") for n in cls._ARRAYS}
        return cls(
            **arrays,
            first_day=date.fromisoformat(meta["first_day"]),
            last_day=date.fromisoformat(meta["last_day"]),
            missing_days=tuple(date.fromisoformat(d) for d in meta["missing_days"]),
        )

    @classmethod
    def open(cls, store: Path, cache: Path | None = None) -> TraceIndex:
        """The store's index: loaded from `cache` when it is there and newer than the store, else built."""
        cache = cache or store / ".trace-index"
        meta = cache / "meta.json"
        newest = max((p.stat().st_mtime for p in (store / "transactions").rglob("*.parquet")), default=0.0)
        if meta.exists() and meta.stat().st_mtime >= newest:
            return cls.load(cache)
        index = cls.build(store)
        with contextlib.suppress(OSError):  # a read-only store: the index still works from memory
            index.save(cache)
        return index

    def positions_of(self, tx_ids: list[int]) -> np.ndarray:
        """Positions of the given tx ids; NotFound names every id the store lacks."""
        ids = np.asarray(tx_ids, dtype=np.int64)
        sorted_ids = self.tx_id[self.id_order]
        at = np.clip(np.searchsorted(sorted_ids, ids), 0, max(self.size - 1, 0))
        ok = (sorted_ids[at] == ids) if self.size else np.zeros(ids.size, bool)
        if not ok.all():
            bad = ", ".join(str(int(i)) for i in ids[~ok])
            raise NotFound(f"seed transfer not in the store: tx_id {bad}", field="seeds")
        return np.asarray(self.id_order[at], dtype=np.int64)

    def find_transfer(
        self, payer_id: int, payee_id: int, amount_fen: int, ts_us: int, tolerance_us: int
    ) -> int:
        """tx_id of the payer's transfer to the payee of that amount nearest `ts_us` within tolerance, or -1."""
        a, b = self.account_index(payer_id), self.account_index(payee_id)
        if a < 0 or b < 0:
            return -1
        pos = np.asarray(self.ledger_pos[int(self.ledger_start[a]) : int(self.ledger_start[a + 1])])
        hit = pos[(self.tx_payer[pos] == a) & (self.tx_payee[pos] == b) & (self.tx_amount[pos] == amount_fen)]
        if hit.size == 0:
            return -1
        dt = np.abs(self.tx_ts[hit] - ts_us)
        best = int(np.argmin(dt))
        return int(self.tx_id[hit[best]]) if int(dt[best]) <= tolerance_us else -1

    def account_index(self, account_id: int) -> int:
        """Dense index of a store account id, or -1."""
        k = int(np.searchsorted(self.accounts, account_id))
        return k if k < self.accounts.size and int(self.accounts[k]) == account_id else -1

    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(int(getattr(self, f.name).nbytes) for f in fields(self) if f.name in self._ARRAYS)


def build_seconds(store: Path) -> tuple[TraceIndex, float]:
    """Build the index and time it."""
    t = time.perf_counter()
    index = TraceIndex.build(store)
    return index, time.perf_counter() - t
