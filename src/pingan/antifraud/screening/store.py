"""Reading a transaction store (the Parquet layout of `pingan.sim`) for screening, and the batch engine.

`DIR/transactions/day=YYYY-MM-DD/part-*.parquet`, `DIR/accounts.parquet`, `DIR/persons.parquet`.
Only the columns screening needs are read; truth columns (`kind`, `is_fraud`, `campaign_id`) never are.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pingan.antifraud.screening import kernels
from pingan.antifraud.screening.engine import (
    DAY_US,
    FLAG_SCHEMA,
    REFERENCE_SCHEMA,
    TX_SCHEMA,
    Lookups,
    ScreenState,
    TxColumns,
    empty,
    fold_pairs,
    screen_folded,
    young_us,
)
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.core.errors import Invalid

TX_COLUMNS = list(TX_SCHEMA)


def day_files(directory: Path) -> list[tuple[date, list[Path]]]:
    """The day partitions of a store, oldest first, each with its part files."""
    days = []
    for d in sorted((directory / "transactions").glob("day=*")):
        days.append((date.fromisoformat(d.name[4:]), sorted(d.glob("part-*.parquet"))))
    return days


def read_reference(directory: Path) -> pl.DataFrame:
    """Account → holder person and birth date (REFERENCE_SCHEMA)."""
    accounts = pl.read_parquet(
        directory / "accounts.parquet", columns=["account_id", "holder_person_id", "role"]
    )
    persons = pl.read_parquet(directory / "persons.parquet", columns=["person_id", "birth_date"])
    # A bank knows its corporate accounts; the district marks them role=merchant. The other roles are
    # ground truth (mule tiers, victims) and are never read by screening.
    return (
        accounts.rename({"holder_person_id": "person_id"})
        .with_columns(business=pl.col("role") == "merchant")
        .join(persons, on="person_id", how="left")
        .select(list(REFERENCE_SCHEMA))
        .cast(REFERENCE_SCHEMA)  # type: ignore[arg-type]
    )


def _scan(files: list[Path]) -> pl.LazyFrame:
    return pl.scan_parquet(files).select(TX_COLUMNS).cast(TX_SCHEMA)  # type: ignore[arg-type]


def read_transactions(
    directory: Path, since: datetime | None = None, until: datetime | None = None
) -> pl.DataFrame:
    """All transactions in [since, until), sorted by time then id."""
    files = [f for d, fs in day_files(directory) if _day_may_hold(d, since, until) for f in fs]
    if not files:
        return empty(TX_SCHEMA)
    lf = _scan(files)
    if since is not None:
        lf = lf.filter(pl.col("ts") >= since)
    if until is not None:
        lf = lf.filter(pl.col("ts") < until)
    return lf.sort(["ts", "tx_id"]).collect()


def _day_may_hold(day: date, since: datetime | None, until: datetime | None) -> bool:
    # Partitions are named by the district's local day (UTC+8): allow a day either side.
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=1)
    end = start + timedelta(days=3)
    return (since is None or end > since) and (until is None or start < until)


@dataclass(frozen=True)
class RowCounts:
    """How a read of a range met the store's transactions.

    `in_range`: transactions of any kind in the range. `decoded`: rows of the row groups whose
    screening columns were decoded (all of such a group, including rows outside the range or of
    channels no rule lists: a group is decoded whole). `skipped_by_layout`: transactions in the range
    whose row group was never decoded because its channel statistics admit no listed channel.
    """

    in_range: int = 0
    decoded: int = 0
    skipped_by_layout: int = 0

    def __add__(self, other: RowCounts) -> RowCounts:
        return RowCounts(
            self.in_range + other.in_range,
            self.decoded + other.decoded,
            self.skipped_by_layout + other.skipped_by_layout,
        )


def read_transfers(
    files: list[Path], rules: RuleSet, since: datetime | None = None, until: datetime | None = None
) -> tuple[TxColumns, RowCounts]:
    """The transfers screening looks at (listed channels, a payee) in [since, until), as columns in time
    order, and how the read met the range's transactions (`RowCounts`).

    Only the row groups whose channel statistics admit a listed channel are decoded: a store of format
    2 (`pingan.sim.writer`) keeps each channel in row groups of its own, so a district day decodes the
    sixth of its rows that are account transfers (format 1, a day in time order, decodes every row
    and filters). The count of the range comes from the row groups' row counts and time statistics,
    reading times only for a group that straddles an end of the range.
    """
    lo = None if since is None else _us(since)
    hi = None if until is None else _us(until)
    wanted = set(rules.channels)
    parts: list[TxColumns] = []
    counted = decoded = skipped = 0
    for path in files:
        pf = pq.ParquetFile(path, read_dictionary=_DICTIONARY_COLUMNS)
        md = pf.metadata
        names = md.schema.names
        missing = set(_READ_COLUMNS) - set(names)
        if missing:
            raise Invalid(f"{path}: missing columns {sorted(missing)}", field="store")
        ch_col, ts_col = names.index("channel"), names.index("ts")
        groups = []
        pure = True  # every group read holds one listed channel only (format 2): no channel column needed
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            ts_range = _stats_range(rg.column(ts_col).statistics)
            inside = ts_range is not None and _within(ts_range, lo, hi)
            if inside or (lo is None and hi is None):
                in_group = rg.num_rows
            elif ts_range is None or _overlaps(ts_range, lo, hi):
                ts = _int64(pf.read_row_group(g, columns=["ts"], use_threads=False).column("ts"))
                in_group = int(np.count_nonzero(_in_range(ts, lo, hi)))
            else:
                continue
            counted += in_group
            stats = rg.column(ch_col).statistics
            if _admits(stats, wanted):
                groups.append(g)
                ch = _stats_range(stats)
                pure &= ch is not None and ch[0] == ch[1] and ch[0] in wanted
            else:
                skipped += in_group
        if groups:
            columns = [c for c in _READ_COLUMNS if c != "channel" or not pure]
            t = pf.read_row_groups(groups, columns=columns, use_threads=False)
            decoded += t.num_rows
            parts.append(_transfers(t, None if pure else wanted, lo, hi))
    counts = RowCounts(counted, decoded, skipped)
    if not parts:
        z = np.zeros(0, np.int64)
        bank = pa.array([], _BANK_TYPE)
        return TxColumns(z, z, z, z, z, bank, bank), counts
    return TxColumns.concat(parts), counts


_DICTIONARY_COLUMNS = ["channel", "payer_bank", "payee_bank"]
_BANK_TYPE = pa.dictionary(pa.int32(), pa.string())  # what read_dictionary reads
_READ_COLUMNS = [
    "tx_id",
    "ts",
    "payer_account",
    "payee_account",
    "amount_fen",
    "channel",
    "payer_bank",
    "payee_bank",
]


def _admits(channel_stats: pq.Statistics | None, wanted: set[str]) -> bool:
    """Whether a row group whose channel column has these statistics may hold a wanted channel."""
    ch = _stats_range(channel_stats)
    return ch is None or any(ch[0] <= c <= ch[1] for c in wanted)


def transfers_bound(directory: Path, rules: RuleSet, since: datetime | None, until: datetime | None) -> int:
    """At most how many transfers `iter_transfers` will yield, from the files' metadata alone: the
    rows of the row groups it will decode that may lie in the range."""
    return sum(_day_bounds(directory, rules, since, until))


def _day_bounds(directory: Path, rules: RuleSet, since: datetime | None, until: datetime | None) -> list[int]:
    """`transfers_bound` day partition by day partition, in order."""
    lo = None if since is None else _us(since)
    hi = None if until is None else _us(until)
    wanted = set(rules.channels)
    out = []
    for d, fs in day_files(directory):
        if not _day_may_hold(d, since, until):
            continue
        bound = 0
        for path in fs:
            md = pq.read_metadata(path)
            names = md.schema.names
            if "channel" not in names or "ts" not in names:
                continue  # read_transfers names what is missing
            ch_col, ts_col = names.index("channel"), names.index("ts")
            for g in range(md.num_row_groups):
                rg = md.row_group(g)
                ts_range = _stats_range(rg.column(ts_col).statistics)
                if (ts_range is None or _overlaps(ts_range, lo, hi)) and _admits(
                    rg.column(ch_col).statistics, wanted
                ):
                    bound += rg.num_rows
        out.append(bound)
    return out


# The most pairs a batch run sizes its pair table for up front (2^25 slots, 512 MiB), and its young
# pairs' table (2^24 slots of 32 bytes); past that the tables grow as they fill.
_RESERVE_PAIRS = 1 << 24
_RESERVE_YOUNG = 1 << 22


def _prepare(
    state: ScreenState, directory: Path, rules: RuleSet, since: datetime | None, until: datetime | None
) -> None:
    """Ready the fold thread while the first days are read: the kernels loaded, the tables sized.

    The pair table for every transfer of the run (a bound on its new pairs); the young pairs' table
    for the transfers of the busiest stretch of days as long as the young window and a day's batch
    (an estimate of the pairs young at once: a rebuild keeps those first paid within the window),
    where it would otherwise grow into a new table three or four times. Sizes only: a table that
    needs more grows as before.
    """
    kernels.warm_up()
    days = _day_bounds(directory, rules, since, until)
    span = young_us(rules) // DAY_US + 1
    busiest = max((sum(days[i : i + span]) for i in range(max(len(days) - span + 1, 1))), default=0)
    state.pairs.reserve(min(state.pairs.size + sum(days), _RESERVE_PAIRS), young=min(busiest, _RESERVE_YOUNG))


def _stats_range(st: pq.Statistics | None) -> tuple[Any, Any] | None:
    if st is None or not st.has_min_max:
        return None
    return st.min, st.max


def _to_us(v: Any) -> int:
    return _us(v) if isinstance(v, datetime) else int(v)


def _within(r: tuple[Any, Any], lo: int | None, hi: int | None) -> bool:
    first, last = _to_us(r[0]), _to_us(r[1])
    return (lo is None or first >= lo) and (hi is None or last < hi)


def _overlaps(r: tuple[Any, Any], lo: int | None, hi: int | None) -> bool:
    first, last = _to_us(r[0]), _to_us(r[1])
    return (lo is None or last >= lo) and (hi is None or first < hi)


def _in_range(ts: npt.NDArray[np.int64], lo: int | None, hi: int | None) -> npt.NDArray[np.bool_]:
    keep = np.ones(ts.size, bool)
    if lo is not None:
        keep &= ts >= lo
    if hi is not None:
        keep &= ts < hi
    return keep


def _int64(col: pa.ChunkedArray, fill: int = 0) -> npt.NDArray[np.int64]:
    """A column as int64 (times in microseconds); nulls as `fill`."""
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    if col.null_count:
        col = pc.fill_null(col, fill)
    return np.ascontiguousarray(col.to_numpy(), dtype=np.int64)


def _transfers(t: pa.Table, channels: set[str] | None, lo: int | None, hi: int | None) -> TxColumns:
    """The rows of `t` (row groups of a day file) that screening looks at; `channels` None when
    every row's channel is listed (known from the groups' statistics)."""
    payee = _int64(t.column("payee_account"), -1)
    ts = _int64(t.column("ts"))
    keep = (payee >= 0) & _in_range(ts, lo, hi)
    if channels is not None:
        ok = []
        for chunk in t.column("channel").chunks:
            d = chunk.dictionary.to_pylist()
            listed = np.array([v in channels for v in d] + [False], bool)
            idx = chunk.indices.fill_null(len(d)).to_numpy(zero_copy_only=False)
            ok.append(listed[idx])
        keep &= np.concatenate(ok) if ok else np.zeros(0, bool)
    # Each row group is a run in time order (a channel's rows in format 2, a slice of the day in 1).
    starts = np.cumsum([0] + [len(c) for c in t.column("tx_id").chunks])
    every = bool(keep.all())
    if not every:
        starts = np.cumsum(np.concatenate([[0], keep]))[starts]
    cols = TxColumns(
        _int64(t.column("tx_id")),
        ts,
        _int64(t.column("payer_account")),
        payee,
        _int64(t.column("amount_fen")),
        t.column("payer_bank"),
        t.column("payee_bank"),
    )
    if not every:
        cols = cols.take(np.flatnonzero(keep))
    return cols.merged(np.unique(starts).astype(np.int64))


def _us(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def iter_transfers(
    directory: Path,
    rules: RuleSet,
    since: datetime | None,
    until: datetime | None,
    *,
    batch_rows: int = 1,
) -> Iterator[tuple[TxColumns, RowCounts]]:
    """The store's transfers in [since, until), in time order, in batches of whole day partitions of
    up to `batch_rows` transfers (or one day where a day holds more), with each batch's `RowCounts`.

    Days are read two at a time in threads (Parquet decoding releases the GIL) while the caller
    screens, which keeps both cores busy.
    """
    days = [fs for d, fs in day_files(directory) if fs and _day_may_hold(d, since, until)]
    if not days:
        return
    parts: list[TxColumns] = []
    held = 0
    counted = RowCounts()
    with ThreadPoolExecutor(2) as pool:
        ahead = deque(pool.submit(read_transfers, fs, rules, since, until) for fs in days[:2])
        later = iter(days[2:])
        while ahead:
            t, n = ahead.popleft().result()
            if (files := next(later, None)) is not None:
                ahead.append(pool.submit(read_transfers, files, rules, since, until))
            if parts and held + t.size > batch_rows:
                yield TxColumns.concat(parts), counted
                parts, held, counted = [], 0, RowCounts()
            parts.append(t)
            held += t.size
            counted += n
        yield TxColumns.concat(parts), counted


# Batches of whole days up to 2^18 transfers (a district day, ~240,000): a batch's columns and
# working arrays then stay in the CPU's cache. Screening a district's three months as one batch was
# slower, not faster: every gather and scatter over 21 million rows missed the cache.
BATCH_ROWS = 1 << 18


def history_state(
    directory: Path, since: datetime | None, rules: RuleSet, *, until: datetime | None = None
) -> ScreenState:
    """The state screening would have after every transaction before `since`: pairs seen and the
    recent tail. With `until`, the pair table is sized for the run from `since` to `until` too."""
    state = ScreenState()
    if since is None:
        return state
    return _screen_range(directory, rules, None, since, state, None, sized_until=until)[0]


def _screen_range(
    directory: Path,
    rules: RuleSet,
    since: datetime | None,
    until: datetime | None,
    state: ScreenState,
    lk: Lookups | None,
    *,
    sized_until: datetime | None = None,
) -> tuple[ScreenState, list[pl.DataFrame], int, RowCounts]:
    """Screen the store's transfers in [since, until) from `state` (without lookups: only advance
    the state); returns the state, the flags, how many transfers were screened and the `RowCounts`.

    Two stages: a thread folds each batch into the pair state (compiled, without the GIL) a batch
    ahead of this one, which runs the rules on what the fold said; the readers are a day ahead of
    both. The pair table is sized first for the transfers up to `sized_until` (else `until`).
    """
    out: list[pl.DataFrame] = []
    transfers = 0
    rows = RowCounts()
    # Day partitions are local days, so a partition can hold minutes of the next UTC day; screening in
    # time order needs the partitions in order, which their names give.
    with ThreadPoolExecutor(1) as folder:
        prepared = folder.submit(_prepare, state, directory, rules, since, sized_until or until)
        folding: deque[tuple[TxColumns, Future[Any]]] = deque()
        batches = iter_transfers(directory, rules, since, until, batch_rows=BATCH_ROWS)
        while True:
            nxt = next(batches, None)
            if nxt is not None:
                t, n = nxt
                transfers += t.size
                rows += n
                folding.append((t, folder.submit(fold_pairs, t, state, rules)))
            if not folding:
                break
            if nxt is not None and len(folding) < 2:
                continue
            t, folded = folding.popleft()
            flags, state = screen_folded(t, folded.result(), state, rules, lk)
            if flags.height:
                out.append(flags)
        prepared.result()
    return state, out, transfers, rows


@dataclass
class BatchRun:
    """What a batch screening run found and how long it took.

    `rows`: transactions of any kind in the range screened; `transfers`: those the rules look at;
    `rows_decoded`: rows the run decoded for screening the range (whole row groups, counted where they
    are read); `rows_skipped_by_layout`: transactions in the range whose row groups were never
    decoded, their channel statistics admitting no listed channel (`RowCounts`).
    """

    flags: pl.DataFrame
    rows: int = 0
    seconds: float = 0.0
    per_day: list[tuple[date, int]] = field(default_factory=list)
    transfers: int = 0
    rows_decoded: int = 0
    rows_skipped_by_layout: int = 0


def iter_batches(directory: Path, since: datetime | None, until: datetime | None) -> Iterator[pl.DataFrame]:
    """The store's transactions in [since, until), one day partition at a time, in time order."""
    for day, files in day_files(directory):
        if not files or not _day_may_hold(day, since, until):
            continue
        lf = _scan(files)
        if since is not None:
            lf = lf.filter(pl.col("ts") >= since)
        if until is not None:
            lf = lf.filter(pl.col("ts") < until)
        yield lf.collect()


def screen_store(
    directory: Path,
    *,
    rules: RuleSet,
    watchlist: pl.DataFrame,
    since: datetime | None = None,
    until: datetime | None = None,
    reference: pl.DataFrame | None = None,
    state_dir: Path | None = None,
) -> BatchRun:
    """The batch engine: screen every transaction of the store in [since, until), day by day.

    `rows` counts every transaction in the range (all channels), `transfers` those the rules look at,
    `rows_decoded` and `rows_skipped_by_layout` what the read of the range decoded and skipped.
    With `state_dir`, the state a previous run left there stands for the history it screened: the run
    goes on from there (from where that run stopped when `since` is not given: its `until`, or just
    after the latest transfer it screened) and leaves its own state for the next one. That is a bank's
    daily run, which reads one day, not the months before it.
    """
    started = time.perf_counter()
    ref = reference if reference is not None else read_reference(directory)
    lk = Lookups.of(watchlist, ref)
    saved = load_state(state_dir, rules) if state_dir is not None else None
    if saved is not None:
        state, after = saved
        if since is None:
            since = after
        elif since < after:
            raise Invalid(
                f"the saved screening state covers transactions up to {after.isoformat()} (exclusive):"
                " screen from there, or without the saved state",
                field="since",
            )
        if since > after:  # the history between the saved state and this run
            state = _screen_range(directory, rules, after, since, state, None, sized_until=until)[0]
    else:
        state = history_state(directory, since, rules, until=until)
    state, out, transfers, rows = _screen_range(directory, rules, since, until, state, lk)
    if state_dir is not None and state.high_water is not None:
        save_state(state, state_dir, rules, until or state.high_water + timedelta(microseconds=1))
    flags = pl.concat(out) if out else empty(FLAG_SCHEMA)
    return BatchRun(
        flags.sort(["ts", "tx_id"]),
        rows.in_range,
        time.perf_counter() - started,
        transfers=transfers,
        rows_decoded=rows.decoded,
        rows_skipped_by_layout=rows.skipped_by_layout,
    )


def load_state(directory: Path, rules: RuleSet) -> tuple[ScreenState, datetime] | None:
    """The screening state `save_state` left in `directory` and the time up to which (exclusive) it
    stands for the history, or None when there is none.

    A state kept under other rules is refused: what it kept (the windowed rules' tails) depends on them.
    """
    meta_path = directory / "current" / "meta.json"
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    if meta["rules_version"] != rules.version:
        raise Invalid(
            f"the saved screening state was kept under rules {meta['rules_version']}, not {rules.version}:"
            " screen without it",
            field="rules",
        )
    state = ScreenState.load(directory / "current", datetime.fromisoformat(meta["high_water"]))
    return state, datetime.fromisoformat(meta["screened_until"])


def save_state(state: ScreenState, directory: Path, rules: RuleSet, screened_until: datetime) -> None:
    """Keep `state`, which stands for every transaction before `screened_until`, in `directory` for
    the next run: written aside, then swapped in by rename."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"next-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    state.save(tmp)
    meta = {
        "rules_version": rules.version,
        "high_water": state.high_water.isoformat() if state.high_water else None,
        "screened_until": screened_until.isoformat(),
    }
    (tmp / "meta.json").write_text(json.dumps(meta))
    current, old = directory / "current", directory / f"old-{os.getpid()}"
    if current.exists():
        current.rename(old)
    tmp.rename(current)
    shutil.rmtree(old, ignore_errors=True)
