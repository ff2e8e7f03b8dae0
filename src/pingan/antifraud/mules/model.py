"""Mule classifier (涉诈账户识别): LightGBM over behaviour features, with neighbour-score propagation.

Round 0 scores accounts on their own behaviour. Each further round adds the amount-weighted mean and the
maximum of the previous round's scores over the account's payers and payees, so a card that trades with
likely mules scores higher; the same scores summed over the accounts two steps away and over the accounts
that traded with one of its counterparties on the same day reach ring members with no laundering transfer
of their own. On training data the previous round's scores are out-of-fold predictions:
an account's own label never leaks into its neighbours' features.

The decision threshold is the one that maximises F1 on out-of-fold predictions of the training data:
it is chosen without looking at any test label. A score is a lead for review, never a freeze (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Graph:
    """One sample: its transfers and the base features of its accounts (labels optional)."""

    transfers: pl.DataFrame
    features: pl.DataFrame  # account + feature columns
    labels: np.ndarray | None = None  # bool per row of `features`
    pairs: pl.DataFrame | None = None  # undirected counterparty pairs, for triangle features


def graph(
    transfers: pl.DataFrame,
    accounts: pl.Series | None = None,
    labels: pl.DataFrame | None = None,
    *,
    opened: pl.DataFrame | None = None,
    flagged: pl.DataFrame | None = None,
    features: pl.DataFrame | None = None,
) -> Graph:
    """Features of `accounts` (default: every account in the transfers), aligned with their labels.

    `opened` (account, opened) and `flagged` (account) as for `features.account_features`: without
    them, the account age at the first large credit and the credits from flagged payers are missing.
    `features`: those per-account features computed elsewhere (`spark_features.account_features`).
    """
    feats = account_features(transfers, opened, flagged) if features is None else features
    # Round zero of propagation needs no model: how much the counterparties themselves send in small
    # amounts (test transfers and split parcels are a mule ring's signature).
    small = feats.select(
        ACCOUNT,
        (pl.col("out_small_share").fill_null(0) + pl.col("in_small_share").fill_null(0)).alias("small"),
    )
    feats = feats.join(neighbour_means(transfers, small, "small"), on=ACCOUNT, how="left")
    # Structure: rings close triangles and pay each other back; triangles with small-amount traders.
    pairs = counterparty_pairs(transfers)
    feats = (
        feats.join(triangles(pairs), on=ACCOUNT, how="left")
        .join(triangles(pairs, small), on=ACCOUNT, how="left")
        .join(reciprocity(transfers), on=ACCOUNT, how="left")
        .with_columns(pl.col("triangles", "triangles_small", "reciprocal_counterparties").fill_null(0))
    )
    if labels is not None:
        base = labels.select(ACCOUNT, "is_mule")
    elif accounts is not None:
        base = pl.DataFrame({ACCOUNT: accounts.cast(pl.Int64)})
    else:
        base = feats.select(ACCOUNT)
    df = base.join(feats, on=ACCOUNT, how="left")
    y = df["is_mule"].to_numpy().astype(bool) if "is_mule" in df.columns else None
    return Graph(transfers, df.drop("is_mule", strict=False), y, pairs)


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
    col = f"score{r}"
    values = pl.DataFrame({ACCOUNT: g.features[ACCOUNT], col: scores})
    nb = neighbour_means(g.transfers, values, col)
    pairs = g.pairs if g.pairs is not None else counterparty_pairs(g.transfers)
    tri = triangles(pairs, values)
    return (
        nb.join(tri, on=ACCOUNT, how="left")
        .join(two_hop(pairs, values), on=ACCOUNT, how="left")
        .join(co_activity(g.transfers, values), on=ACCOUNT, how="left")
        .with_columns(pl.col(f"triangles_{col}").fill_null(0))
    )


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
