"""Compiled loops of the screening engine (numba): the pair state's hash tables, probed once a row.

The pair state is two open-addressing hash tables (linear probing) over pair keys, a row of int64s a
slot, its first column the key plus one (0 marks an empty slot):

- `pairs`: every pair seen, with the total paid (`PAIR_COLUMNS`: key, total);
- `young`: the pairs first paid recently enough for an escalation rule to look at, with their first
  time, count and last amount (`YOUNG_COLUMNS`). It may hold older pairs too, until it is rebuilt.

`fold_rows` walks a batch in time order and, for each row, finds or inserts its pair in both, reads
what the rules need and updates the pair, in one pass.

Why compiled: at district scale (14.7 million pairs, 21.6 million transfers) every probe misses the
CPU's cache. A loop can prefetch the slots of the row 16 ahead, so a dozen misses are in flight at
once; NumPy's passes (sorts, merges and binary searches of sorted runs, which this replaced) cannot,
and took about 60% of the screening thread's time. Why two tables: fresh memory is dear on the
benchmark machine (about 2.5 s a GiB on first touch, measured); keeping first time, count and last
amount for the young pairs only makes the big table 16 bytes a slot instead of 40.

Compiled on first use and cached on disk (`cache=True`, under `__pycache__`, or `NUMBA_CACHE_DIR`):
a later process loads the machine code instead of compiling it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils as _cgutils
from numba.extending import intrinsic

I64 = npt.NDArray[np.int64]
cgutils: Any = _cgutils  # untyped

# Columns of a slot. `pairs`: key + 1 (0: empty), total amount. `young`: key + 1, first time (µs),
# transfers so far, last amount.
PAIR_COLUMNS = 2
YOUNG_COLUMNS = 4
KEY, TOTAL = 0, 1
FIRST_TS, COUNT, LAST_AMOUNT = 1, 2, 3
# What a row of a pair no longer in `young` reads: a count and first time no rule can use.
UNKNOWN_COUNT = -1
FAR_PAST = -(1 << 62)
# Fibonacci hashing: the product's top bits spread neighbouring payer/payee ids over the table.
_HASH_MUL = 0x9E3779B97F4A7C15
# Rows ahead whose slots are prefetched: 8 and 32 were slower than 16 at district scale (0.9 s a pass
# against 1.0 s and 1.4 s, interleaved).
_AHEAD = 16


@intrinsic
def _prefetch_intrinsic(typingctx: Any, table: Any, slot: Any) -> Any:
    """Ask the CPU to load `table[slot, 0]`'s cache line for writing (llvm.prefetch)."""
    sig = types.void(table, slot)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ty = signature.args[0]
        arr = context.make_array(ty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, ty, arr, [args[1], context.get_constant(types.intp, 0)]
        )
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0"
        )
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(1), i32(3), i32(1)])  # write, keep, data
        return context.get_dummy_value()

    return sig, codegen


# Called from compiled code only, where numba resolves it to the intrinsic.
_prefetch: Any = _prefetch_intrinsic


def _slot_of(key: int, shift: int) -> int:
    return int(np.int64((np.uint64(key) * np.uint64(_HASH_MUL)) >> np.uint64(shift)))


def _fold_rows(
    pairs: I64,
    young: I64,
    payer: I64,
    payee: I64,
    ts: I64,
    amount: I64,
    n_before: I64,
    prev_amount: I64,
    first_ts: I64,
    total: I64,
) -> int:
    """Fold rows (in time order) into the tables; per row write the pair's count, last amount and
    first time before the row (UNKNOWN_COUNT, 0 and FAR_PAST for a pair known but no longer young),
    and the total paid including the row. Returns how many pairs were new."""
    p_shift, p_mask = shift_of(pairs), pairs.shape[0] - 1
    y_shift, y_mask = shift_of(young), young.shape[0] - 1
    m = payer.size
    added = 0
    for i in range(min(_AHEAD, m)):
        key = ((payer[i] << 32) | payee[i]) + 1
        _prefetch(pairs, slot_of(key, p_shift))
        _prefetch(young, slot_of(key, y_shift))
    for i in range(m):
        if i + _AHEAD < m:
            ahead = ((payer[i + _AHEAD] << 32) | payee[i + _AHEAD]) + 1
            _prefetch(pairs, slot_of(ahead, p_shift))
            _prefetch(young, slot_of(ahead, y_shift))
        key = ((payer[i] << 32) | payee[i]) + 1
        s = slot_of(key, p_shift)
        new = False
        while True:
            k = pairs[s, KEY]
            if k == key:
                break
            if k == 0:
                pairs[s, KEY] = key
                new = True
                added += 1
                break
            s = (s + 1) & p_mask
        sofar = pairs[s, TOTAL] + amount[i]
        pairs[s, TOTAL] = sofar
        total[i] = sofar
        y = slot_of(key, y_shift)
        while True:
            k = young[y, KEY]
            if k == key or k == 0:
                break
            y = (y + 1) & y_mask
        if k == key:
            n = young[y, COUNT]
            n_before[i] = n
            prev_amount[i] = young[y, LAST_AMOUNT]
            first_ts[i] = young[y, FIRST_TS]
            young[y, COUNT] = n + 1
            young[y, LAST_AMOUNT] = amount[i]
        elif new:
            young[y, KEY] = key
            young[y, FIRST_TS] = ts[i]
            young[y, COUNT] = 1
            young[y, LAST_AMOUNT] = amount[i]
            n_before[i] = 0
            prev_amount[i] = 0
            first_ts[i] = ts[i]
        else:
            n_before[i] = UNKNOWN_COUNT
            prev_amount[i] = 0
            first_ts[i] = FAR_PAST
    return added


def _shift_of(table: I64) -> int:
    """The hash's right shift for a table of 2^k slots: 64 - k."""
    n = table.shape[0]
    k = 0
    while (1 << k) < n:
        k += 1
    return 64 - k


def _take_rows(table: I64, since: int, out: I64) -> int:
    """Copy the pairs of `table` to the first rows of `out`, in a young table only those first paid
    at or after `since`; returns how many."""
    young = table.shape[1] == YOUNG_COLUMNS
    n = 0
    for j in range(table.shape[0]):
        if table[j, KEY] != 0 and (not young or table[j, FIRST_TS] >= since):
            for c in range(table.shape[1]):
                out[n, c] = table[j, c]
            n += 1
    return n


def _insert_rows(table: I64, rows: I64) -> int:
    """Insert rows (one per pair, columns as a slot's, keys not yet in `table`)."""
    shift, mask = shift_of(table), table.shape[0] - 1
    for j in range(rows.shape[0]):
        s = slot_of(rows[j, KEY], shift)
        while table[s, KEY] != 0:
            s = (s + 1) & mask
        for c in range(rows.shape[1]):
            table[s, c] = rows[j, c]
    return int(rows.shape[0])


def _purge_young(table: I64, since: int) -> int:
    """Drop the pairs of a young table first paid before `since`, in place; returns how many stay.

    One sweep along the table, a cluster (run of used slots between empty ones) at a time: its pairs
    that stay are set aside in slot order, the cluster cleared, and they are put back from their
    home slots. Put back in slot order, each lands at or before its old slot, inside the cluster:
    the probes stay in memory the sweep has just read, where taking the live pairs out and inserting
    them into the cleared table probed it at random (about 0.6 s of a district run)."""
    cap = table.shape[0]
    mask = cap - 1
    shift = shift_of(table)
    columns = table.shape[1]
    empty = 0
    while table[empty, KEY] != 0:  # a table at most half full has an empty slot
        empty += 1
    buf = np.empty((64, columns), np.int64)
    kept = 0
    start = -1  # first slot of the cluster being read, -1 between clusters
    for j in range(1, cap + 1):
        idx = (empty + j) & mask
        if table[idx, KEY] != 0:
            if start < 0:
                start = j
            continue
        if start < 0:
            continue
        # The cluster is slots empty + start .. empty + j - 1 (cyclic).
        n = 0
        for q in range(start, j):
            s = (empty + q) & mask
            if table[s, FIRST_TS] >= since:
                if n == buf.shape[0]:
                    bigger = np.empty((2 * n, columns), np.int64)
                    bigger[:n] = buf
                    buf = bigger
                for c in range(columns):
                    buf[n, c] = table[s, c]
                n += 1
            for c in range(columns):
                table[s, c] = 0
        for r in range(n):
            s = slot_of(buf[r, KEY], shift)
            while table[s, KEY] != 0:
                s = (s + 1) & mask
            for c in range(columns):
                table[s, c] = buf[r, c]
        kept += n
        start = -1
    return kept


def _window_counts(key: I64, ts: I64, window: int, cap: int, out: I64) -> None:
    """Rows in (key, time) order: for each, how many rows share its key with a time in
    (ts - window, ts], at most `cap`. One pass with two pointers."""
    n = key.size
    lo = hi = 0
    for i in range(n):
        if i == 0 or key[i] != key[i - 1]:
            lo = i
        if hi < i:
            hi = i
        while hi + 1 < n and key[hi + 1] == key[i] and ts[hi + 1] <= ts[i]:
            hi += 1
        while lo <= hi and ts[lo] <= ts[i] - window:
            lo += 1
        c = hi - lo + 1
        out[i] = c if c < cap else cap


_jit = njit(cache=True, nogil=True)
slot_of = _jit(_slot_of)
shift_of = _jit(_shift_of)
fold_rows: Callable[[I64, I64, I64, I64, I64, I64, I64, I64, I64, I64], int] = _jit(_fold_rows)
insert_rows: Callable[[I64, I64], int] = _jit(_insert_rows)
take_rows: Callable[[I64, int, I64], int] = _jit(_take_rows)
purge_young: Callable[[I64, int], int] = _jit(_purge_young)
window_counts: Callable[[I64, I64, int, int, I64], None] = _jit(_window_counts)


def warm_up() -> None:
    """Load (or compile) every kernel for the arrays the engine passes, on empty inputs: the stream
    consumer does it before its first micro-batch."""
    z = np.zeros(0, np.int64)
    table = np.zeros((16, PAIR_COLUMNS), np.int64)
    young = np.zeros((16, YOUNG_COLUMNS), np.int64)
    fold_rows(table, young, z, z, z, z, z, z, z, z)
    for t in (table, young):
        take_rows(t, FAR_PAST, np.zeros((0, t.shape[1]), np.int64))
        insert_rows(t, np.zeros((0, t.shape[1]), np.int64))
    purge_young(young, FAR_PAST)
    one = np.zeros(1, np.int64)
    window_counts(one, one, 1, 1, np.zeros(1, np.int64))


def jit_stats() -> dict[str, int]:
    """How many of the kernels' compiled versions this process loaded from the disk cache, and how
    many it compiled itself (their compile time then counts in whatever ran them first)."""
    kernels: tuple[Any, ...] = (
        slot_of,
        shift_of,
        fold_rows,
        insert_rows,
        take_rows,
        window_counts,
    )
    return {
        "cache_hits": sum(sum(k.stats.cache_hits.values()) for k in kernels),
        "compiled": sum(sum(k.stats.cache_misses.values()) for k in kernels),
    }
