"""The batch engine's saved state: a daily run that goes on from yesterday's state raises the flags a
run over the whole history would, and a state that cannot stand for the history is refused."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.screening.store import screen_store
from pingan.core.errors import Invalid


def test_runs_going_on_from_the_saved_state_flag_what_one_run_over_the_history_flags(
    district: Path, rules: RuleSet, tmp_path: Path
) -> None:
    wl = watchlist_from_reports(district)
    since = since_of(district, 3)
    whole = screen_store(district, rules=rules, watchlist=wl, since=since)
    runs = [
        screen_store(district, rules=rules, watchlist=wl, since=since, until=since + timedelta(days=4),
                     state_dir=tmp_path),
        screen_store(district, rules=rules, watchlist=wl, until=since + timedelta(days=8), state_dir=tmp_path),
        screen_store(district, rules=rules, watchlist=wl, state_dir=tmp_path),
    ]  # fmt: skip
    assert whole.flags.height > 50
    assert all(run.flags.height for run in runs)
    assert sum(run.rows for run in runs) == whole.rows
    assert pl.concat([run.flags for run in runs]).equals(whole.flags)


def test_a_run_that_would_screen_again_what_the_saved_state_covers_is_refused(
    district: Path, rules: RuleSet, tmp_path: Path
) -> None:
    wl = watchlist_from_reports(district)
    since = since_of(district, 3)
    screen_store(district, rules=rules, watchlist=wl, until=since, state_dir=tmp_path)
    with pytest.raises(Invalid, match="covers transactions up to"):
        screen_store(district, rules=rules, watchlist=wl, since=since - timedelta(days=1), state_dir=tmp_path)


def test_a_state_kept_under_other_rules_is_refused(district: Path, rules: RuleSet, tmp_path: Path) -> None:
    wl = watchlist_from_reports(district)
    screen_store(district, rules=rules, watchlist=wl, until=since_of(district, 3), state_dir=tmp_path)
    with pytest.raises(Invalid, match="kept under rules"):
        screen_store(
            district, rules=rules.model_copy(update={"version": "other"}), watchlist=wl, state_dir=tmp_path
        )


def test_a_store_of_format_1_screens_as_format_2_does(district: Path, rules: RuleSet, tmp_path: Path) -> None:
    # Format 1: a day's rows in time order, not grouped by channel, plain encodings.
    old = tmp_path / "old"
    shutil.copytree(district, old)
    for path in (old / "transactions").glob("day=*/part-0.parquet"):
        pl.read_parquet(path).sort("tx_id").write_parquet(path, row_group_size=1 << 20)
    wl = watchlist_from_reports(district)
    since = since_of(district, 3)
    new_run = screen_store(district, rules=rules, watchlist=wl, since=since)
    old_run = screen_store(old, rules=rules, watchlist=wl, since=since)
    assert new_run.flags.height > 50
    assert old_run.flags.equals(new_run.flags)
    assert old_run.rows == new_run.rows
