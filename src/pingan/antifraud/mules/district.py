"""Mule detection on a transaction store (交易库) of the synthetic district or a bank export.

The store layout is the one of docs/sim.md: day partitions of transfers, `accounts.parquet` and, for a
generated district, the ground truth in `truth/account_roles.parquet` (used only to train and to score
the detector, never as a feature). The split is temporal: the model learns on the days before the split
day and is scored on the accounts active from that day on, as it would be used in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import lightgbm as lgb
import numpy as np
import polars as pl

from pingan.antifraud.mules.features import ACCOUNT
from pingan.antifraud.mules.model import FeatureEngine, Graph, MuleModel, PolarsEngine, Scored, graph
from pingan.antifraud.tracing.store import card_to_account
from pingan.core.errors import Invalid, NotFound

# Roles of truth/account_roles.parquet that are mule cards (tiers 1-4 and the cash-out cards).
MULE_ROLES = ("mule_t1", "mule_t2", "mule_t3", "mule_t4", "cashout")
BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Candidate:
    """An account the model puts forward for human review, with why (pred_contrib reasons)."""

    account: int
    score: float
    reasons: tuple[str, ...]


def read_transfers(store: Path, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Transfers of the store's day partitions in [start, end) as payer, payee, amount_fen, ts."""
    tx_dir = store / "transactions"
    if not tx_dir.is_dir():
        raise NotFound(f"no transactions/ directory in store {store}")
    parts = []
    for p in sorted(tx_dir.glob("day=*")):
        try:
            day = date.fromisoformat(p.name[4:])
        except ValueError:
            continue
        if (start is None or day >= start) and (end is None or day < end):
            parts.extend(sorted(p.glob("*.parquet")))
    if not parts:
        raise NotFound(f"no day partitions in {tx_dir} between {start} and {end}")
    return (
        pl.scan_parquet(parts)
        .select(
            pl.col("payer_account").alias("payer"),
            pl.col("payee_account").alias("payee"),
            pl.col("amount_fen").cast(pl.Int64),
            pl.col("ts").dt.cast_time_unit("us").dt.replace_time_zone("UTC"),
        )
        .collect()
    )


def account_openings(store: Path) -> pl.DataFrame:
    """account, opened (a date; null where the bank gave none) from the store's accounts.parquet.

    A store without an `opened` column (an imported extract that named none) gives nulls: the age
    feature is then missing, never zero.
    """
    path = store / "accounts.parquet"
    if not path.exists():
        raise NotFound(f"no accounts.parquet in store {store}")
    names = pl.read_parquet_schema(path)
    cols = [pl.col("account_id").cast(pl.Int64).alias(ACCOUNT)]
    cols.append(
        pl.col("opened").cast(pl.Date) if "opened" in names else pl.lit(None, dtype=pl.Date).alias("opened")
    )
    return pl.scan_parquet(path).select(cols).collect()


def reported_victims(store: Path, until: datetime | None = None) -> pl.DataFrame | None:
    """account of every payer card named in the store's reports.jsonl, reported before `until`.

    None where the store has no reports file (an imported extract): the feature is then missing.
    A card the store's accounts do not hold is left out.
    """
    path = store / "reports.jsonl"
    if not path.exists():
        return None
    accounts = card_to_account(store)
    found: set[int] = set()
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                report = json.loads(line)
                at = datetime.fromisoformat(report["reported_at"])
                cards = [t["payer_card"] for t in report["transfers"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise Invalid(f"{path}: not a report ({exc})", field="reported_at", line=line_no) from None
            if until is None or at < until:
                found.update(accounts[c] for c in cards if c in accounts)
    return pl.DataFrame({ACCOUNT: sorted(found)}, schema={ACCOUNT: pl.Int64})


def flagged_payers(flags: Path) -> pl.DataFrame:
    """account of every payer in a file of screening flags (`pingan screen --out`)."""
    if not flags.exists():
        raise NotFound(f"{flags} not found (write one with `pingan screen STORE --out FILE`)")
    names = pl.read_parquet_schema(flags)
    if "payer_account" not in names:
        raise Invalid(f"{flags}: needs the column payer_account", field="payer_account", line=1)
    return (
        pl.scan_parquet(flags)
        .select(pl.col("payer_account").cast(pl.Int64).alias(ACCOUNT))
        .unique()
        .collect()
    )


def inflow_sources(
    store: Path, until: datetime | None = None, flags: Path | None = None
) -> pl.DataFrame | None:
    """Reported victims (before `until`) and flagged payers together; None when neither is known."""
    parts = [
        p for p in (reported_victims(store, until), flagged_payers(flags) if flags else None) if p is not None
    ]
    return pl.concat(parts).unique().sort(ACCOUNT) if parts else None


def store_days(store: Path) -> tuple[date, date]:
    """The first and last day partition of the store."""
    days = sorted(date.fromisoformat(p.name[4:]) for p in (store / "transactions").glob("day=*"))
    if not days:
        raise NotFound(f"no day partitions in {store / 'transactions'}")
    return days[0], days[-1]


def split_day(store: Path, train_share: float = 2 / 3) -> date:
    """The first day of the test period: the day after the first `train_share` of the store's days."""
    first, last = store_days(store)
    return date.fromordinal(first.toordinal() + max(1, round((last - first).days * train_share)))


def truth_labels(store: Path) -> pl.DataFrame:
    """account, is_mule from the generator's ground truth (truth/account_roles.parquet)."""
    path = store / "truth" / "account_roles.parquet"
    if not path.exists():
        raise NotFound(f"{path} not found: training needs a store with ground truth")
    roles = pl.read_parquet(path)
    if "account_id" not in roles.columns or "role" not in roles.columns:
        raise Invalid(f"{path}: needs columns account_id and role", field="role", line=1)
    return roles.select(
        pl.col("account_id").cast(pl.Int64).alias(ACCOUNT),
        pl.col("role").cast(pl.Utf8).is_in(MULE_ROLES).alias("is_mule"),
    )


def day_start(day: date) -> datetime:
    """The start of a Beijing-time day (the store's day partitions), as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


def labelled_graph(
    transfers: pl.DataFrame | FeatureEngine,
    truth: pl.DataFrame,
    *,
    opened: pl.DataFrame | None = None,
    flagged: pl.DataFrame | None = None,
) -> Graph:
    """Graph of every account in the transfers, labelled from the truth (absent means not a mule).

    `transfers` as for `model.graph`: a frame, or a `FeatureEngine` (`spark_graph.SparkEngine`)."""
    engine = PolarsEngine(transfers) if isinstance(transfers, pl.DataFrame) else transfers
    labels = (
        pl.DataFrame({ACCOUNT: engine.accounts()})
        .join(truth, on=ACCOUNT, how="left")
        .with_columns(pl.col("is_mule").fill_null(False))
        .sort(ACCOUNT)
    )
    return graph(engine, labels=labels, opened=opened, flagged=flagged)


def save_model(model: MuleModel, directory: Path, *, trained_on: dict[str, object]) -> None:
    """Write each round's booster and the model's columns, threshold and provenance to `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for r, booster in enumerate(model.boosters):
        booster.save_model(str(directory / f"round{r}.txt"))
    meta = {
        "columns": model.columns,
        "threshold": model.threshold,
        "propagation_rounds": model.propagation_rounds,
        "trained_on": trained_on,
        "saved_at": datetime.now(UTC).isoformat(),
    }
    (directory / "model.json").write_text(json.dumps(meta, indent=1, default=str))


def load_model(directory: Path) -> MuleModel:
    """Read a model that save_model wrote."""
    meta_path = directory / "model.json"
    if not meta_path.exists():
        raise NotFound(f"{meta_path} not found (train one with `pingan mules train`)")
    meta = json.loads(meta_path.read_text())
    boosters = [lgb.Booster(model_file=str(directory / f"round{r}.txt")) for r in range(len(meta["columns"]))]
    return MuleModel(boosters, meta["columns"], float(meta["threshold"]), int(meta["propagation_rounds"]))


def candidates(scored: Scored, threshold: float, *, limit: int | None = None) -> list[Candidate]:
    """Accounts at or above the threshold, best first, each with its top pred_contrib reasons."""
    order = np.argsort(-scored.scores, kind="stable")
    out: list[Candidate] = []
    for row in order:
        s = float(scored.scores[row])
        if s < threshold or (limit is not None and len(out) >= limit):
            break
        out.append(Candidate(int(scored.accounts[row]), s, scored.reasons(int(row))))
    return out
