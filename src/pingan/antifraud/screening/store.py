"""Reading a transaction store (the Parquet layout of `pingan.sim`) for screening, and the batch engine.

`DIR/transactions/day=YYYY-MM-DD/part-*.parquet`, `DIR/accounts.parquet`, `DIR/persons.parquet`.
Only the columns screening needs are read; truth columns (`kind`, `is_fraud`, `campaign_id`) never are.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from pingan.antifraud.screening.engine import (
    FLAG_SCHEMA,
    INFLOW_SCHEMA,
    PAIR,
    PAIRS_SCHEMA,
    RECENT_SCHEMA,
    REFERENCE_SCHEMA,
    TX_SCHEMA,
    ScreenState,
    empty,
    lookback,
    screen_batch,
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


def history_state(directory: Path, since: datetime | None, rules: RuleSet) -> ScreenState:
    """The state screening would have after every transaction before `since`: pairs seen and the recent tail."""
    if since is None:
        return ScreenState()
    files = [f for d, fs in day_files(directory) if _day_may_hold(d, None, since) for f in fs]
    if not files:
        return ScreenState()
    hist = (
        _scan(files)
        .filter(
            (pl.col("ts") < since)
            & pl.col("channel").is_in(list(rules.channels))
            & (pl.col("payee_account") >= 0)
        )
        .sort(["ts", "tx_id"])
    )
    pairs = (
        hist.group_by(PAIR, maintain_order=True)
        .agg(
            first_ts=pl.col("ts").first(),
            n=pl.len().cast(pl.Int64),
            last_amount=pl.col("amount_fen").last(),
            total_fen=pl.col("amount_fen").sum(),
            _first_tx=pl.col("tx_id").first(),
            _first_amount=pl.col("amount_fen").first(),
        )
        .collect()
    )
    if pairs.is_empty():
        return ScreenState()
    high = pairs["first_ts"].max()
    last = hist.select(pl.col("ts").max()).collect().item()
    keep_from = last - timedelta(microseconds=lookback(rules))
    recent = (
        pairs.filter(pl.col("first_ts") > keep_from)
        .select(*PAIR, ts="first_ts", tx_id="_first_tx", amount_fen="_first_amount")
        .sort(["ts", "tx_id"])
    )
    inflows = (
        hist.filter(pl.col("ts") >= last - timedelta(hours=rules.suppress.pass_through_hours))
        .select(account="payee_account", ts="ts", amount_fen="amount_fen")
        .collect()
    )
    assert isinstance(high, datetime)
    return ScreenState(
        pairs.select(list(PAIRS_SCHEMA)).cast(PAIRS_SCHEMA),  # type: ignore[arg-type]
        recent.cast(RECENT_SCHEMA),  # type: ignore[arg-type]
        inflows.cast(INFLOW_SCHEMA),  # type: ignore[arg-type]
        last,
    )


@dataclass
class BatchRun:
    """What a batch screening run found and how long it took."""

    flags: pl.DataFrame
    rows: int = 0
    seconds: float = 0.0
    per_day: list[tuple[date, int]] = field(default_factory=list)


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
    """The batch engine: screen every transaction of the store in [since, until), day by day."""
    started = time.perf_counter()
    ref = reference if reference is not None else read_reference(directory)
    state = history_state(directory, since, rules)
    out: list[pl.DataFrame] = []
    rows = 0
    # Day partitions are local days, so a partition can hold minutes of the next UTC day; screening in
    # time order needs the partitions in order, which their names give.
    for batch in iter_batches(directory, since, until):
        rows += batch.height
        flags, state = screen_batch(batch, state, rules, watchlist, ref)
        out.append(flags)
    flags = pl.concat(out) if out else empty(FLAG_SCHEMA)
    return BatchRun(flags.sort(["ts", "tx_id"]), rows, time.perf_counter() - started)
