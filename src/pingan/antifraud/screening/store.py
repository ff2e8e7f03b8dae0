"""Reading a transaction store (the Parquet layout of `pingan.sim`) for screening, and the batch engine.

`DIR/transactions/day=YYYY-MM-DD/part-*.parquet`, `DIR/accounts.parquet`, `DIR/persons.parquet`.
Only the columns screening needs are read; truth columns (`kind`, `is_fraud`, `campaign_id`) never are.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

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


def read_transfers(
    files: list[Path], rules: RuleSet, since: datetime | None = None, until: datetime | None = None
) -> tuple[TxColumns, int]:
    """The transfers screening looks at (listed channels, a payee) in [since, until), as columns in time
    order, and how many transactions of any kind lie in the range.

    Reads only the columns screening needs, with the text columns as dictionaries: the channel test
    runs on the dictionary, and the banks are read out only for flagged rows.
    """
    table = pa.concat_tables(
        [pq.read_table(f, columns=_READ_COLUMNS, read_dictionary=_DICT_COLUMNS) for f in files]
    )
    channel = table["channel"]
    allowed = set(rules.channels)
    masks = []
    for chunk in channel.chunks:
        words = chunk.dictionary.to_pylist()
        ok = np.array([w in allowed for w in words] + [False], dtype=bool)
        idx = chunk.indices.to_numpy(zero_copy_only=False)
        # A null channel (index -1 after fill) is not a listed channel.
        idx = np.where(chunk.indices.is_null().to_numpy(zero_copy_only=False), len(words), idx)
        masks.append(ok[idx])
    keep = np.concatenate(masks) if masks else np.zeros(0, bool)
    payee = _col(table, "payee_account")
    ts = _col(table, "ts")
    in_range = np.ones(ts.size, bool)
    if since is not None:
        in_range &= ts >= _us(since)
    if until is not None:
        in_range &= ts < _us(until)
    rows = np.flatnonzero(keep & in_range & (payee >= 0))
    idx = pa.array(rows)
    return TxColumns(
        _col(table, "tx_id")[rows],
        ts[rows],
        _col(table, "payer_account")[rows],
        payee[rows],
        _col(table, "amount_fen")[rows],
        table["payer_bank"].take(idx),
        table["payee_bank"].take(idx),
    ).in_order(), int(in_range.sum())


_READ_COLUMNS = [c for c in TX_SCHEMA]
_DICT_COLUMNS = ["channel", "payer_bank", "payee_bank"]


def _col(table: pa.Table, name: str) -> npt.NDArray[np.int64]:
    col = table[name]
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.int64())
    return np.ascontiguousarray(col.to_numpy(), dtype=np.int64)


def _us(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def iter_transfers(
    directory: Path,
    rules: RuleSet,
    since: datetime | None,
    until: datetime | None,
    *,
    batch_rows: int = 1,
) -> Iterator[tuple[TxColumns, int]]:
    """The store's transfers in [since, until), in time order, in batches of whole day partitions of
    up to `batch_rows` transfers (or one day where a day holds more), with the number of transactions
    of any kind in each.

    Days are read two at a time in threads (Parquet decoding releases the GIL) while the caller
    screens, which keeps both cores busy.
    """
    days = [fs for d, fs in day_files(directory) if fs and _day_may_hold(d, since, until)]
    if not days:
        return
    parts: list[TxColumns] = []
    held = counted = 0
    with ThreadPoolExecutor(2) as pool:
        ahead = deque(pool.submit(read_transfers, fs, rules, since, until) for fs in days[:2])
        later = iter(days[2:])
        while ahead:
            t, n = ahead.popleft().result()
            if (files := next(later, None)) is not None:
                ahead.append(pool.submit(read_transfers, files, rules, since, until))
            if parts and held + t.size > batch_rows:
                yield TxColumns.concat(parts), counted
                parts, held, counted = [], 0, 0
            parts.append(t)
            held += t.size
            counted += n
        yield TxColumns.concat(parts), counted


# Batches of whole days up to 2^18 transfers (a district day, ~240,000): a batch's columns and
# working arrays then stay in the CPU's cache. Screening a district's three months as one batch was
# slower, not faster: every gather and scatter over 21 million rows missed the cache.
BATCH_ROWS = 1 << 18


def history_state(directory: Path, since: datetime | None, rules: RuleSet) -> ScreenState:
    """The state screening would have after every transaction before `since`: pairs seen and the recent tail."""
    state = ScreenState()
    if since is None:
        return state
    for t, _ in iter_transfers(directory, rules, None, since, batch_rows=BATCH_ROWS):
        _, state = screen_columns(t, state, rules, None)
    return state


@dataclass
class BatchRun:
    """What a batch screening run found and how long it took."""

    flags: pl.DataFrame
    rows: int = 0
    seconds: float = 0.0
    per_day: list[tuple[date, int]] = field(default_factory=list)
    transfers: int = 0


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
) -> BatchRun:
    """The batch engine: screen every transaction of the store in [since, until), day by day.

    `rows` counts every transaction in the range (all channels), `transfers` those the rules look at.
    """
    started = time.perf_counter()
    ref = reference if reference is not None else read_reference(directory)
    lk = Lookups.of(watchlist, ref)
    state = history_state(directory, since, rules)
    out: list[pl.DataFrame] = []
    transfers = rows = 0
    # Day partitions are local days, so a partition can hold minutes of the next UTC day; screening in
    # time order needs the partitions in order, which their names give.
    for t, n in iter_transfers(directory, rules, since, until, batch_rows=BATCH_ROWS):
        transfers += t.size
        rows += n
        flags, state = screen_columns(t, state, rules, lk)
        if flags.height:
            out.append(flags)
    flags = pl.concat(out) if out else empty(FLAG_SCHEMA)
    return BatchRun(flags.sort(["ts", "tx_id"]), rows, time.perf_counter() - started, transfers=transfers)
