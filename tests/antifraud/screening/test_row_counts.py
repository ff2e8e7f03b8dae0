"""What a batch run says it read: the rows it decoded, and apart from them the rows the store's layout
let it skip (row groups of channels no rule lists), each counted where the read happens."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import polars as pl

from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import TRANSFER_CHANNELS, RuleSet
from pingan.antifraud.screening.store import screen_store


def _count(store: Path, rules: RuleSet, *, listed: bool, since: datetime | None = None) -> int:
    """Transactions of the store (from `since`) whose channel some rule lists, or none does."""
    lf = pl.scan_parquet(sorted((store / "transactions").glob("day=*/*.parquet")))
    if since is not None:
        lf = lf.filter(pl.col("ts") >= since)
    in_rules = pl.col("channel").is_in(list(rules.channels))
    return int(lf.filter(in_rules if listed else ~in_rules).select(pl.len()).collect().item())


def transfers_only(rules: RuleSet) -> RuleSet:
    """The rules with QR, POS and ATM left out of the screened channels."""
    return RuleSet.model_validate(rules.model_dump() | {"channels": TRANSFER_CHANNELS})


def test_with_every_channel_screened_a_run_decodes_every_row(district: Path, rules: RuleSet) -> None:
    run = screen_store(district, rules=rules, watchlist=watchlist_from_reports(district))
    assert (run.rows_decoded, run.rows_skipped_by_layout) == (run.rows, 0)


def test_a_run_decodes_the_listed_channels_rows_and_counts_the_others_as_skipped(
    district: Path, rules: RuleSet
) -> None:
    rules = transfers_only(rules)
    run = screen_store(district, rules=rules, watchlist=watchlist_from_reports(district))
    # Format 2 keeps each channel in row groups of its own: exactly the listed channels' rows are decoded.
    assert run.rows_decoded == _count(district, rules, listed=True)
    assert run.rows_skipped_by_layout == _count(district, rules, listed=False) > 0
    assert run.rows_decoded + run.rows_skipped_by_layout == run.rows


def test_a_run_over_a_range_skips_only_the_unlisted_rows_inside_it(district: Path, rules: RuleSet) -> None:
    rules = transfers_only(rules)
    since = since_of(district, 3)
    run = screen_store(district, rules=rules, watchlist=watchlist_from_reports(district), since=since)
    assert run.rows_skipped_by_layout == _count(district, rules, listed=False, since=since)
    # The batch script reads the history before `since` too: every listed channel's row of the store.
    assert run.rows_decoded == _count(district, rules, listed=True)


def test_a_store_of_format_1_decodes_every_row_and_skips_none(
    district: Path, rules: RuleSet, tmp_path: Path
) -> None:
    # Format 1: a day's rows in time order, channels mixed in each row group.
    old = tmp_path / "old"
    shutil.copytree(district, old)
    for path in (old / "transactions").glob("day=*/part-0.parquet"):
        pl.read_parquet(path).sort("tx_id").write_parquet(path, row_group_size=1 << 20)
    run = screen_store(old, rules=transfers_only(rules), watchlist=watchlist_from_reports(old))
    assert (run.rows_decoded, run.rows_skipped_by_layout) == (run.rows, 0)
