"""The trace index (追踪索引): the store's transfers as time-sorted NumPy arrays, built once.

- `tx_*` arrays hold every transfer in time order (ties by tx_id); a transfer's *position* is its row.
- Each account's *ledger* (its credits and debits, in time order, the debit of a self-transfer before
  its credit) is a CSR slice `ledger_pos[ledger_start[a]:ledger_start[a + 1]]` of transfer positions.
- `opening[a]` is the least opening balance that keeps the account's balance non-negative over the whole
  store, so the balance before ledger entry i is `opening[a]` plus the net flow of the entries before
  it (`balance_before`): no transfer ever pays out money the account did not have.

Sizes are chosen for the district scale (10^8 transfers in under 8 GiB): account indices and positions
are int32, and the running balance is not stored but summed from the ledger when a walk needs it (once
per account a trace activates). The build reads the store day by day into preallocated arrays and sorts
the ledger in blocks of accounts, so it never holds a second copy of the whole store.

Accounts are renumbered densely (`accounts[k]` is the store's account id of index k). `save` writes the
arrays as .npy files; `load` maps them back read-only without copying (mmap).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pingan.antifraud.tracing.store import TX_COLUMNS, cashout_codes, day_partitions, otc_accounts, store_days
from pingan.core.errors import Invalid, NotFound

INDEX_VERSION = 2
# Ledger entries sorted at once while building: bounds the build's temporary memory (about 40 bytes each).
_LEDGER_BLOCK = 24_000_000


def _day_files(store: Path) -> list[tuple[date, Path]]:
    return [(d, f) for d, p in sorted(day_partitions(store).items()) for f in sorted(p.glob("*.parquet"))]


def _read_part(day: date, f: Path) -> pa.Table:
    # The channel is read as a dictionary: a few distinct names, never a string per row.
    t = pq.read_table(f, columns=list(TX_COLUMNS), read_dictionary=["channel"])
    missing = set(TX_COLUMNS) - set(t.column_names)
    if missing:
        raise Invalid(f"{f}: missing columns {sorted(missing)} (day {day})")
    return t


def _store_accounts(files: list[tuple[date, Path]]) -> np.ndarray:
    """Sorted ids of every account that appears as payer or payee (a pass over two columns)."""
    per_day = []
    for _, f in files:
        t = pq.read_table(f, columns=["payer_account", "payee_account"])
        ids = np.concatenate([t.column(0).to_numpy(), t.column(1).drop_null().to_numpy()]).astype(np.int64)
        per_day.append(np.unique(ids[ids >= 0]))
    return np.unique(np.concatenate(per_day)) if per_day else np.zeros(0, dtype=np.int64)


class _IdsTooLarge(Exception):
    """Account ids beyond the direct lookup table: number them by a sorted search instead."""


@dataclass
class TraceIndex:
    """Time-sorted adjacency of the transaction store."""

    tx_id: np.ndarray  # int64, by position
    tx_ts: np.ndarray  # int64 µs UTC
    tx_payer: np.ndarray  # int32 dense account index
    tx_payee: np.ndarray  # int32 dense index, -1: no account (cash left the banks)
    tx_amount: np.ndarray  # int64 fen
    tx_cashout: np.ndarray  # int8 store.CASHOUT_*
    id_order: np.ndarray  # positions sorted by tx_id; empty when tx ids already rise with position
    accounts: np.ndarray  # int64 store account id by dense index
    ledger_start: np.ndarray  # int64 CSR offsets, size n_accounts + 1
    ledger_pos: np.ndarray  # int32 transfer positions
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
        """Read the store once, day by day, and sort it into the index."""
        days = store_days(store)
        files = _day_files(store)
        if not files:
            raise NotFound(f"store {store} holds no transactions")
        try:
            arrays = _read_days(store, files, None)
        except _IdsTooLarge:
            arrays = _read_days(store, files, _store_accounts(files))
        tx_id, ts, payer, payee, amount, cashout, accounts = arrays
        if tx_id.size > 1 and not _time_sorted(ts, tx_id):
            # A row filed under another day's partition: sort the whole store (costs a second copy).
            order = np.lexsort((tx_id, ts))
            tx_id, ts, payer, payee = tx_id[order], ts[order], payer[order], payee[order]
            amount, cashout = amount[order], cashout[order]
            del order
        id_sorted = tx_id.size < 2 or bool(np.all(tx_id[1:] > tx_id[:-1]))
        id_order = (
            np.zeros(0, dtype=np.int64) if id_sorted else np.argsort(tx_id, kind="stable").astype(np.int64)
        )
        ledger_start, ledger_pos, opening = _ledger(payer, payee, amount, accounts.size)
        return cls(
            tx_id=tx_id,
            tx_ts=ts,
            tx_payer=payer,
            tx_payee=payee,
            tx_amount=amount,
            tx_cashout=cashout,
            id_order=id_order,
            accounts=accounts.astype(np.int64),
            ledger_start=ledger_start,
            ledger_pos=ledger_pos,
            opening=opening,
            first_day=days.first,
            last_day=days.last,
            missing_days=days.missing,
        )

    def balance_before(self, a: int, i: int) -> int:
        """Balance of account `a` before its ledger entry `i` (absolute index into `ledger_pos`)."""
        lo = int(self.ledger_start[a])
        if i <= lo:
            return int(self.opening[a])
        seg = np.asarray(self.ledger_pos[lo:i])
        amt = self.tx_amount[seg]
        credit = self.tx_payee[seg] == a
        debit = self.tx_payer[seg] == a
        net = int(amt[credit & ~debit].sum()) - int(amt[debit & ~credit].sum())
        # A self-transfer is two entries, debit then credit, that cancel; one cut after its debit has not.
        if credit[-1] and debit[-1] and (seg.size == 1 or int(seg[-2]) != int(seg[-1])):
            net -= int(amt[-1])
        return int(self.opening[a]) + net

    _ARRAYS = (
        "tx_id", "tx_ts", "tx_payer", "tx_payee", "tx_amount", "tx_cashout", "id_order", "accounts",
        "ledger_start", "ledger_pos", "opening",
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
        if meta.get("version") != INDEX_VERSION:
            raise NotFound(f"trace index at {path} is version {meta.get('version')}, not {INDEX_VERSION}")
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
            with contextlib.suppress(NotFound):  # an index of an older version is rebuilt
                return cls.load(cache)
        index = cls.build(store)
        with contextlib.suppress(OSError):  # a read-only store: the index still works from memory
            index.save(cache)
        return index

    def positions_of(self, tx_ids: list[int]) -> np.ndarray:
        """Positions of the given tx ids; NotFound names every id the store lacks."""
        ids = np.asarray(tx_ids, dtype=np.int64)
        by_id = self.id_order.size > 0
        sorted_ids = self.tx_id[self.id_order] if by_id else self.tx_id
        at = np.clip(np.searchsorted(sorted_ids, ids), 0, max(self.size - 1, 0))
        ok = (sorted_ids[at] == ids) if self.size else np.zeros(ids.size, bool)
        if not ok.all():
            bad = ", ".join(str(int(i)) for i in ids[~ok])
            raise NotFound(f"seed transfer not in the store: tx_id {bad}", field="seeds")
        return np.asarray(self.id_order[at] if by_id else at, dtype=np.int64)

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


# Account ids below this are numbered through a lookup table (one pass, 5 bytes an id); larger ids
# by a sorted search over every id the store holds (a second pass).
_LUT_IDS = 1 << 27

_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _read_days(store: Path, files: list[tuple[date, Path]], accounts: np.ndarray | None) -> _Arrays:
    """The store's columns in time order within each day, accounts numbered densely.

    With `accounts` None, raw ids are kept in the int32 arrays while reading and renumbered at the end
    through a lookup table; `_IdsTooLarge` says the ids do not fit it.
    """
    n = sum(pq.ParquetFile(f).metadata.num_rows for _, f in files)
    tx_id = np.empty(n, dtype=np.int64)
    ts = np.empty(n, dtype=np.int64)
    payer = np.empty(n, dtype=np.int32)
    payee = np.empty(n, dtype=np.int32)
    amount = np.empty(n, dtype=np.int64)
    cashout = np.empty(n, dtype=np.int8)
    present = np.zeros(0 if accounts is not None else _LUT_IDS, dtype=bool)
    otc = otc_accounts(store)
    at = 0
    for day, f in files:
        t = _read_part(day, f)
        k = t.num_rows
        d_id = t.column("tx_id").to_numpy().astype(np.int64)
        d_ts = t.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
        # A partition written in time order (a bank's export, the generator's format 1) needs no sort.
        in_order = k < 2 or bool(np.all(d_ts[1:] >= d_ts[:-1]) and np.all(d_id[1:] > d_id[:-1]))
        order = slice(None) if in_order else _time_order(d_ts, d_id)
        d_payer = t.column("payer_account").to_numpy().astype(np.int64)[order]
        d_payee = t.column("payee_account").fill_null(-1).to_numpy().astype(np.int64)[order]
        if d_payer.size and d_payer.min() < 0:
            raise Invalid(f"{f}: payer_account must be an account id (day {day})", field="payer_account")
        sl = slice(at, at + k)
        tx_id[sl], ts[sl] = d_id[order], d_ts[order]
        amount[sl] = t.column("amount_fen").to_numpy().astype(np.int64)[order]
        channel = t.column("channel")
        cashout[sl] = cashout_codes(otc, d_payee, channel if in_order else channel.take(pa.array(order)))
        if accounts is None:
            if k and max(int(d_payer.max()), int(d_payee.max())) >= _LUT_IDS:
                raise _IdsTooLarge
            payer[sl], payee[sl] = d_payer, d_payee
            present[d_payer] = True
            present[d_payee[d_payee >= 0]] = True
        else:
            payer[sl] = np.searchsorted(accounts, d_payer)
            payee[sl] = np.where(d_payee >= 0, np.searchsorted(accounts, d_payee), -1)
        at += k
        del t, d_id, d_ts, d_payer, d_payee, order
    if accounts is None:
        accounts = np.flatnonzero(present).astype(np.int64)
        lut = np.full(_LUT_IDS, -1, dtype=np.int32)
        lut[accounts] = np.arange(accounts.size, dtype=np.int32)
        del present
        step = 16_000_000
        for lo in range(0, n, step):
            payer[lo : lo + step] = lut[payer[lo : lo + step]]
            chunk = payee[lo : lo + step]
            chunk[chunk >= 0] = lut[chunk[chunk >= 0]]
        del lut
    return tx_id, ts, payer, payee, amount, cashout, accounts


def _time_order(ts: np.ndarray, tx_id: np.ndarray) -> np.ndarray:
    """The rows' (ts, tx_id) order. Where ids rise with time (the generator's format 2 groups a day by
    channel, each group in time order) a stable sort of the ids, which merges the groups' runs, is it:
    half the time of the lexicographic sort over a district day."""
    order = np.argsort(tx_id, kind="stable")
    s_ts, s_id = ts[order], tx_id[order]
    if bool(np.all(s_ts[1:] >= s_ts[:-1]) and np.all(s_id[1:] > s_id[:-1])):
        return order
    return np.lexsort((tx_id, ts))


def _time_sorted(ts: np.ndarray, tx_id: np.ndarray) -> bool:
    """Whether (ts, tx_id) never decreases along the arrays (checked in slices to bound memory)."""
    step = 8_000_000
    for lo in range(0, ts.size - 1, step):
        hi = min(lo + step + 1, ts.size)
        a, b = ts[lo : hi - 1], ts[lo + 1 : hi]
        if bool(np.any(b < a)) or bool(np.any((b == a) & (tx_id[lo + 1 : hi] < tx_id[lo : hi - 1]))):
            return False
    return True


def _ledger(
    payer: np.ndarray, payee: np.ndarray, amount: np.ndarray, n_accounts: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR ledger of every account and its least opening balance, sorted in blocks of accounts."""
    counts = np.bincount(payer, minlength=n_accounts).astype(np.int64)
    has_payee = payee >= 0
    counts += np.bincount(payee[has_payee], minlength=n_accounts)
    del has_payee
    ledger_start = np.zeros(n_accounts + 1, dtype=np.int64)
    np.cumsum(counts, out=ledger_start[1:])
    total = int(ledger_start[-1])
    ledger_pos = np.empty(total, dtype=np.int32 if payer.size < np.iinfo(np.int32).max else np.int64)
    opening = np.zeros(n_accounts, dtype=np.int64)
    # Block boundaries: consecutive accounts holding about _LEDGER_BLOCK entries together.
    cuts = np.searchsorted(ledger_start, np.arange(_LEDGER_BLOCK, total, _LEDGER_BLOCK), side="right") - 1
    bounds = np.unique(np.concatenate([[0], np.maximum(cuts, 1), [n_accounts]]))
    span = 2 * max(payer.size, 1)
    for k0, k1 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        d_pos = np.flatnonzero((payer >= k0) & (payer < k1))
        c_pos = np.flatnonzero((payee >= k0) & (payee < k1))
        # One sort key: account, then position, then the debit (0) before the credit (1).
        key = np.concatenate(
            [(payer[d_pos].astype(np.int64) - k0) * span + d_pos * 2,
             (payee[c_pos].astype(np.int64) - k0) * span + c_pos * 2 + 1]
        )  # fmt: skip
        del d_pos, c_pos
        key.sort()
        pos = key % span // 2
        ledger_pos[ledger_start[k0] : ledger_start[k1]] = pos
        signed = amount[pos]
        signed[key % 2 == 0] *= -1
        del key, pos
        # Least running balance per account: cumulative sum within each account's run of entries.
        start = ledger_start[k0:k1] - ledger_start[k0]
        cnt = counts[k0:k1]
        cum = np.cumsum(signed)
        del signed
        before = np.zeros(start.size, dtype=np.int64)
        later = start > 0
        before[later] = cum[start[later] - 1]
        cum -= np.repeat(before, cnt)
        nonempty = cnt > 0
        if cum.size:
            low = np.minimum.reduceat(cum, start[nonempty])
            opening[k0:k1][nonempty] = np.maximum(0, -low)
        del cum
    return ledger_start, ledger_pos, opening
