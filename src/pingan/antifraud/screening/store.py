"""Reading a transaction store (the Parquet layout of `pingan.sim`) for screening, and the batch run.

`DIR/transactions/day=YYYY-MM-DD/part-*.parquet`, `DIR/accounts.parquet`, `DIR/persons.parquet`.
Only the columns screening needs are read; the generator's labels live in truth/, which is never read.

A batch run (`screen_store`) is the DuckDB script of `batch.py` over the store's files. A run that keeps
its state for the next one (`state_dir`: a bank's daily run, which reads the new day, not the months
before it) and the stream consumer's history (`history_state`) replay the store through the streaming
engine (`engine.screen_batch`), whose state is what SQL does not keep.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pingan.antifraud.screening import batch
from pingan.antifraud.screening.engine import (
    FLAG_SCHEMA,
    REFERENCE_SCHEMA,
    TX_SCHEMA,
    Lookups,
    ScreenState,
    TxColumns,
    empty,
    screen_columns,
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
        directory / "accounts.parquet", columns=["account_id", "holder_person_id", "holder_type"]
    )
    persons = pl.read_parquet(directory / "persons.parquet", columns=["person_id", "birth_date"])
    # A bank knows its corporate accounts (holder_type business; unknown in an extract of transfers).
    return (
        accounts.rename({"holder_person_id": "person_id"})
        .with_columns(business=pl.col("holder_type").fill_null("personal") == "business")
        .join(persons, on="person_id", how="left")
        .select(list(REFERENCE_SCHEMA))
        .cast(REFERENCE_SCHEMA)  # type: ignore[arg-type]
    )


def _scan(files: list[Path]) -> pl.LazyFrame:
    return pl.scan_parquet(files).select(TX_COLUMNS).cast(TX_SCHEMA)  # type: ignore[arg-type]


def _day_may_hold(day: date, since: datetime | None, until: datetime | None) -> bool:
    # Partitions are named by the district's local day (UTC+8): allow a day either side.
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=1)
    end = start + timedelta(days=3)
    return (since is None or end > since) and (until is None or start < until)


def _files(directory: Path, since: datetime | None, until: datetime | None) -> list[Path]:
    return [f for d, fs in day_files(directory) if _day_may_hold(d, since, until) for f in fs]


@dataclass(frozen=True)
class RowCounts:
    """How a run met the store's transactions.

    `in_range`: transactions of any kind in the range screened. `decoded`: rows of the row groups the
    run decoded (all of such a group, including rows outside the range or of channels no rule lists:
    a group is decoded whole; the batch script reads the history before the range too).
    `skipped_by_layout`: transactions in the range whose row group was never decoded because its
    channel statistics admit no listed channel.
    """

    in_range: int = 0
    decoded: int = 0
    skipped_by_layout: int = 0


def row_counts(
    files: list[Path],
    since: datetime | None,
    until: datetime | None,
    *,
    decoded_from: datetime | None,
    channels: set[str] | None,
) -> RowCounts:
    """`RowCounts` from the files' metadata: the row groups a read of [decoded_from, until) decodes are
    those that may hold a row of that range and, with `channels`, one of those channels (the batch
    script's scans skip the others by their channel statistics). The count of [since, until) reads
    times only for a group that straddles an end of it. `Invalid` names a file missing a column."""
    lo, hi = (None if t is None else _us(t) for t in (since, until))
    read_lo = None if decoded_from is None else _us(decoded_from)
    counted = decoded = skipped = 0
    for path in files:
        pf = pq.ParquetFile(path)
        md = pf.metadata
        names = md.schema.names
        missing = set(TX_COLUMNS) - set(names)
        if missing:
            raise Invalid(f"{path}: missing columns {sorted(missing)}", field="store")
        ch_col, ts_col = names.index("channel"), names.index("ts")
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            ts_range = _stats_range(rg.column(ts_col).statistics)
            admitted = channels is None or _admits(rg.column(ch_col).statistics, channels)
            if admitted and (ts_range is None or _overlaps(ts_range, read_lo, hi)):
                decoded += rg.num_rows
            if (ts_range is not None and _within(ts_range, lo, hi)) or (lo is None and hi is None):
                in_group = rg.num_rows
            elif ts_range is None or _overlaps(ts_range, lo, hi):
                ts = pf.read_row_group(g, columns=["ts"], use_threads=False).column("ts")
                us = np.asarray(ts.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(), np.int64)
                in_group = int(np.count_nonzero(_in_range(us, lo, hi)))
            else:
                continue
            counted += in_group
            if not admitted:
                skipped += in_group
    return RowCounts(counted, decoded, skipped)


def _admits(channel_stats: pq.Statistics | None, wanted: set[str]) -> bool:
    """Whether a row group whose channel column has these statistics may hold a wanted channel."""
    ch = _stats_range(channel_stats)
    return ch is None or any(ch[0] <= c <= ch[1] for c in wanted)


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


def _us(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


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


def replay(
    directory: Path,
    rules: RuleSet,
    since: datetime | None,
    until: datetime | None,
    state: ScreenState,
    lk: Lookups | None,
) -> tuple[ScreenState, list[pl.DataFrame]]:
    """The streaming engine over the store's transactions in [since, until), a day partition a batch,
    from `state` (without lookups it only advances the state: the history before screening begins);
    returns the state and the flags. Day partitions are local days, so a partition can hold minutes
    of the next UTC day; the partitions' names give their order in time."""
    out: list[pl.DataFrame] = []
    for day in iter_batches(directory, since, until):
        flags, state = screen_columns(TxColumns.of_frame(day, rules), state, rules, lk)
        if flags.height:
            out.append(flags)
    return state, out


def history_state(directory: Path, since: datetime | None, rules: RuleSet) -> ScreenState:
    """The streaming engine's state after every transaction before `since`: pairs seen and the recent
    tail (what a stream consumer starts from)."""
    state = ScreenState()
    if since is None:
        return state
    return replay(directory, rules, None, since, state, None)[0]


@dataclass
class BatchRun:
    """What a batch screening run found and how long it took.

    `rows`: transactions of any kind in the range screened; `rows_decoded`: rows of the row groups the
    run decoded; `rows_skipped_by_layout`: transactions in the range whose row groups were never
    decoded, their channel statistics admitting no listed channel (`RowCounts`).
    """

    flags: pl.DataFrame
    rows: int = 0
    seconds: float = 0.0
    rows_decoded: int = 0
    rows_skipped_by_layout: int = 0


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
    """Batch screening: flag the store's transactions in [since, until), the history before `since`
    counting as history (the DuckDB script of `batch.py`, reading the store from its first day).

    With `state_dir`, the state a previous run left there stands for the history it screened: the run
    goes on from there (from where that run stopped when `since` is not given: its `until`, or just
    after the latest transfer it screened) through the streaming engine, reading only the days from
    there, and leaves its own state for the next one. That is a bank's daily run.
    """
    started = time.perf_counter()
    ref = reference if reference is not None else read_reference(directory)
    if state_dir is None:
        files = _files(directory, None, until)
        counts = row_counts(files, since, until, decoded_from=None, channels=set(rules.channels))
        flags = batch.screen(
            files,
            rules,
            watchlist,
            ref,
            since_us=None if since is None else _us(since),
            until_us=None if until is None else _us(until),
        )
        return BatchRun(
            flags, counts.in_range, time.perf_counter() - started, counts.decoded, counts.skipped_by_layout
        )
    saved = load_state(state_dir, rules)
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
            state = replay(directory, rules, after, since, state, None)[0]
    else:
        state = history_state(directory, since, rules)
    # The engine reads every channel of each day it reads (a day partition as one frame).
    counts = row_counts(_files(directory, since, until), since, until, decoded_from=since, channels=None)
    state, out = replay(directory, rules, since, until, state, Lookups.of(watchlist, ref))
    if state.high_water is not None:
        save_state(state, state_dir, rules, until or state.high_water + timedelta(microseconds=1))
    flags = pl.concat(out) if out else empty(FLAG_SCHEMA)
    return BatchRun(
        flags.sort(["ts", "tx_id"]),
        counts.in_range,
        time.perf_counter() - started,
        counts.decoded,
        counts.skipped_by_layout,
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
