"""Mule classifier (涉诈账户识别): LightGBM over behaviour features, with neighbour-score propagation.

Round 0 scores accounts on their own behaviour. Each further round adds the amount-weighted mean and the
maximum of the previous round's scores over the account's payers and payees, so a card that trades with
likely mules scores higher; the same scores summed over the accounts two steps away and over the accounts
that traded with one of its counterparties on the same day reach ring members with no laundering transfer
of their own. On training data the previous round's scores are out-of-fold predictions:
an account's own label never leaks into its neighbours' features.

The features are computed by a `FeatureEngine` over the sample's transfers: `PolarsEngine` in this
process, or `spark_graph.SparkEngine` on Spark (`--engine spark`), which gives the same columns and
sends the driver one row per account. LightGBM trains and scores here, on those rows.

The decision threshold is the one that maximises F1 on out-of-fold predictions of the training data:
it is chosen without looking at any test label. A score is a lead for review, never a freeze (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import lightgbm as lgb
import numpy as np
import polars as pl

from pingan.antifraud.mules.features import (
    ACCOUNT,
    account_features,
    co_activity,
    counterparty_pairs,
    neighbour_means,
    reciprocity,
    triangles,
    two_hop,
)

PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "num_threads": 1,
    "force_col_wise": True,
    "max_bin": 63,
}
SEED = 7
ROUNDS = 150
FOLDS = 5
# The baseline of bench/mules_quality.py: degree and amount features only.
BASELINE_FEATURES = (
    "in_n",
    "out_n",
    "fan_in",
    "fan_out",
    "in_sum",
    "out_sum",
    "in_mean",
    "out_mean",
    "in_max",
    "out_max",
)


class FeatureEngine(Protocol):
    """A sample's transfers, and where its features are computed from them: in this process
    (`PolarsEngine`) or on Spark (`spark_graph.SparkEngine`). Either gives the same columns."""

    def accounts(self) -> pl.Series:
        """Every account that paid, or was paid, in the transfers."""
        ...

    def base_features(self, opened: pl.DataFrame | None, flagged: pl.DataFrame | None) -> pl.DataFrame:
        """Round zero: the per-account features and the structure features, one row per account."""
        ...

    def neighbour_features(self, values: pl.DataFrame) -> pl.DataFrame:
        """One propagation round's columns of the scores in `values` (account, score{r})."""
        ...


@dataclass
class PolarsEngine:
    """A sample's transfers in this process: its features computed with Polars (`features.py`)."""

    transfers: pl.DataFrame
    _pairs: pl.DataFrame | None = field(default=None, init=False, repr=False)

    @property
    def pairs(self) -> pl.DataFrame:
        """The undirected counterparty pairs, computed once for round zero and every round after."""
        if self._pairs is None:
            self._pairs = counterparty_pairs(self.transfers)
        return self._pairs

    def accounts(self) -> pl.Series:
        """Every account that paid, or was paid, in the transfers."""
        tx = self.transfers
        return pl.concat([tx["payer"], tx["payee"].filter(tx["payee"] >= 0)]).unique().cast(pl.Int64)

    def base_features(self, opened: pl.DataFrame | None, flagged: pl.DataFrame | None) -> pl.DataFrame:
        """`features.account_features`, then the counterparties' small-amount share, the triangles
        (plain and with small-amount traders) and the reciprocal counterparties; sorted by account."""
        feats = account_features(self.transfers, opened, flagged)
        # Round zero of propagation needs no model: how much the counterparties themselves send in small
        # amounts (test transfers and split parcels are a mule ring's signature).
        small = feats.select(
            ACCOUNT,
            (pl.col("out_small_share").fill_null(0) + pl.col("in_small_share").fill_null(0)).alias("small"),
        )
        feats = feats.join(neighbour_means(self.transfers, small, "small"), on=ACCOUNT, how="left")
        # Structure: rings close triangles and pay each other back; triangles with small-amount traders.
        return (
            feats.join(triangles(self.pairs), on=ACCOUNT, how="left")
            .join(triangles(self.pairs, small), on=ACCOUNT, how="left")
            .join(reciprocity(self.transfers), on=ACCOUNT, how="left")
            .with_columns(pl.col("triangles", "triangles_small", "reciprocal_counterparties").fill_null(0))
        )

    def neighbour_features(self, values: pl.DataFrame) -> pl.DataFrame:
        """The counterparties' means of the score, its triangles, two steps away and same-day co-traders;
        one row per account with a counterparty."""
        col = values.columns[1]
        return (
            neighbour_means(self.transfers, values, col)
            .join(triangles(self.pairs, values), on=ACCOUNT, how="left")
            .join(two_hop(self.pairs, values), on=ACCOUNT, how="left")
            .join(co_activity(self.transfers, values), on=ACCOUNT, how="left")
            .with_columns(pl.col(f"triangles_{col}").fill_null(0))
        )


@dataclass(frozen=True)
class Graph:
    """One sample: where its features are computed, the base features of its accounts (labels optional)."""

    engine: FeatureEngine
    features: pl.DataFrame  # account + feature columns
    labels: np.ndarray | None = None  # bool per row of `features`


def graph(
    transfers: pl.DataFrame | FeatureEngine,
    accounts: pl.Series | None = None,
    labels: pl.DataFrame | None = None,
    *,
    opened: pl.DataFrame | None = None,
    flagged: pl.DataFrame | None = None,
) -> Graph:
    """Features of `accounts` (default: every account in the transfers), aligned with their labels.

    `transfers` is a frame of them, whose features are computed in this process, or a `FeatureEngine`
    (`spark_graph.SparkEngine`: on Spark). `opened` (account, opened) and `flagged` (account) as for
    `features.account_features`: without them, the account age at the first large credit and the
    credits from flagged payers are missing.
    """
    engine = PolarsEngine(transfers) if isinstance(transfers, pl.DataFrame) else transfers
    feats = engine.base_features(opened, flagged)
    if labels is not None:
        base = labels.select(ACCOUNT, "is_mule")
    elif accounts is not None:
        base = pl.DataFrame({ACCOUNT: accounts.cast(pl.Int64)})
    else:
        base = feats.select(ACCOUNT)
    df = base.join(feats, on=ACCOUNT, how="left")
    y = df["is_mule"].to_numpy().astype(bool) if "is_mule" in df.columns else None
    return Graph(engine, df.drop("is_mule", strict=False), y)


@dataclass
class MuleModel:
    """Boosters of each propagation round, their feature names, and the decision threshold."""

    boosters: list[lgb.Booster] = field(default_factory=list)
    columns: list[list[str]] = field(default_factory=list)
    threshold: float = 0.5
    propagation_rounds: int = 2


def _matrix(df: pl.DataFrame, columns: Sequence[str]) -> np.ndarray:
    return df.select(pl.col(c).cast(pl.Float64) for c in columns).to_numpy()


def _fit(x: np.ndarray, y: np.ndarray, names: list[str], seed: int) -> lgb.Booster:
    data = lgb.Dataset(x, label=y.astype(np.float64), feature_name=names, free_raw_data=True)
    return lgb.train({**PARAMS, "seed": seed}, data, num_boost_round=ROUNDS)


def _oof(x: np.ndarray, y: np.ndarray, names: list[str], groups: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold scores: each row scored by a model that did not see it (stratified folds)."""
    rng = np.random.default_rng(11)
    fold = np.empty(y.size, dtype=np.int64)
    for label in (False, True):
        idx = np.flatnonzero(y == label)
        fold[idx] = rng.permutation(idx.size) % FOLDS
    del groups
    out = np.zeros(y.size)
    for k in range(FOLDS):
        test = fold == k
        out[test] = _fit(x[~test], y[~test], names, seed).predict(x[test])
    return out


def _with_neighbours(g: Graph, scores: np.ndarray, r: int) -> pl.DataFrame:
    return g.engine.neighbour_features(pl.DataFrame({ACCOUNT: g.features[ACCOUNT], f"score{r}": scores}))


def best_f1_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold with the highest F1 on (y, scores)."""
    order = np.argsort(-scores)
    s, t = scores[order], y[order].astype(np.int64)
    tp = np.cumsum(t)
    fp = np.cumsum(1 - t)
    f1 = 2 * tp / (tp + fp + t.sum())
    # Only cut between distinct scores.
    last_of_run = np.r_[s[1:] != s[:-1], True]
    i = int(np.argmax(np.where(last_of_run, f1, -1)))
    return float(s[i])


def train(graphs: Sequence[Graph], propagation_rounds: int = 2, seed: int = SEED) -> MuleModel:
    """Train the round-0 model and `propagation_rounds` neighbour rounds; pick the threshold out of fold.

    `seed` is LightGBM's (bagging and feature sampling); the folds stay the same.
    """
    model = MuleModel(propagation_rounds=propagation_rounds)
    frames = [g.features for g in graphs]
    y = np.concatenate([g.labels for g in graphs if g.labels is not None])
    groups = np.concatenate([np.full(g.features.height, i) for i, g in enumerate(graphs)])
    oof = np.zeros(y.size)
    for r in range(propagation_rounds + 1):
        cols = [c for c in frames[0].columns if c != ACCOUNT]
        x = np.vstack([_matrix(f, cols) for f in frames])
        oof = _oof(x, y, cols, groups, seed)
        model.boosters.append(_fit(x, y, cols, seed))
        model.columns.append(cols)
        if r < propagation_rounds:
            new_frames, at = [], 0
            for g, f in zip(graphs, frames, strict=True):
                part = oof[at : at + f.height]
                at += f.height
                nb = _with_neighbours(g, part, r)
                new_frames.append(f.join(nb, on=ACCOUNT, how="left"))
            frames = new_frames
    model.threshold = best_f1_threshold(y, oof)
    return model


@dataclass(frozen=True)
class Scored:
    """Scores of one graph's accounts and each feature's contribution to the last round's score."""

    accounts: np.ndarray
    scores: np.ndarray
    contributions: np.ndarray  # (accounts, features + 1): LightGBM pred_contrib, last column the bias
    columns: list[str]
    values: np.ndarray | None = None  # (accounts, features): the last round's feature values

    def reasons(self, row: int, top: int = 3) -> tuple[str, ...]:
        """The features that pushed this account's score up the most, as `feature=value:+contribution`
        (the reviewer reads the value beside the feature's label)."""
        c = self.contributions[row, :-1]
        best = np.argsort(-c)[:top]
        if self.values is None:
            return tuple(f"{self.columns[i]}:+{c[i]:.2f}" for i in best if c[i] > 0)
        v = self.values[row]
        return tuple(f"{self.columns[i]}={v[i]:.6g}:+{c[i]:.2f}" for i in best if c[i] > 0)


def score(model: MuleModel, g: Graph) -> Scored:
    """Score every account of the graph through all rounds."""
    frame = g.features
    s = np.zeros(frame.height)
    x = _matrix(frame, model.columns[0])
    for r, (booster, cols) in enumerate(zip(model.boosters, model.columns, strict=True)):
        if r > 0:
            frame = frame.join(_with_neighbours(g, s, r - 1), on=ACCOUNT, how="left")
        x = _matrix(frame, cols)
        s = np.asarray(booster.predict(x))
    contrib = np.asarray(model.boosters[-1].predict(x, pred_contrib=True))
    return Scored(frame[ACCOUNT].to_numpy(), s, contrib, model.columns[-1], x)


def train_baseline(graphs: Sequence[Graph]) -> MuleModel:
    """Plain LightGBM on degree and amount features; threshold out of fold, as for the full model."""
    cols = list(BASELINE_FEATURES)
    x = np.vstack([_matrix(g.features, cols) for g in graphs])
    y = np.concatenate([g.labels for g in graphs if g.labels is not None])
    groups = np.concatenate([np.full(g.features.height, i) for i, g in enumerate(graphs)])
    oof = _oof(x, y, cols, groups, SEED)
    return MuleModel([_fit(x, y, cols, SEED)], [cols], best_f1_threshold(y, oof), 0)


def evaluate(y: np.ndarray, scores: np.ndarray, threshold: float, k: int) -> dict[str, float | int]:
    """F1 at the threshold, PR-AUC (average precision) and precision at the top k."""
    pred = scores >= threshold
    tp = int((pred & y).sum())
    precision = tp / max(int(pred.sum()), 1)
    recall = tp / max(int(y.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    order = np.argsort(-scores, kind="stable")
    hits = y[order].astype(np.int64)
    cum = np.cumsum(hits)
    ap = float((cum / np.arange(1, y.size + 1))[hits == 1].sum() / max(int(y.sum()), 1))
    k = min(k, y.size)
    return {
        "f1": round(f1, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "pr_auc": round(ap, 4),
        "precision_at_k": round(float(cum[k - 1] / k), 4) if k else 0.0,
        "k": k,
        "threshold": round(threshold, 4),
    }
