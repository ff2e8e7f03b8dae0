"""Reader of IBM AMLSim samples (nodes.csv, transactions.csv) into the platform's transfer frame.

Any sample of the layout is accepted: `nodes.csv` with nodeid, isFraud (and optionally init_balance,
fraudStep), `transactions.csv` with sourceNodeId, targetNodeId, value, time. AMLSim's `time` is a step
(one day); it becomes midnight UTC of day `time` after 2020-01-01. `value` becomes integer fen.
Where `fraudStep` is present, the labels also say which fraud accounts made a laundering transfer of
their own (`fraudStep` >= 0); that column is for breaking down evaluation figures, never a feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pingan.core.errors import Invalid, NotFound

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_NODE_COLS = ("nodeid", "isFraud")
_TX_COLS = ("sourceNodeId", "targetNodeId", "value", "time")


@dataclass(frozen=True)
class AmlsimSample:
    """Transfers and labels of one sample."""

    name: str
    transfers: pl.DataFrame  # payer, payee, amount_fen, ts
    labels: pl.DataFrame  # account, is_mule (and own_transfer where the sample has fraudStep)


def read_amlsim(directory: Path) -> AmlsimSample:
    """Read one AMLSim sample directory; Invalid names a missing column and its file."""
    nodes_path, tx_path = directory / "nodes.csv", directory / "transactions.csv"
    for p in (nodes_path, tx_path):
        if not p.exists():
            raise NotFound(f"{p} not found (an AMLSim sample has nodes.csv and transactions.csv)")
    nodes = pl.read_csv(nodes_path)
    tx = pl.read_csv(tx_path)
    for path, df, cols in ((nodes_path, nodes, _NODE_COLS), (tx_path, tx, _TX_COLS)):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise Invalid(f"{path}: missing columns {missing}", field=missing[0], line=1)
    transfers = tx.select(
        pl.col("sourceNodeId").cast(pl.Int64).alias("payer"),
        pl.col("targetNodeId").cast(pl.Int64).alias("payee"),
        (pl.col("value").cast(pl.Float64) * 100).round(0).cast(pl.Int64).alias("amount_fen"),
        (pl.lit(_EPOCH) + pl.duration(days=pl.col("time").cast(pl.Int64)))
        .dt.cast_time_unit("us")
        .alias("ts"),
    )
    labels = nodes.select(
        pl.col("nodeid").cast(pl.Int64).alias("account"),
        (pl.col("isFraud").cast(pl.Int64) > 0).alias("is_mule"),
    )
    if "fraudStep" in nodes.columns:
        own = (pl.col("isFraud").cast(pl.Int64) > 0) & (pl.col("fraudStep").cast(pl.Int64) >= 0)
        labels = labels.with_columns(nodes.select(own.alias("own_transfer")).to_series())
    return AmlsimSample(directory.name, transfers, labels)
