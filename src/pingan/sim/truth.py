"""The generator's ground truth (DIR/truth/), read in one place.

A district's bank files (accounts, persons, merchants, transactions) hold only what a bank would hand
over. What the generator knows besides (which account is a mule, which transfer is fraud, which gang
ran it) lives under `truth/`, keyed by account id and transaction id. Benchmarks and tests read it
through `read_labels`; screening, tracing and mule scoring never do (tests/sim/test_truth.py proves
that they run the same with truth/ taken away).

- `truth/account_roles.parquet`: `account_id`, `role`, `campaign_id` of every account that is not
  `normal` (an account that is absent is normal).
- `truth/tx_labels/day=YYYY-MM-DD/part-0.parquet`: `tx_id`, `kind`, `is_fraud`, `campaign_id` of every
  transaction of that day partition.
- `truth/campaigns.parquet`, `truth/victims.parquet`, `truth/fraud_flows.parquet`: docs/sim.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pingan.core.errors import NotFound

TRUTH = "truth"
MULE_ROLES = ("mule_t1", "mule_t2", "mule_t3", "mule_t4", "cashout")
# The evaluation protocol (docs/evaluation.md): thresholds, rules and model choices are tuned on the
# tuning seeds only; every quality figure is reported on the reporting seeds, which nobody tunes on.
TUNING_SEEDS = (1, 2, 3, 4)
REPORTING_SEEDS = (101, 102, 103, 104, 105)


def protocol_seeds(
    seeds: Sequence[int], tuned_on: Sequence[int] = TUNING_SEEDS, *, tuning: bool = False
) -> dict[str, list[int]]:
    """The `tuned_on` / `reported_on` fields a quality figure prints.

    A report run refuses a tuning seed among `seeds` and anything but tuning seeds in `tuned_on`; a
    tuning run (`tuning`) refuses a reporting seed and prints `tuning_run_on` instead of `reported_on`."""
    forbidden = REPORTING_SEEDS if tuning else TUNING_SEEDS
    wrong = [s for s in seeds if s in forbidden] + [s for s in tuned_on if s not in TUNING_SEEDS]
    if wrong:
        raise ValueError(f"seed {wrong[0]} breaks the evaluation protocol (docs/evaluation.md): tune on "
                         f"{list(TUNING_SEEDS)}, report on {list(REPORTING_SEEDS)}")  # fmt: skip
    return {"tuned_on": list(tuned_on), ("tuning_run_on" if tuning else "reported_on"): list(seeds)}


def truth_dir(store: Path) -> Path:
    """The truth folder of a store; NotFound if the store has none (an imported bank extract)."""
    path = store / TRUTH
    if not path.is_dir():
        raise NotFound(f"{path} not found: a store without ground truth (not a generated district)")
    return path


def tx_labels_path(store: Path, day_partition: str) -> Path:
    """The label file of one day partition (`day=YYYY-MM-DD`)."""
    return store / TRUTH / "tx_labels" / day_partition / "part-0.parquet"


def account_roles(store: Path) -> pl.DataFrame:
    """account_id, role, campaign_id of every account that is not normal."""
    return pl.read_parquet(truth_dir(store) / "account_roles.parquet")


@dataclass(frozen=True)
class Labels:
    """The ground truth of a generated district."""

    store: Path
    accounts: pl.DataFrame  # account_id, role, campaign_id, is_mule: every account that is not normal
    victims: pl.DataFrame
    campaigns: pl.DataFrame
    fraud_flows: pl.DataFrame

    def transactions(self) -> pl.LazyFrame:
        """tx_id, kind, is_fraud, campaign_id of every transaction (lazy: a district has 100 million)."""
        return pl.scan_parquet(truth_dir(self.store) / "tx_labels" / "day=*" / "part-0.parquet")

    def role_of(self, account_ids: pl.Series) -> pl.Series:
        """The role of each given account ("normal" where truth lists none)."""
        frame = account_ids.alias("account_id").cast(pl.Int64).to_frame()
        joined = frame.join(self.accounts.select("account_id", "role"), on="account_id", how="left")
        return joined["role"].fill_null("normal")


def read_labels(store: Path) -> Labels:
    """Every label the generator wrote for `store` (NotFound for a store without truth/)."""
    root = truth_dir(store)
    roles = account_roles(store).with_columns(is_mule=pl.col("role").is_in(MULE_ROLES))
    return Labels(
        store=store,
        accounts=roles,
        victims=pl.read_parquet(root / "victims.parquet"),
        campaigns=pl.read_parquet(root / "campaigns.parquet"),
        fraud_flows=pl.read_parquet(root / "fraud_flows.parquet"),
    )
