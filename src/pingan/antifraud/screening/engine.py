"""The incremental screening engine: `screen_batch` (and `screen_columns`), which the stream consumer runs.

A batch of transactions is screened against the rule set, the watchlist and the state carried over
from earlier batches (payer→payee pairs seen, and the recent first-time transfers that the windowed
rules look back over). The result does not depend on how the transactions are cut into batches, as
long as each batch follows the previous one in time: that is what makes a stream's micro-batches give
the flags of the batch run over the whole store (`batch.py`, the same rules as a DuckDB script,
which replaced this engine for whole stores: it was faster there, and is a fraction of the code).
This engine keeps what SQL does not: the state, so that each micro-batch costs its own rows only.

Everything runs on NumPy int64 columns (times in microseconds since the epoch, UTC). Fraud patterns
are rare, so the heavy parts (pass-through suppression, the payer's own listing, reasons and the
output frame) run only on the few rows that some rule fits; the pair state is a hash table that a
compiled loop probes once a row (see `PairTable` and `kernels`), not a join against the whole history.

Pure: no I/O except `ScreenState.save`/`load`. The clock is the transactions' own time. The state
passed in is updated in place and returned: use the returned state, not the one passed in.
"""

from __future__ import annotations

import mmap
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from pingan.antifraud.screening import kernels
from pingan.antifraud.screening.ruleset import (
    BurstRule,
    ElderlyNightRule,
    EscalatingRule,
    FirstLargeRule,
    MulePayeeRule,
    RuleSet,
    WatchlistRule,
)
from pingan.antifraud.watchlist.frames import WATCHLIST_SCHEMA

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

US = 1_000_000
DAY_US = 86_400 * US
TS = pl.Datetime("us", "UTC")
TX_SCHEMA: dict[str, pl.DataType] = {
    "tx_id": pl.Int64(),
    "ts": TS,
    "payer_account": pl.Int64(),
    "payee_account": pl.Int64(),
    "amount_fen": pl.Int64(),
    "channel": pl.String(),
    "payer_bank": pl.String(),
    "payee_bank": pl.String(),
}
REFERENCE_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    "person_id": pl.Int64(),
    "birth_date": pl.Date(),
    "business": pl.Boolean(),
}
FLAG_SCHEMA: dict[str, pl.DataType] = {
    "tx_id": pl.Int64(),
    "ts": TS,
    "payer_account": pl.Int64(),
    "payee_account": pl.Int64(),
    "payer_bank": pl.String(),
    "payee_bank": pl.String(),
    "amount_fen": pl.Int64(),
    "person_id": pl.Int64(),
    "elderly": pl.Boolean(),
    "reasons": pl.List(pl.String()),
    "typology_guess": pl.String(),
    "amount_at_risk_fen": pl.Int64(),
}
BEIJING_OFFSET_US = 8 * 3600 * US
# Typology guesses from the pattern alone, for when no watchlist entry names one. A guess, labelled so.
GUESS_BY_RULE = {
    "elderly_night": "冒充公检法",
    "escalating_new_payee": "虚假投资理财",
    "new_payee_burst": "刷单返利",
    "first_large_transfer": "冒充电商物流客服",
    "payee_many_new_payers": "刷单返利",
}
# Pair keys pack payer and payee into one int64; account ids of the store are 0..n-1.
ACCOUNT_LIMIT = 1 << 31
_NEVER = np.iinfo(np.int64).max


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with `schema`."""
    return pl.DataFrame(schema=schema)


def _i64(a: Any) -> I64:
    return np.ascontiguousarray(a, dtype=np.int64)


def _us(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _dt(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


# ---------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------

_PAIR_FIELDS = ("key", "first_ts", "n", "last_amount", "total")


@dataclass
class PairLevel:
    """Pairs sorted by key (payer<<32 | payee) with what screening remembers of each: the form in
    which the state is saved. A pair no longer young (see `PairTable`) has n = -1 and first_ts far
    in the past: what it had is not kept."""

    key: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    first_ts: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    n: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    last_amount: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    total: I64 = field(default_factory=lambda: np.zeros(0, np.int64))


def _zeroed_slots(slots: int, columns: int) -> I64:
    """A zeroed (slots, columns) table; a large one in transparent huge pages where the system has them.

    The tables are written at random places, so every page of a table is touched early. On the
    benchmark machine (a VM) a page's first touch is dear: writing 4 million random slots of a fresh
    1 GiB table took 0.5-2.4 s in 4 KiB pages and 0.19 s in 2 MiB ones (madvise(MADV_HUGEPAGE) on an
    anonymous mapping, which Linux zeroes as each huge page is first touched). Huge pages also spare
    the probes most of their TLB misses.
    """
    nbytes = slots * columns * 8
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if nbytes < _HUGE_PAGE_MIN or advice is None:
        return np.zeros((slots, columns), np.int64)
    # Private and anonymous: zero-filled, each page mapped when first touched (a shared mapping would
    # be shmem, which the system does not give huge pages).
    buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    buf.madvise(advice)
    return np.frombuffer(buf, np.int64).reshape(slots, columns)


_HUGE_PAGE_MIN = 8 << 20


@dataclass
class PairTable:
    """Every payer→payee pair seen with the total paid, and the young pairs' first time, count and
    last amount: two hash tables probed once a row by a compiled loop (`kernels.fold_rows`).

    A pair is young while a row of the batch being folded may still be within `young_us` of its first
    time (the longest window of the escalation rules, which alone read those fields); older pairs
    leave the young table when it is rebuilt. Each table is kept at most half full: before a batch that
    could fill it past that, the pair table is rebuilt in place twice as large, the young table in
    place with its live pairs only, at four times their number (and the batch's rows).
    Sorted runs merged log-structured and searched with NumPy (what this replaced) took about 60% of
    the screening thread's time at district scale, and a pass grouping each day's rows by pair on top.
    """

    pairs: I64 = field(default_factory=lambda: _zeroed_slots(_MIN_SLOTS, kernels.PAIR_COLUMNS))
    young: I64 = field(default_factory=lambda: _zeroed_slots(_MIN_SLOTS, kernels.YOUNG_COLUMNS))
    scratch: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    size: int = 0
    young_size: int = 0

    def __len__(self) -> int:
        return self.size

    def _scratch(self, rows: int, columns: int) -> I64:
        """A (rows, columns) work array, its memory reused from one rebuild to the next."""
        if self.scratch.size < rows * columns:
            self.scratch = np.empty(rows * columns + rows * columns // 4, np.int64)
        return self.scratch[: rows * columns].reshape(rows, columns)

    def _grow_pairs(self, incoming: int) -> None:
        capacity = self.pairs.shape[0]
        while 2 * (self.size + incoming) > capacity:
            capacity *= 2
        if capacity != self.pairs.shape[0]:
            # The pairs out to a scratch array and into a new table (in huge pages: see `_zeroed_slots`).
            keep = self._scratch(self.size, kernels.PAIR_COLUMNS)
            n = kernels.take_rows(self.pairs, kernels.FAR_PAST, keep)
            self.pairs = _zeroed_slots(capacity, kernels.PAIR_COLUMNS)
            kernels.insert_rows(self.pairs, keep[:n])

    def _make_room(self, incoming: int, young_since: int) -> None:
        self._grow_pairs(incoming)
        if 2 * (self.young_size + incoming) > self.young.shape[0]:
            # The pairs no longer young dropped in place (see `kernels.purge_young`); where the table
            # must change size, the rest moved into a new one.
            n = kernels.purge_young(self.young, young_since)
            capacity = _MIN_SLOTS
            # Room for twice what is needed, so the next rebuild is days away.
            while capacity < 4 * (n + incoming):
                capacity *= 2
            if capacity != self.young.shape[0]:
                keep = self._scratch(n, kernels.YOUNG_COLUMNS)
                kernels.take_rows(self.young, kernels.FAR_PAST, keep)
                self.young = _zeroed_slots(capacity, kernels.YOUNG_COLUMNS)
                kernels.insert_rows(self.young, keep[:n])
            self.young_size = n

    def fold(self, t: TxColumns, young_us: int) -> _Pairs:
        """What the table says at each row of `t` (in time order, after every row folded before),
        with `t` folded in; the young pairs are those within `young_us` of a row of `t` or later."""
        if t.size == 0:
            z = np.zeros(0, np.int64)
            return _Pairs(np.zeros(0, bool), z, z, np.zeros(0, bool), z, z)
        if (
            int(min(t.payer.min(), t.payee.min())) < 0
            or int(max(t.payer.max(), t.payee.max())) >= ACCOUNT_LIMIT
        ):
            raise ValueError(f"account ids must lie in [0, {ACCOUNT_LIMIT}) to be screened")
        self._make_room(t.size, int(t.ts.min()) - young_us)
        m = t.size
        n_before, prev_amount, first_ts, at_risk = (np.empty(m, np.int64) for _ in range(4))
        payer, payee, ts, amount = (_i64(a) for a in (t.payer, t.payee, t.ts, t.amount))
        added = kernels.fold_rows(
            self.pairs, self.young, payer, payee, ts, amount, n_before, prev_amount, first_ts, at_risk
        )
        self.size += added
        self.young_size += added
        return _Pairs(n_before == 0, n_before, prev_amount, n_before != 0, first_ts, at_risk)

    def copy(self, into: PairTable | None = None) -> PairTable:
        """An independent copy of both tables (a memory copy, no sort: what a checkpoint snapshots),
        into the memory of `into` (an earlier copy, no longer needed) when its tables are the same size."""
        if into is None or into.pairs.shape != self.pairs.shape or into.young.shape != self.young.shape:
            return PairTable(self.pairs.copy(), self.young.copy(), size=self.size, young_size=self.young_size)
        np.copyto(into.pairs, self.pairs)
        np.copyto(into.young, self.young)
        into.size, into.young_size = self.size, self.young_size
        return into

    @property
    def runs(self) -> list[PairLevel]:
        """The pairs as one level sorted by key (the saved form)."""
        used = self.pairs[self.pairs[:, kernels.KEY] != 0]
        used = used[np.argsort(used[:, kernels.KEY])]
        young = self.young[self.young[:, kernels.KEY] != 0]
        young = young[np.argsort(young[:, kernels.KEY])]
        at = np.searchsorted(young[:, kernels.KEY], used[:, kernels.KEY])
        has = at < young.shape[0]
        has[has] = young[at[has], kernels.KEY] == used[has, kernels.KEY]
        yr = (
            young[np.where(has, at, 0)]
            if young.shape[0]
            else np.zeros((used.shape[0], kernels.YOUNG_COLUMNS), np.int64)
        )
        return [
            PairLevel(
                _i64(used[:, kernels.KEY] - 1),
                _i64(np.where(has, yr[:, kernels.FIRST_TS], kernels.FAR_PAST)),
                _i64(np.where(has, yr[:, kernels.COUNT], kernels.UNKNOWN_COUNT)),
                _i64(np.where(has, yr[:, kernels.LAST_AMOUNT], 0)),
                _i64(used[:, kernels.TOTAL]),
            )
        ]

    @classmethod
    def of_runs(cls, runs: list[PairLevel]) -> PairTable:
        """A table of saved levels (their keys disjoint)."""
        table = cls()
        for run in runs:
            table._make_room(run.key.size, kernels.FAR_PAST)
            table.size += kernels.insert_rows(table.pairs, _i64(np.stack([run.key + 1, run.total], axis=1)))
            kept = run.n >= 0
            young = np.stack(
                [run.key[kept] + 1, run.first_ts[kept], run.n[kept], run.last_amount[kept]], axis=1
            )
            table.young_size += kernels.insert_rows(table.young, _i64(young))
        return table


_MIN_SLOTS = 1 << 4


@dataclass
class Events:
    """Time-ordered rows kept for a window: account (or payer/payee), time, id and amount."""

    payer: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    payee: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    ts: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    tx_id: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    amount: I64 = field(default_factory=lambda: np.zeros(0, np.int64))

    def appended(self, other: Events, keep_from: int, *, inclusive: bool) -> Events:
        """Both, in time order, without the rows before `keep_from` (at it too unless `inclusive`)."""
        # Each part is in time order and `other` follows `self`: each is cut before it is copied (a
        # batch's rows are many more than the window keeps of them).
        side: Literal["left", "right"] = "left" if inclusive else "right"
        mine = int(np.searchsorted(self.ts, keep_from, side=side))
        theirs = int(np.searchsorted(other.ts, keep_from, side=side))
        return Events(
            *(np.concatenate([getattr(self, f)[mine:], getattr(other, f)[theirs:]]) for f in _EVENT_FIELDS)
        )

    def take(self, rows: Any) -> Events:
        """A subset of rows."""
        return Events(*(getattr(self, f)[rows] for f in _EVENT_FIELDS))


_EVENT_FIELDS = ("payer", "payee", "ts", "tx_id", "amount")


@dataclass
class ScreenState:
    """What screening remembers between batches.

    `pairs`: every pair with its first time, count, last amount and total; `recent`: first-time
    transfers (new pairs) still inside a windowed rule's window, at or above the smallest amount a
    windowed rule counts; `inflows`: transfers received within the pass-through window (payee, time,
    amount); `high_water`: the latest transaction time screened; `pending`: a partition's risk events
    held until the payee's partition answers (`screen_partition`), reasons still to be settled marked
    with `PENDING`.
    """

    pairs: PairTable = field(default_factory=PairTable)
    recent: Events = field(default_factory=Events)
    inflows: Events = field(default_factory=Events)
    high_water: datetime | None = None
    pending: pl.DataFrame = field(default_factory=lambda: empty(FLAG_SCHEMA))

    def of_partition(self, part: Partition) -> ScreenState:
        """The part of this state that partition `part` reads: the pairs and new-pair events with either
        end among its accounts, the money its accounts received, its held events. A partition's state
        then holds its own accounts, not the whole district's: the pairs of a district spread over P
        partitions take about 2/P of the whole each, not all of it."""
        runs = []
        for run in self.pairs.runs:
            keep = part.owns(run.key >> 32) | part.owns(run.key & 0xFFFFFFFF)
            runs.append(PairLevel(*(getattr(run, f)[keep] for f in _PAIR_FIELDS)))
        recent = self.recent.take(part.owns(self.recent.payer) | part.owns(self.recent.payee))
        inflows = self.inflows.take(part.owns(self.inflows.payee))
        pending = self.pending.filter(pl.Series(part.owns(self.pending["payer_account"].to_numpy())))
        return ScreenState(PairTable.of_runs(runs), recent, inflows, self.high_water, pending)

    def snapshot(self, into: ScreenState | None = None) -> ScreenState:
        """A copy that later batches do not change, to be saved while screening goes on (into the
        memory of `into`, an earlier snapshot no longer needed, where it fits).

        Only the pair tables are copied: batches change them in place, while `recent`, `inflows`,
        `high_water` and `pending` are replaced by each batch (`_advance`, `settle`), never changed.
        """
        pairs = self.pairs.copy(into.pairs if into is not None else None)
        return ScreenState(pairs, self.recent, self.inflows, self.high_water, self.pending)

    def save(self, directory: Path) -> None:
        """Write the state as NumPy files under `directory` (the caller makes the swap atomic)."""
        directory.mkdir(parents=True, exist_ok=True)
        runs = self.pairs.runs
        arrays: dict[str, I64] = {"runs": np.array([len(runs)], np.int64)}
        for i, run in enumerate(runs):
            for f in _PAIR_FIELDS:
                arrays[f"run{i}_{f}"] = getattr(run, f)
        for part in ("recent", "inflows"):
            for f in _EVENT_FIELDS:
                arrays[f"{part}_{f}"] = getattr(getattr(self, part), f)
        np.savez(directory / "state.npz", allow_pickle=False, **arrays)
        held = directory / "pending.parquet"
        if self.pending.height:
            self.pending.write_parquet(held)
        else:
            held.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path, high_water: datetime | None) -> ScreenState:
        """Read a state written by `save`."""
        with np.load(directory / "state.npz", allow_pickle=False) as z:
            runs = [
                PairLevel(*(_i64(z[f"run{i}_{f}"]) for f in _PAIR_FIELDS)) for i in range(int(z["runs"][0]))
            ]
            parts = {p: Events(*(_i64(z[f"{p}_{f}"]) for f in _EVENT_FIELDS)) for p in ("recent", "inflows")}
        held = directory / "pending.parquet"
        pending = pl.read_parquet(held).cast(FLAG_SCHEMA) if held.exists() else empty(FLAG_SCHEMA)  # type: ignore[arg-type]
        return cls(PairTable.of_runs(runs), parts["recent"], parts["inflows"], high_water, pending)


def young_us(rules: RuleSet) -> int:
    """How long after its first time a pair's count, first time and last amount are still read: the
    longest escalation window (0 without an escalation rule)."""
    return max(
        (r.params.new_payee_days * DAY_US for r in rules.rule if isinstance(r, EscalatingRule)), default=0
    )


def _windows(rules: RuleSet) -> list[tuple[int, int]]:
    """(window in microseconds, smallest amount counted) of each windowed rule."""
    out = [
        (r.params.window_minutes * 60 * US, r.params.min_amount_fen)
        for r in rules.rule
        if isinstance(r, BurstRule)
    ]
    out += [
        (r.params.window_days * DAY_US, r.params.min_amount_fen)
        for r in rules.rule
        if isinstance(r, MulePayeeRule)
    ]
    return out


# ---------------------------------------------------------------------------------------------
# Windowed counts and sums
# ---------------------------------------------------------------------------------------------


def dense_rank(key: I64) -> tuple[int, I64]:
    """(number of distinct keys, each key's rank among them); by a table when the keys are compact ids."""
    if key.size and key.min() >= 0 and key.max() < 8 * key.size + 65_536:
        seen = np.zeros(int(key.max()) + 1, bool)
        seen[key] = True
        ranks = np.cumsum(seen) - 1
        return int(ranks[-1]) + 1, _i64(ranks[key])
    uniq, rank = np.unique(key, return_inverse=True)
    return int(uniq.size), _i64(rank)


def member(a: I64, b: I64) -> Mask:
    """Whether each element of `a` is in `b`; by a table when the values are compact ids."""
    if a.size == 0 or b.size == 0:
        return np.zeros(a.size, bool)
    lo = min(int(a.min()), int(b.min()))
    hi = max(int(a.max()), int(b.max()))
    if lo >= 0 and hi < 4 * (a.size + b.size) + (1 << 23):
        # A table of the ids, kept from call to call (per thread) and cleared after: a fresh one
        # each call cost more than the look-ups (a district's ids run to millions).
        table = getattr(_MEMBER, "table", None)
        if table is None or table.size <= hi:
            table = _MEMBER.table = np.zeros(max(hi + 1, 1 << 16) * 5 // 4, bool)
        table[b] = True
        out = table[a]
        table[b] = False
        return out
    return np.isin(a, b)


_MEMBER = threading.local()


def stable_order(*keys: I64) -> I64:
    """The rows in order of `keys` (non-negative; the first most significant), rows of equal keys in
    row order: a stable lexicographic argsort.

    NumPy's stable sort of int64 runs about 25 times slower here than its vectorised (unstable) sort
    of int64 values, so each key in turn, least significant first (a radix sort by whole keys), is
    sorted with the row's current place packed into the low bits. A key too wide to share 63 bits
    with the place is ranked by an unstable argsort first.
    """
    n = keys[0].size
    order = np.arange(n, dtype=np.int64)
    if n == 0:
        return order
    bits = max((n - 1).bit_length(), 1)
    low = (1 << bits) - 1
    place = np.arange(n, dtype=np.int64)
    for key in reversed(keys):
        v = key[order]
        if int(v.max()) >> (63 - bits):
            # Too wide: replace the key by its rank among the distinct values (fits in `bits`).
            by = np.argsort(v)
            rank = np.empty(n, np.int64)
            sv = v[by]
            rank[by] = np.concatenate([[0], np.cumsum(sv[1:] != sv[:-1])])
            v = rank
        order = order[np.sort((v << bits) | place) & low]
    return order


def count_in_window(key: I64, ts: I64, window_us: int, *, last: int | None = None, cap: int) -> I64:
    """For each row (or each of the `last` rows), how many rows share its key with a time in
    (ts - window, ts], counted up to `cap`; the rows must be in time order.

    The rows are put in (key, time) order (a stable sort by key) and a compiled pass with two
    pointers counts each row's window. It replaced `cap` NumPy passes over the rows (about 0.5 s of a
    district run); a compiled version of the sort too was slower than NumPy's (see the write-up).
    """
    n = key.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = stable_order(key)
    counted = np.empty(n, np.int64)
    kernels.window_counts(_i64(key[order]), _i64(ts[order]), window_us, cap, counted)
    out = np.empty(n, np.int64)
    out[order] = counted
    return out if last is None else out[n - last :]


def sum_before(ev_key: I64, ev_ts: I64, ev_amount: I64, q_key: I64, q_ts: I64, window_us: int) -> I64:
    """For each query, the sum of event amounts with its key and a time in [q_ts - window, q_ts)."""
    if q_key.size == 0 or ev_key.size == 0:
        return np.zeros(q_key.size, dtype=np.int64)
    n_keys, rank = dense_rank(np.concatenate([ev_key, q_key]))
    t0 = int(min(ev_ts.min(), q_ts.min())) - window_us
    span = int(max(ev_ts.max(), q_ts.max())) - t0 + 1
    if (n_keys + 1) * span >= 2**62:
        raise OverflowError("batch too long for the windowed sum; screen it in shorter batches")
    comp = rank * span + (np.concatenate([ev_ts, q_ts]) - t0)
    ev_comp, q_comp = comp[: ev_key.size], comp[ev_key.size :]
    order = np.argsort(ev_comp, kind="stable")
    sorted_comp = ev_comp[order]
    csum = np.concatenate([[0], np.cumsum(ev_amount[order])])
    hi = np.searchsorted(sorted_comp, q_comp, side="left")
    lo = np.searchsorted(sorted_comp, q_comp - window_us, side="left")
    return np.asarray(csum[hi] - csum[lo], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Lookups: the watchlist and the account holders, compiled once into arrays
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountIndex:
    """Account id → row: a dense table when the ids are compact (the store's 0..n-1), else binary search
    behind a presence bitmap (a watchlist's 100,000 ids among a district's millions: most queries
    miss, and a bitmap answers a miss in one read where the search took a dozen)."""

    dense: I64 | None
    keys: I64
    rows: I64
    present: Mask | None = None

    @classmethod
    def of(cls, ids: I64) -> AccountIndex:
        """Index `ids`; the first row of a repeated id wins."""
        if ids.size and ids.min() >= 0 and ids.max() < 4 * ids.size + 4096:
            table = np.full(int(ids.max()) + 1, -1, np.int64)
            table[ids[::-1]] = np.arange(ids.size - 1, -1, -1)
            return cls(table, ids, np.zeros(0, np.int64))
        keys, first = np.unique(ids, return_index=True)
        present = None
        if keys.size and keys[0] >= 0 and keys[-1] < _BITMAP_LIMIT:
            present = np.zeros(int(keys[-1]) + 1, bool)
            present[keys] = True
        return cls(None, keys, _i64(first), present)

    def get(self, q: I64) -> I64:
        """Rows of `q`, -1 where absent."""
        if self.dense is not None:
            inside = (q >= 0) & (q < self.dense.size)
            return np.where(inside, self.dense[np.where(inside, q, 0)], -1)
        if self.keys.size == 0:
            return np.full(q.size, -1, np.int64)
        if self.present is None:
            return self._search(q)
        out = np.full(q.size, -1, np.int64)
        inside = (q >= 0) & (q < self.present.size)
        hit = np.flatnonzero(self.present[np.where(inside, q, 0)] & inside)
        out[hit] = self._search(q[hit])
        return out

    def _search(self, q: I64) -> I64:
        pos = np.minimum(np.searchsorted(self.keys, q), self.keys.size - 1)
        return np.where(self.keys[pos] == q, self.rows[pos], -1)


# Ids up to 2^27 get a presence bitmap (at most 128 MiB; a district's ids stay under 2^23).
_BITMAP_LIMIT = 1 << 27


@dataclass(frozen=True)
class Lookups:
    """The watchlist and the account holders as arrays."""

    ref: AccountIndex
    person: I64
    person_known: Mask
    birth_day: I64
    birth_known: Mask
    business: Mask
    wl: AccountIndex
    wl_from: I64
    wl_until: I64
    wl_source: list[str | None]
    wl_confidence: npt.NDArray[np.float64]
    wl_typology: list[str | None]

    @classmethod
    def of(cls, watchlist: pl.DataFrame, reference: pl.DataFrame) -> Lookups:
        """Compile a watchlist (WATCHLIST_SCHEMA) and account holders (REFERENCE_SCHEMA)."""
        ref = reference.select(list(REFERENCE_SCHEMA)).cast(REFERENCE_SCHEMA)  # type: ignore[arg-type]
        wl = watchlist.select(list(WATCHLIST_SCHEMA)).cast(WATCHLIST_SCHEMA)  # type: ignore[arg-type]
        birth = ref["birth_date"].cast(pl.Int32)
        wl_from = wl["listed_from"].dt.epoch("us")
        wl_until = wl["expires_at"].dt.epoch("us")
        return cls(
            ref=AccountIndex.of(_i64(ref["account_id"].to_numpy())),
            person=_i64(ref["person_id"].fill_null(-1).to_numpy()),
            person_known=ref["person_id"].is_not_null().to_numpy(),
            birth_day=_i64(birth.fill_null(0).to_numpy()),
            birth_known=birth.is_not_null().to_numpy(),
            business=ref["business"].fill_null(False).to_numpy(),
            wl=AccountIndex.of(_i64(wl["account_id"].to_numpy())),
            # A null listing time never matches; a null expiry never expires.
            wl_from=_i64(wl_from.fill_null(_NEVER).to_numpy()),
            wl_until=_i64(wl_until.fill_null(_NEVER).to_numpy()),
            wl_source=wl["source"].to_list(),
            wl_confidence=wl["confidence"].fill_null(np.nan).to_numpy().astype(np.float64),
            wl_typology=wl["typology"].to_list(),
        )

    def listed(self, account: I64, ts: I64) -> tuple[Mask, I64]:
        """Whether each account is listed at its time, and its watchlist row (-1 when not on it)."""
        row = self.wl.get(account)
        on = row >= 0
        r = np.where(on, row, 0)
        if self.wl_from.size == 0:
            return np.zeros(account.size, bool), row
        now = on & (self.wl_from[r] <= ts) & (ts < self.wl_until[r])
        return now, row


_LOOKUP_CACHE: list[tuple[pl.DataFrame, pl.DataFrame, Lookups]] = []


def lookups_of(watchlist: pl.DataFrame, reference: pl.DataFrame) -> Lookups:
    """Compiled lookups, cached for the last frames seen (a stream screens many batches against the same)."""
    for wl, ref, compiled in _LOOKUP_CACHE:
        if wl is watchlist and ref is reference:
            return compiled
    compiled = Lookups.of(watchlist, reference)
    _LOOKUP_CACHE[:] = [(watchlist, reference, compiled)]
    return compiled


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


@dataclass
class TxColumns:
    """A batch of transactions as columns, in (ts, tx_id) order; `ts` in microseconds (UTC).

    The banks are Arrow arrays, read out only for flagged rows. `pattern` says which rows are of a
    channel the pattern rules run on (`RuleSet.pattern_channels`); None when every row is. The other
    rows are screened against the watchlist only.
    """

    tx_id: I64
    ts: I64
    payer: I64
    payee: I64
    amount: I64
    payer_bank: pa.Array | pa.ChunkedArray
    payee_bank: pa.Array | pa.ChunkedArray
    pattern: Mask | None = None
    _parts: tuple[TxColumns, TxColumns | None] | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Number of transfers."""
        return int(self.tx_id.size)

    def take(self, rows: Any) -> TxColumns:
        """A subset of rows, in the given order."""
        idx = pa.array(np.asarray(rows, dtype=np.int64)) if not isinstance(rows, slice) else None
        return TxColumns(
            self.tx_id[rows],
            self.ts[rows],
            self.payer[rows],
            self.payee[rows],
            self.amount[rows],
            self.payer_bank.take(idx) if idx is not None else self.payer_bank[rows],
            self.payee_bank.take(idx) if idx is not None else self.payee_bank[rows],
            None if self.pattern is None else self.pattern[rows],
        )

    def parts(self) -> tuple[TxColumns, TxColumns | None]:
        """(the rows the pattern rules run on, the rows screened against the watchlist only, or None
        when there are none), each in (ts, tx_id) order; worked out once per batch."""
        if self._parts is None:
            if self.pattern is None or bool(self.pattern.all()):
                self._parts = (self, None)
            else:
                on = self.take(np.flatnonzero(self.pattern))
                off = self.take(np.flatnonzero(~self.pattern))
                on.pattern = off.pattern = None
                self._parts = (on, off if off.size else None)
        return self._parts

    def in_order(self) -> TxColumns:
        """The same rows in (ts, tx_id) order (a no-op when they already are, as a day file is)."""
        if self.size < 2:
            return self
        dt = np.diff(self.ts)
        if bool(np.all((dt > 0) | ((dt == 0) & (np.diff(self.tx_id) > 0)))):
            return self
        return self.take(np.lexsort((self.tx_id, self.ts)))

    @classmethod
    def of_frame(cls, tx: pl.DataFrame, rules: RuleSet) -> TxColumns:
        """The transactions of a frame (TX_SCHEMA) that screening looks at: listed channels, a payee."""
        t = tx.filter(pl.col("channel").is_in(list(rules.channels)) & (pl.col("payee_account") >= 0))
        t = t.select(list(TX_SCHEMA)).cast(TX_SCHEMA)  # type: ignore[arg-type]
        pattern = t["channel"].is_in(list(rules.pattern_channels)).to_numpy()
        return cls(
            _i64(t["tx_id"].to_numpy()),
            _i64(t["ts"].dt.epoch("us").to_numpy()),
            _i64(t["payer_account"].to_numpy()),
            _i64(t["payee_account"].to_numpy()),
            _i64(t["amount_fen"].to_numpy()),
            t["payer_bank"].to_arrow(),
            t["payee_bank"].to_arrow(),
            None if bool(pattern.all()) else pattern,
        ).in_order()


@dataclass
class _Pairs:
    """What the pair state says at each row of a batch, before the row: whether the pair is new, how
    many transfers it had, the previous amount (known when it had one), its first time, and the
    amount paid to the payee so far including the row."""

    new_pair: Mask
    n_before: I64
    prev_amount: I64
    prev_known: Mask
    first_ts: I64
    at_risk: I64

    def at(self, name: str, rows: I64) -> Any:
        """Field `name` for `rows`."""
        return getattr(self, name)[rows]


def _windowed(
    recent: Events, t: TxColumns, rows: I64, key: str, window_us: int, min_amount: int, cap: int
) -> I64:
    """Per query row (new-pair rows at or above `min_amount`): same-`key` new-pair rows in (ts - w, ts]."""
    if rows.size == 0:
        return np.zeros(0, np.int64)
    q_key = (t.payer if key == "payer" else t.payee)[rows]
    q_ts = t.ts[rows]
    start = int(np.searchsorted(recent.ts, int(q_ts.min()) - window_us, side="right"))
    r_key = getattr(recent, key)[start:]
    keep = (recent.amount[start:] >= min_amount) & member(r_key, q_key)
    ctx_key = np.concatenate([r_key[keep], q_key])
    ctx_ts = np.concatenate([recent.ts[start:][keep], q_ts])
    return count_in_window(ctx_key, ctx_ts, window_us, last=rows.size, cap=cap)


def screen_columns(
    t: TxColumns, state: ScreenState, rules: RuleSet, lk: Lookups | None
) -> tuple[pl.DataFrame, ScreenState]:
    """Screen transfers (in (ts, tx_id) order, following `state` in time); return flags and the new state.

    Without lookups only the state is advanced (the history before screening begins).
    """
    out, state = _screen(t, state, rules, lk, None)
    return out.flags, state


def _screen(
    t: TxColumns, state: ScreenState, rules: RuleSet, lk: Lookups | None, part: Partition | None
) -> tuple[PartitionOutput, ScreenState]:
    if t.size == 0:
        return PartitionOutput.none(), state
    t, others = t.parts()
    if part is not None and others is not None:
        # A copy of a QR or POS payment: not a transfer, so no input to the payee's counts.
        keep = part.owns(others.payer)
        others = None if not keep.any() else others if keep.all() else others.take(np.flatnonzero(keep))
    p = state.pairs.fold(t, young_us(rules))
    new_rows = np.flatnonzero(p.new_pair)
    out = (
        _evaluate(t, p, new_rows, state, rules, lk, t, part=part)
        if lk is not None and t.size
        else PartitionOutput.none()
    )
    if others is not None and lk is not None:
        # QR, POS and the like: the watchlist rules only, with the same suppressions (the payer's
        # inflows are the transfers of the state and of this batch). Such a pair is not in the pair
        # state, so the amount at risk is the payment's own.
        none = np.zeros(others.size, bool)
        p_other = _Pairs(none, np.zeros(others.size, np.int64), others.amount, none, others.ts, others.amount)
        more = _evaluate(
            others, p_other, np.zeros(0, np.int64), state, rules, lk, t, watchlist_only=True
        ).flags
        if more.height:
            flags = pl.concat([out.flags, more]).sort(["ts", "tx_id"]) if out.flags.height else more
            out = PartitionOutput(flags, out.held, out.notes)
    state = _advance(state, t, new_rows, rules)
    if out.held.height:
        state = replace(state, pending=pl.concat([state.pending, out.held]))
    return out, state


# ---------------------------------------------------------------------------------------------
# Partitions: the payee's counts from the payee's partition
# ---------------------------------------------------------------------------------------------


def partition_of(account: npt.NDArray[np.int64], partitions: int) -> I64:
    """The partition of each account: a stable hash (the splitmix64 finaliser) modulo `partitions`.

    The same on every machine and every run, unlike Python's salted `hash`; vectorised.
    """
    with np.errstate(over="ignore"):
        z = np.asarray(account, dtype=np.int64).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(partitions)).astype(np.int64)


@dataclass(frozen=True)
class Partition:
    """Partition `k` of `of`: it screens the transfers of its payers (`partition_of(payer)` is k) and
    also folds in copies of the transfers to its payees from other partitions' payers.

    With the copies its state is exact for each of its accounts on both sides: a payer's payees,
    bursts and the money it received (the pass-through suppression), and a payee's new payers. The one
    input it lacks is the new-payer count of a payee of another partition (the collecting-card rule):
    a transfer that needs it is held (`ScreenState.pending`) until that partition's note answers it.
    """

    k: int
    of: int

    def owns(self, accounts: I64) -> Mask:
        """Whether each account is of this partition."""
        return np.asarray(partition_of(accounts, self.of) == self.k, dtype=bool)


# A reason held for the payee's partition's answer: the rule id after this mark.
PENDING = "?"
NOTE_SCHEMA: dict[str, pl.DataType] = {
    "tx_id": pl.Int64(),
    "payer_account": pl.Int64(),
    "fits": pl.List(pl.String()),
}


@dataclass(frozen=True)
class PartitionOutput:
    """What a partition's batch gives: risk events settled now, risk events held for another
    partition's note (reasons still to settle marked `PENDING`), and the notes this partition owes
    others: for each copied transfer a collecting-card rule counts, the ids of the rules that fit it."""

    flags: pl.DataFrame
    held: pl.DataFrame
    notes: pl.DataFrame

    @classmethod
    def none(cls) -> PartitionOutput:
        """Nothing."""
        return cls(empty(FLAG_SCHEMA), empty(FLAG_SCHEMA), empty(NOTE_SCHEMA))


def screen_partition(
    tx: pl.DataFrame,
    state: ScreenState,
    rules: RuleSet,
    watchlist: pl.DataFrame,
    reference: pl.DataFrame,
    part: Partition,
) -> tuple[PartitionOutput, ScreenState]:
    """Screen one batch of partition `part` (its payers' transfers and the copies of transfers to its
    payees, TX_SCHEMA) that follows `state` in time.

    Each transfer's risk event is the one `screen_batch` gives over the whole stream: settled now, or
    once `settle` has the payee partition's note.
    """
    t = TxColumns.of_frame(tx, rules)
    return _screen(t, state, rules, lookups_of(watchlist, reference), part)


def settle(state: ScreenState, notes: pl.DataFrame, rules: RuleSet) -> tuple[pl.DataFrame, ScreenState]:
    """The held risk events that `notes` (NOTE_SCHEMA, from the payees' partitions) answer, settled;
    and the state without them. A note for no held event (one sent again after a restart) is ignored."""
    if state.pending.height == 0 or notes.height == 0:
        return empty(FLAG_SCHEMA), state
    # A note sent again (a partition restarted) may come in the same batch as the first: one a transfer.
    notes = notes.unique("tx_id", keep="first", maintain_order=True)
    answered = state.pending.join(notes.select("tx_id", "fits"), on="tx_id", how="inner")
    if answered.height == 0:
        return empty(FLAG_SCHEMA), state
    guess = {r.id: GUESS_BY_RULE[r.kind] for r in rules.rule if not isinstance(r, WatchlistRule)}
    reasons: list[list[str]] = []
    typology: list[str | None] = []
    for held, fits, typ in zip(
        answered["reasons"].to_list(),
        answered["fits"].to_list(),
        answered["typology_guess"].to_list(),
        strict=True,
    ):
        kept = [r.removeprefix(PENDING) for r in held if not r.startswith(PENDING) or r[1:] in fits]
        reasons.append(kept)
        # Reasons are in rule order, so the first rule's guess is the one `_evaluate` makes.
        typology.append(typ if typ is not None else next((guess[r] for r in kept if r in guess), None))
    flags = (
        answered.with_columns(
            pl.Series("reasons", reasons, dtype=pl.List(pl.String())),
            pl.Series("typology_guess", typology, dtype=pl.String()),
        )
        .filter(pl.col("reasons").list.len() > 0)
        .select(list(FLAG_SCHEMA))
        .sort(["ts", "tx_id"])
    )
    rest = state.pending.join(notes.select("tx_id"), on="tx_id", how="anti")
    return flags, replace(state, pending=rest)


def _evaluate(
    t: TxColumns,
    p: _Pairs,
    new_rows: I64,
    state: ScreenState,
    rules: RuleSet,
    lk: Lookups,
    inflow: TxColumns,
    *,
    watchlist_only: bool = False,
    part: Partition | None = None,
) -> PartitionOutput:
    m = t.size
    # In a partition, the rows screened are its payers'; the others are copies of transfers to its
    # payees, which only count (for the payee's rules) and get notes.
    mine = np.ones(m, bool) if part is None else part.owns(t.payer)
    remote = np.zeros(m, bool) if part is None else ~part.owns(t.payee)
    # Each rule is tested on the rows that can fit it (an amount floor, a watchlist hit, a new pair):
    # at district scale a column-wide expression per rule cost more than the rules' own work.
    listed_rows = np.flatnonzero(lk.wl.get(t.payee) >= 0)
    listed_rows = listed_rows[mine[listed_rows]]
    listed_at, wl_row_at = lk.listed(t.payee[listed_rows], t.ts[listed_rows])
    listed_rows = listed_rows[listed_at]
    wl_row = np.full(m, -1, np.int64)
    wl_row[listed_rows] = wl_row_at[listed_at]

    def mask(rows: I64) -> Mask:
        out = np.zeros(m, bool)
        out[rows] = True
        return out

    def at_least(rows: I64, amount: int) -> I64:
        return rows[t.amount[rows] >= amount]

    none = np.zeros(m, bool)
    # (watchlist rule, rule id, fits, held for the payee's partition)
    conds: list[tuple[WatchlistRule | None, str, Mask, Mask]] = []
    guesses: list[tuple[Mask, str]] = []
    note_fits: dict[int, list[str]] = {}  # copied row → the collecting-card rules that fit it
    for r in rules.rule:
        held = none
        if isinstance(r, WatchlistRule):
            rows = at_least(listed_rows, r.params.min_amount_fen)
            conf = lk.wl_confidence[wl_row[rows]] if lk.wl_confidence.size else np.zeros(rows.size)
            conds.append((r, r.id, mask(rows[conf >= r.params.min_confidence]), none))
            continue
        if watchlist_only:
            continue
        if isinstance(r, FirstLargeRule):
            rows = at_least(new_rows, r.params.min_amount_fen)
        elif isinstance(r, EscalatingRule):
            rows = np.flatnonzero(t.amount >= r.params.min_amount_fen)
            amount = t.amount[rows]
            rows = rows[
                (p.at("n_before", rows) >= r.params.min_count - 1)
                & (t.ts[rows] - p.at("first_ts", rows) <= r.params.new_payee_days * DAY_US)
                & p.at("prev_known", rows)
                & (amount >= p.at("prev_amount", rows) * r.params.growth)
            ]
        elif isinstance(r, BurstRule | MulePayeeRule):
            burst = isinstance(r, BurstRule)
            window = (
                r.params.window_minutes * 60 * US
                if isinstance(r, BurstRule)
                else r.params.window_days * DAY_US
            )
            # Counted only up to what the rule compares the count with.
            cap = r.params.min_count if isinstance(r, BurstRule) else r.params.max_payers + 1
            counted = at_least(new_rows, r.params.min_amount_fen)
            n = _windowed(
                state.recent, t, counted, "payer" if burst else "payee", window, r.params.min_amount_fen, cap
            )
            if isinstance(r, BurstRule):
                rows = counted[n >= r.params.min_count]
            else:
                # Billers and employers are paid by hundreds of new payers; a collecting card by a handful.
                fit = (n >= r.params.min_payers) & (n <= r.params.max_payers)
                rows = counted[fit & ~remote[counted]]
                held = mask(counted[mine[counted] & remote[counted]])
                for i, fits in zip(
                    counted[~mine[counted]].tolist(), fit[~mine[counted]].tolist(), strict=True
                ):
                    note_fits.setdefault(i, []).extend([r.id] if fits else [])
        elif isinstance(r, ElderlyNightRule):
            rows = np.flatnonzero(t.amount >= r.params.min_amount_fen)
            local_hour = np.floor_divide(t.ts[rows] + BEIJING_OFFSET_US, 3600 * US) % 24
            if r.params.start_hour > r.params.end_hour:
                night = (local_hour >= r.params.start_hour) | (local_hour < r.params.end_hour)
            else:
                night = (local_hour >= r.params.start_hour) & (local_hour < r.params.end_hour)
            rows = rows[night]
            birth_known, age = _age(lk, t, rows)
            rows = rows[birth_known & (age >= r.params.min_age)]
        else:  # pragma: no cover - the rule set's union admits no other kind
            raise ValueError(r.kind)
        cond = mask(rows[mine[rows]])
        conds.append((None, r.id, cond, held))
        guesses.append((cond, GUESS_BY_RULE[r.kind]))
    notes = _notes(t, note_fits)

    any_fit = np.zeros(m, bool)
    for _, _, cond, held in conds:
        any_fit |= cond | held
    cand = np.flatnonzero(any_fit)
    if cand.size and rules.suppress.business_payers and lk.business.size:
        ref_row = lk.ref.get(t.payer[cand])
        cand = cand[~((ref_row >= 0) & lk.business[np.where(ref_row >= 0, ref_row, 0)])]
    if cand.size:
        # Only now the costlier suppressions, on the few rows some rule fits.
        payer_listed, _ = lk.listed(t.payer[cand], t.ts[cand])
        cand = cand[~payer_listed]
    if cand.size:
        sup = rules.suppress
        window = sup.pass_through_hours * 3600 * US
        q_payer = t.payer[cand]
        ev_recent = state.inflows
        keep_old = member(ev_recent.payee, q_payer)
        keep_new = member(inflow.payee, q_payer)
        received = sum_before(
            np.concatenate([ev_recent.payee[keep_old], inflow.payee[keep_new]]),
            np.concatenate([ev_recent.ts[keep_old], inflow.ts[keep_new]]),
            np.concatenate([ev_recent.amount[keep_old], inflow.amount[keep_new]]),
            q_payer,
            t.ts[cand],
            window,
        )
        cand = cand[~(received >= t.amount[cand] * sup.pass_through_share)]
    if cand.size == 0:
        return PartitionOutput(empty(FLAG_SCHEMA), empty(FLAG_SCHEMA), notes)

    min_age = min((r.params.min_age for r in rules.rule if isinstance(r, ElderlyNightRule)), default=60)
    reasons: list[list[str]] = [[] for _ in range(cand.size)]
    waits = np.zeros(cand.size, bool)
    sources = lk.wl_source
    for wl_rule, rid, cond, held in conds:
        for j in np.flatnonzero(held[cand]).tolist():
            reasons[j].append(PENDING + rid)
            waits[j] = True
        fits = np.flatnonzero(cond[cand])
        for j in fits.tolist():
            if wl_rule is None:
                reasons[j].append(rid)
            else:
                src = sources[int(wl_row[cand[j]])]
                if src is not None:
                    reasons[j].append(f"{rid}:{src}")
    typology: list[str | None] = [None] * cand.size
    listed_c = wl_row[cand] >= 0
    for j in range(cand.size):
        if listed_c[j]:
            typology[j] = lk.wl_typology[int(wl_row[cand[j]])]
        if typology[j] is None and not waits[j]:  # a held event's guess waits for its reasons (`settle`)
            for cond, name in guesses:
                if cond[cand[j]]:
                    typology[j] = name
                    break
    keep = np.array([bool(r) for r in reasons], dtype=bool)
    cand, waits = cand[keep], waits[keep]
    reasons = [r for r, k in zip(reasons, keep.tolist(), strict=True) if k]
    typology = [g for g, k in zip(typology, keep.tolist(), strict=True) if k]
    if cand.size == 0:
        return PartitionOutput(empty(FLAG_SCHEMA), empty(FLAG_SCHEMA), notes)
    idx = pa.array(cand)
    ref_row = lk.ref.get(t.payer[cand])
    known = ref_row >= 0
    birth_known, age = _age(lk, t, cand)
    flags = pl.DataFrame(
        {
            "tx_id": t.tx_id[cand],
            "ts": pl.Series(t.ts[cand]).cast(TS),
            "payer_account": t.payer[cand],
            "payee_account": t.payee[cand],
            "payer_bank": pl.Series(t.payer_bank.take(idx).to_pylist(), dtype=pl.String()),
            "payee_bank": pl.Series(t.payee_bank.take(idx).to_pylist(), dtype=pl.String()),
            "amount_fen": t.amount[cand],
            "person_id": _persons(lk, known, np.where(known, ref_row, 0)),
            "elderly": birth_known & (age >= min_age),
            "reasons": _string_lists(reasons),
            "typology_guess": pl.Series(typology, dtype=pl.String()),
            "amount_at_risk_fen": p.at("at_risk", cand),
        },
        schema=FLAG_SCHEMA,
    )
    if not waits.any():
        return PartitionOutput(flags, empty(FLAG_SCHEMA), notes)
    held_rows = pl.Series(waits)
    return PartitionOutput(flags.filter(~held_rows), flags.filter(held_rows), notes)


def _notes(t: TxColumns, fits: dict[int, list[str]]) -> pl.DataFrame:
    """The notes owed for copied rows (row → the collecting-card rules that fit it)."""
    if not fits:
        return empty(NOTE_SCHEMA)
    rows = np.array(sorted(fits), np.int64)
    return pl.DataFrame(
        {
            "tx_id": t.tx_id[rows],
            "payer_account": t.payer[rows],
            "fits": pl.Series([fits[i] for i in rows.tolist()], dtype=pl.List(pl.String())),
        },
        schema=NOTE_SCHEMA,
    )


def _age(lk: Lookups, t: TxColumns, rows: I64) -> tuple[Mask, npt.NDArray[np.float64]]:
    """Whether each row's payer has a known birth date, and the payer's age then.

    Age in whole years of 365.2425 days, as of the transfer's UTC date.
    """
    ref_row = lk.ref.get(t.payer[rows])
    known = ref_row >= 0
    rr = np.where(known, ref_row, 0)
    if lk.birth_known.size == 0:
        return np.zeros(rows.size, bool), np.zeros(rows.size)
    birth = lk.birth_day[rr]
    age = np.floor_divide((np.floor_divide(t.ts[rows], DAY_US) - birth).astype(np.float64), 365.2425)
    return known & lk.birth_known[rr], age


def _string_lists(lists: list[list[str]]) -> pl.Series:
    """A List(String) series built through Arrow offsets (far cheaper than from Python lists)."""
    offsets = np.zeros(len(lists) + 1, np.int32)
    np.cumsum([len(x) for x in lists], out=offsets[1:])
    values = pa.array([v for x in lists for v in x], type=pa.large_string())
    arr = pa.LargeListArray.from_arrays(pa.array(offsets.astype(np.int64)), values)
    return pl.Series(pl.from_arrow(arr)).cast(pl.List(pl.String()))


def _persons(lk: Lookups, known: Mask, rows: I64) -> pl.Series:
    """The payers' person ids, null where the account holder is not known."""
    if lk.person.size == 0:
        return pl.Series([None] * rows.size, dtype=pl.Int64())
    person = pl.Series(lk.person[rows], dtype=pl.Int64())
    return person.set(pl.Series(~(known & lk.person_known[rows])), None)


def _advance(state: ScreenState, t: TxColumns, new_rows: I64, rules: RuleSet) -> ScreenState:
    if t.size == 0:  # a batch of watchlist-only rows: nothing for the pattern state
        return state
    high = int(t.ts.max())
    if state.high_water is not None:
        high = max(high, _us(state.high_water))
    windows = _windows(rules)
    if windows:
        fresh = new_rows[t.amount[new_rows] >= min(amount for _, amount in windows)]
        new = Events(t.payer[fresh], t.payee[fresh], t.ts[fresh], t.tx_id[fresh], t.amount[fresh])
        # A row stays while some windowed rule may still count it: inside that rule's window (later
        # rows' windows start after high - window) and at its amount floor. At district scale a week
        # of 100-yuan first transfers, kept for a 30-minute rule, was six times what the rules read.
        # Each part is cut before the two are joined: one copy of what stays.
        parts = []
        for part in (state.recent, new):
            keep = np.zeros(part.ts.size, bool)
            for window, amount in windows:
                keep |= (part.ts > high - window) & (part.amount >= amount)
            parts.append(part if keep.all() else part.take(keep))
        recent = Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in _EVENT_FIELDS))
    else:
        recent = Events()
    inflow = Events(t.payer, t.payee, t.ts, t.tx_id, t.amount)
    inflows = state.inflows.appended(
        inflow, high - rules.suppress.pass_through_hours * 3600 * US, inclusive=True
    )
    return ScreenState(state.pairs, recent, inflows, _dt(high), state.pending)


def screen_batch(
    tx: pl.DataFrame,
    state: ScreenState,
    rules: RuleSet,
    watchlist: pl.DataFrame,
    reference: pl.DataFrame,
) -> tuple[pl.DataFrame, ScreenState]:
    """Screen one batch (TX_SCHEMA) that follows `state` in time; return the flags (FLAG_SCHEMA) and the new state.

    Flags carry their reasons as rule ids (the watchlist hit with its source). A payer who is on the
    watchlist is not flagged as a victim: money leaving a listed account is layering, not a victim's loss.
    """
    return screen_columns(TxColumns.of_frame(tx, rules), state, rules, lookups_of(watchlist, reference))
