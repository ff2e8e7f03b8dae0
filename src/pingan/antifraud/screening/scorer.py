"""The learned scorer beside the screening rules (rule id `M-SCORE`): LightGBM over pair and payer features.

The rules (rules.toml) each look at one signature. On a district with legitimate collectors, large
legitimate transfers and victims who top up before paying, each signature alone is common in normal
life. The scorer weighs them together: every transfer with a payee is described by what the bank
hands over (the transactions, the accounts' holder, type, opening date and KYC occupation, the
holders' birth dates, the merchants' categories) and by the watchlist, and a LightGBM model trained
on the tuning seeds' districts (docs/evaluation.md) gives it a score.

How it sits beside the rules (`screen_with_scorer`):
- a transfer scored at or above the model's `threshold` is flagged with `M-SCORE:<score>` and its top
  reasons, `M-SCORE:<feature>=<value>:+<contribution>` (LightGBM `pred_contrib`), which the risk
  pages show in words (`pingan.antifraud.risk.reasons`);
- a rule's flag stands when the model scores its transfer at or above `rule_gate` (0: every rule
  flag stands). A transfer both fire on carries both reasons.
Without a model, screening is the rules alone.

The features never read `truth/`: training gets its labels from the caller (`pingan train-scorer`
reads them through `pingan.sim.truth`). Like the rules, the scorer flags no business payer and no
payer who is on the watchlist.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl

from pingan.antifraud.screening.engine import FLAG_SCHEMA, TS
from pingan.antifraud.screening.store import day_files
from pingan.core.errors import Invalid

SCORE_RULE = "M-SCORE"
FORMAT = "pingan-scorer/1"
US = 1_000_000
HOUR_US = 3600 * US
DAY_US = 24 * HOUR_US
BEIJING_OFFSET_US = 8 * HOUR_US
# Channel codes of the store (`pingan.sim.normal.CHANNELS`); another channel reads as -1.
CHANNEL_CODES = ("mobile_banking", "online_banking", "counter", "atm", "third_party", "qr", "pos")
MERCHANT_CODES = (
    "restaurant", "grocery", "convenience", "clothing", "pharmacy", "transport", "entertainment",
    "education", "hotpot", "tea_house", "employer", "utility", "otc_dealer", "lender",
)  # fmt: skip
# The KYC occupation categories a bank records (`pingan.sim.accounts.KYC_OCCUPATIONS`); another reads as -1.
KYC_CODES = ("student", "employed", "self_employed", "retired", "not_working", "enterprise")
LENDER = "lender"
ELDERLY_AGE = 60

# Every feature, in the model's column order. Each has a label in words (risk/reasons.py).
FEATURES: tuple[str, ...] = (
    "amount_yuan",
    "channel",
    "hour",
    "first_payment",
    "pair_payments_before",
    "pair_days",
    "payer_transfers_before",
    "amount_vs_payer_max",
    "amount_vs_payer_mean",
    "payer_new_payees_1h",
    "payer_new_payees_7d",
    "payee_new_payers_1d",
    "payee_new_payers_7d",
    "payee_payments_before",
    "payee_passed_on_7d",
    "payee_age_days",
    "payee_business",
    "payee_merchant",
    "payee_listed",
    "payee_listed_confidence",
    "payer_age",
    "elderly_night",
    "payer_kyc",
    "topup_24h_share",
    "own_topup_24h_share",
    "loan_72h_share",
    "round_amount",
    "same_bank",
)
# Passed on to the flags (FLAG_SCHEMA) and to the suppressions; not model inputs.
_CARRIED = ("tx_id", "ts", "payer_account", "payee_account", "payer_bank", "payee_bank", "amount_fen")

PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.08,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 63,
    "verbose": -1,
    # One thread and LightGBM's deterministic mode: the same seed gives the same model, byte for byte.
    "num_threads": 1,
    "deterministic": True,
    "force_col_wise": True,
}
ROUNDS = 200
SEED = 17
# Negatives are many (a victim's payment is about one transfer in a thousand): a seeded sample of
# them is trained on, each weighted by the inverse of the rate, so scores stay probabilities.
NEGATIVE_RATE = 0.1
TOP_REASONS = 3


@dataclass
class Scorer:
    """A trained scorer: the booster, its feature list, the thresholds and where they were chosen."""

    booster: lgb.Booster
    features: tuple[str, ...]
    threshold: float
    rule_gate: float = 0.0
    tuned_on: list[int] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)  # the tuning seeds' out-of-fold figures

    def save(self, path: Path) -> None:
        """Write the model, its features and thresholds as one JSON file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "format": FORMAT,
            "rule": SCORE_RULE,
            "features": list(self.features),
            "threshold": self.threshold,
            "rule_gate": self.rule_gate,
            "tuned_on": self.tuned_on,
            "figures": self.figures,
            "model": self.booster.model_to_string(),
        }
        path.write_text(json.dumps(doc, ensure_ascii=False, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Scorer:
        """A scorer saved by `save`; Invalid naming the file when it is not one."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise Invalid(f"{path}: not a scorer model ({exc})", field="scorer") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise Invalid(f"{path}: not a scorer model of format {FORMAT}", field="scorer")
        unknown = [f for f in doc["features"] if f not in FEATURES]
        if unknown:
            raise Invalid(f"{path}: features this version does not compute: {unknown}", field="scorer")
        return cls(
            booster=lgb.Booster(model_str=doc["model"]),
            features=tuple(doc["features"]),
            threshold=float(doc["threshold"]),
            rule_gate=float(doc.get("rule_gate", 0.0)),
            tuned_on=[int(s) for s in doc.get("tuned_on", [])],
            figures=doc.get("figures", {}),
        )


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------


def _transactions(store: Path, until: datetime | None) -> pl.DataFrame:
    files = [f for _, fs in day_files(store) for f in fs]
    if not files:
        raise Invalid(f"{store}: no transactions to score", field="store")
    cols = [*_CARRIED, "channel"]
    lf = (
        pl.scan_parquet(files)
        .select(cols)
        .with_columns(pl.col("channel", "payer_bank", "payee_bank").cast(pl.String))
    )
    if until is not None:
        lf = lf.filter(pl.col("ts") < until)
    return (
        lf.with_columns(pl.col("ts").cast(TS))
        .sort(["ts", "tx_id"])
        .with_columns(t=pl.col("ts").dt.epoch("us"))
        .collect()
    )


def _accounts(store: Path) -> pl.DataFrame:
    """account_id, holder, business, opened (days since the epoch), kyc (code), birth day, merchant code."""
    acc = pl.read_parquet(store / "accounts.parquet")
    have = set(acc.columns)
    out = acc.select(
        "account_id",
        holder=pl.col("holder_person_id"),
        business=(pl.col("holder_type").fill_null("personal") == "business")
        if "holder_type" in have
        else pl.lit(False),
        opened=pl.col("opened").cast(pl.Date).cast(pl.Int64) if "opened" in have else pl.lit(None, pl.Int64),
        kyc=pl.col("kyc_occupation")
        .cast(pl.String)
        .replace_strict(list(KYC_CODES), list(range(len(KYC_CODES))), default=-1, return_dtype=pl.Int64)
        if "kyc_occupation" in have
        else pl.lit(-1, pl.Int64),
    )
    persons_path = store / "persons.parquet"
    if persons_path.is_file():
        persons = pl.read_parquet(persons_path, columns=["person_id", "birth_date"]).select(
            holder="person_id", birth=pl.col("birth_date").cast(pl.Date).cast(pl.Int64)
        )
        out = out.join(persons, on="holder", how="left")
    else:
        out = out.with_columns(birth=pl.lit(None, pl.Int64))
    merchants_path = store / "merchants.parquet"
    if merchants_path.is_file():
        merchants = (
            pl.read_parquet(merchants_path, columns=["account_id", "category"])
            .unique("account_id", keep="first")
            .select(
                "account_id",
                merchant=pl.col("category").replace_strict(
                    list(MERCHANT_CODES), list(range(len(MERCHANT_CODES))), default=len(MERCHANT_CODES)
                ),
            )
        )
        out = out.join(merchants, on="account_id", how="left")
    else:
        out = out.with_columns(merchant=pl.lit(None, pl.Int64))
    return out.with_columns(pl.col("merchant").fill_null(-1).cast(pl.Int64))


def _window_sum(
    events: pl.DataFrame, queries: pl.DataFrame, window_us: int, *, include_now: bool
) -> pl.Series:
    """For each query (q, key, t): the sum of the events' `v` of the same key in (t - window, t]
    (in (t - window, t) without `include_now`). Events: key, t, v. Cumulative sums, two as-of joins."""
    ev = (
        events.sort("t")
        .with_columns(cum=pl.col("v").cum_sum().over("key"))
        .group_by("key", "t", maintain_order=True)
        .agg(pl.col("cum").last())
        .sort("t")
    )
    q = queries.sort("t")
    # Both sides are sorted by time just above; within a key, then, too.
    now = q.join_asof(
        ev, on="t", by="key", strategy="backward", allow_exact_matches=include_now, check_sortedness=False
    )
    lo = (
        q.with_columns(t=pl.col("t") - window_us)
        .sort("t")
        .join_asof(
            ev, on="t", by="key", strategy="backward", allow_exact_matches=True, check_sortedness=False
        )
    )
    got = now.select("q", hi=pl.col("cum").fill_null(0)).join(
        lo.select("q", lo=pl.col("cum").fill_null(0)), on="q"
    )
    return queries.select("q").join(got, on="q", how="left").select(pl.col("hi") - pl.col("lo")).to_series()


def transfer_features(
    store: Path,
    watchlist: pl.DataFrame,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """Every transfer with a payee in [since, until), with FEATURES and what a flag carries.

    The history before `since` is read for the features (first payment to a payee, a payer's usual
    amounts, a payee's new payers), never anything at or after a transfer's own time except the
    transfer itself. Also: `person_id`, `elderly`, `suppressed` (a business payer or a listed payer,
    whom no flag names), `at_risk_fen` (paid to the payee so far), `listed_typology`.
    """
    tx = _transactions(store, until)
    acc = _accounts(store)
    payer = acc.rename({c: f"payer_{c}" for c in acc.columns if c != "account_id"}).rename(
        {"account_id": "payer_account"}
    )
    payee = acc.rename({c: f"payee_{c}" for c in acc.columns if c != "account_id"}).rename(
        {"account_id": "payee_account"}
    )
    tx = tx.join(payer, on="payer_account", how="left").join(payee, on="payee_account", how="left")
    pair = ["payer_account", "payee_account"]
    tx = tx.with_columns(
        q=pl.int_range(pl.len(), dtype=pl.Int64),
        pair_payments_before=pl.int_range(pl.len()).over(pair),
        pair_first=pl.col("t").min().over(pair),
        at_risk_fen=pl.col("amount_fen").cum_sum().over(pair),
        payer_transfers_before=pl.int_range(pl.len()).over("payer_account"),
        payer_max=pl.col("amount_fen").shift(1).cum_max().over("payer_account"),
        payer_sum=(pl.col("amount_fen").cum_sum() - pl.col("amount_fen")).over("payer_account"),
        payee_payments_before=pl.int_range(pl.len()).over("payee_account"),
    ).with_columns(first_payment=(pl.col("pair_payments_before") == 0).cast(pl.Int64))

    has_payee = tx.filter(pl.col("payee_account").is_not_null())
    first = has_payee.filter(pl.col("first_payment") == 1)
    by_payer = tx.select("q", key="payer_account", t="t")
    by_payee = tx.select("q", key=pl.col("payee_account").fill_null(-1), t="t")
    new_payees = first.select(key="payer_account", t="t", v=pl.lit(1, pl.Int64))
    new_payers = first.select(key="payee_account", t="t", v=pl.lit(1, pl.Int64))
    inflow = has_payee.select(key="payee_account", t="t", v="amount_fen")
    outflow = tx.select(key="payer_account", t="t", v="amount_fen")
    own = has_payee.filter(pl.col("payer_holder") == pl.col("payee_holder")).select(
        key="payee_account", t="t", v="amount_fen"
    )
    loans = has_payee.filter(pl.col("payer_merchant") == MERCHANT_CODES.index(LENDER)).select(
        key="payee_account", t="t", v="amount_fen"
    )
    tx = tx.with_columns(
        payer_new_payees_1h=_window_sum(new_payees, by_payer, HOUR_US, include_now=True),
        payer_new_payees_7d=_window_sum(new_payees, by_payer, 7 * DAY_US, include_now=True),
        payee_new_payers_1d=_window_sum(new_payers, by_payee, DAY_US, include_now=True),
        payee_new_payers_7d=_window_sum(new_payers, by_payee, 7 * DAY_US, include_now=True),
        payee_in_7d=_window_sum(inflow, by_payee, 7 * DAY_US, include_now=False),
        payee_out_7d=_window_sum(outflow, by_payee, 7 * DAY_US, include_now=False),
        topup=_window_sum(inflow, by_payer, DAY_US, include_now=False),
        own_topup=_window_sum(own, by_payer, DAY_US, include_now=False),
        loan=_window_sum(loans, by_payer, 3 * DAY_US, include_now=False),
    )

    wl = (
        watchlist.sort("listed_from")
        .unique("account_id", keep="first", maintain_order=True)
        .select(
            payee_account="account_id",
            wl_from=pl.col("listed_from").cast(TS).dt.epoch("us"),
            wl_until=pl.col("expires_at").cast(TS).dt.epoch("us"),
            wl_confidence="confidence",
            listed_typology="typology",
        )
    )
    listed_at = (pl.col("wl_from") <= pl.col("t")) & (
        pl.col("wl_until").is_null() | (pl.col("t") < pl.col("wl_until"))
    )
    tx = tx.join(wl, on="payee_account", how="left").join(
        wl.select(payer_account="payee_account", p_from="wl_from", p_until="wl_until"),
        on="payer_account",
        how="left",
    )
    payer_listed = (pl.col("p_from") <= pl.col("t")) & (
        pl.col("p_until").is_null() | (pl.col("t") < pl.col("p_until"))
    )

    day = pl.col("t").floordiv(DAY_US)
    hour = (pl.col("t") + BEIJING_OFFSET_US).floordiv(HOUR_US) % 24
    amount = pl.col("amount_fen").cast(pl.Float64)
    age = ((day - pl.col("payer_birth")).cast(pl.Float64) / 365.2425).floor()
    out = tx.filter(pl.col("payee_account").is_not_null())
    if since is not None:
        out = out.filter(pl.col("ts") >= since)
    return out.select(
        *_CARRIED,
        person_id=pl.col("payer_holder"),
        elderly=(age >= ELDERLY_AGE).fill_null(False),
        suppressed=pl.col("payer_business").fill_null(False) | payer_listed.fill_null(False),
        at_risk_fen="at_risk_fen",
        listed_typology=pl.when(listed_at).then(pl.col("listed_typology")),
        amount_yuan=amount / 100,
        channel=pl.col("channel").replace_strict(
            list(CHANNEL_CODES), list(range(len(CHANNEL_CODES))), default=-1, return_dtype=pl.Int64
        ),
        hour=hour,
        first_payment="first_payment",
        pair_payments_before="pair_payments_before",
        pair_days=(pl.col("t") - pl.col("pair_first")).cast(pl.Float64) / DAY_US,
        payer_transfers_before="payer_transfers_before",
        amount_vs_payer_max=amount / pl.col("payer_max").cast(pl.Float64),
        amount_vs_payer_mean=amount
        / (pl.col("payer_sum").cast(pl.Float64) / pl.col("payer_transfers_before").cast(pl.Float64)),
        payer_new_payees_1h="payer_new_payees_1h",
        payer_new_payees_7d="payer_new_payees_7d",
        payee_new_payers_1d="payee_new_payers_1d",
        payee_new_payers_7d="payee_new_payers_7d",
        payee_payments_before="payee_payments_before",
        payee_passed_on_7d=pl.col("payee_out_7d").cast(pl.Float64) / pl.col("payee_in_7d").cast(pl.Float64),
        payee_age_days=(day - pl.col("payee_opened")).cast(pl.Float64),
        payee_business=pl.col("payee_business").cast(pl.Int64),
        payee_merchant="payee_merchant",
        payee_listed=listed_at.fill_null(False).cast(pl.Int64),
        payee_listed_confidence=pl.when(listed_at).then(pl.col("wl_confidence")).otherwise(0.0),
        payer_age=age,
        elderly_night=((age >= ELDERLY_AGE) & ((hour >= 23) | (hour < 6))).fill_null(False).cast(pl.Int64),
        payer_kyc="payer_kyc",
        topup_24h_share=pl.col("topup").cast(pl.Float64) / amount,
        own_topup_24h_share=pl.col("own_topup").cast(pl.Float64) / amount,
        loan_72h_share=pl.col("loan").cast(pl.Float64) / amount,
        round_amount=(pl.col("amount_fen") % 10_000 == 0).cast(pl.Int64),
        same_bank=(pl.col("payer_bank") == pl.col("payee_bank")).cast(pl.Int64),
    ).with_columns(pl.col(FEATURES).cast(pl.Float64).fill_nan(None))


def feature_matrix(frame: pl.DataFrame, features: Sequence[str] = FEATURES) -> npt.NDArray[np.float64]:
    """The model's input: the features in order, float64, missing as NaN."""
    return frame.select(pl.col(list(features)).cast(pl.Float64).fill_null(float("nan"))).to_numpy()


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def fit(
    frames: Sequence[pl.DataFrame], *, seed: int = SEED, features: Sequence[str] = FEATURES
) -> lgb.Booster:
    """A booster trained on labelled feature frames (a `label` column: 1 for a victim's payment).

    The same frames and seed give the same model: negatives are sampled with a generator of `seed`,
    and LightGBM runs deterministic on one thread.
    """
    rng = np.random.default_rng(seed)
    xs, ys, ws = [], [], []
    for f in frames:
        y = f["label"].to_numpy().astype(np.float64)
        keep = (y == 1) | (rng.random(y.size) < NEGATIVE_RATE)
        xs.append(feature_matrix(f.filter(pl.Series(keep)), features))
        ys.append(y[keep])
        ws.append(np.where(y[keep] == 1, 1.0, 1.0 / NEGATIVE_RATE))
    data = lgb.Dataset(
        np.vstack(xs),
        label=np.concatenate(ys),
        weight=np.concatenate(ws),
        feature_name=list(features),
        categorical_feature=[c for c in ("channel", "payee_merchant", "payer_kyc") if c in features],
        free_raw_data=True,
    )
    return lgb.train({**PARAMS, "seed": seed}, data, num_boost_round=ROUNDS)


def predict(
    booster: lgb.Booster, frame: pl.DataFrame, features: Sequence[str] = FEATURES
) -> npt.NDArray[np.float64]:
    """Each row's score, 0..1."""
    if frame.height == 0:
        return np.zeros(0)
    return np.asarray(booster.predict(feature_matrix(frame, features)), dtype=np.float64)


@dataclass(frozen=True)
class Choice:
    """A pair of thresholds and the tuning figures they gave out of fold."""

    threshold: float
    rule_gate: float
    flagged_before_second_payment: float
    precision: float


def choose_thresholds(
    evaluate: Callable[[float, float], tuple[float, float]],
    candidates: Sequence[float],
    *,
    target_precision: float = 0.5,
) -> Choice:
    """The (threshold, rule_gate) with the most victims flagged before their second payment among those
    whose precision reaches `target_precision`; where none does, the best sum of the two.

    `evaluate(threshold, rule_gate)` gives (flagged before second payment, precision) pooled over the
    tuning seeds, out of fold. A gate of 0 keeps every rule flag; a gate of 1 keeps none that the
    scorer does not also flag.
    """
    gates = [0.0, *candidates, 1.0]
    tried = [
        Choice(t, g, *evaluate(t, g)) for t in candidates for g in gates if g == 0.0 or g == 1.0 or g <= t
    ]
    ok = [c for c in tried if c.precision >= target_precision]
    if ok:
        return max(ok, key=lambda c: (c.flagged_before_second_payment, c.precision))
    return max(tried, key=lambda c: c.flagged_before_second_payment + c.precision)


# ---------------------------------------------------------------------------------------------
# Scoring, beside the rules
# ---------------------------------------------------------------------------------------------


def reasons_of(
    booster: lgb.Booster, frame: pl.DataFrame, features: Sequence[str], top: int = TOP_REASONS
) -> list[list[str]]:
    """Per row, the features that raised its score most, as `M-SCORE:<feature>=<value>:+<contribution>`
    (LightGBM's SHAP contributions, in log-odds; only those above 0)."""
    if frame.height == 0:
        return []
    x = feature_matrix(frame, features)
    contrib = np.asarray(booster.predict(x, pred_contrib=True))[:, :-1]
    out = []
    for row in range(x.shape[0]):
        c = contrib[row]
        best = np.argsort(-c, kind="stable")[:top]
        out.append([f"{SCORE_RULE}:{features[i]}={_value(x[row, i])}:+{c[i]:.2f}" for i in best if c[i] > 0])
    return out


def _value(v: float) -> str:
    return "" if np.isnan(v) else f"{v:.6g}"


def score_store(
    store: Path,
    model: Scorer,
    *,
    watchlist: pl.DataFrame,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """Every transfer of [since, until) that no suppression spares, with its `score` and what a flag carries."""
    frame = transfer_features(store, watchlist, since=since, until=until).filter(~pl.col("suppressed"))
    return frame.with_columns(score=pl.Series(predict(model.booster, frame, model.features)))


def screen_with_scorer(
    store: Path,
    model: Scorer | None,
    rule_flags: pl.DataFrame,
    *,
    watchlist: pl.DataFrame,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """The hook beside the rules: the rules' flags (FLAG_SCHEMA) with the scorer's, as flags.

    Without a model, the rules' flags as they are.
    """
    if model is None:
        return rule_flags
    return combine(
        rule_flags, score_store(store, model, watchlist=watchlist, since=since, until=until), model
    )


def combine(rule_flags: pl.DataFrame, scored: pl.DataFrame, model: Scorer) -> pl.DataFrame:
    """Flags of the rules and the scorer together (FLAG_SCHEMA, one row per transfer, in time order).

    A rule flag stands when its transfer scores at least `model.rule_gate` (one the scorer did not
    score stands: the scorer has nothing to say of it). A scored transfer at or above
    `model.threshold` is flagged `M-SCORE` with its top reasons.
    """
    return combined_flags(
        rule_flags,
        scored,
        threshold=model.threshold,
        rule_gate=model.rule_gate,
        explain=lambda hits: reasons_of(model.booster, hits, model.features),
    )


def combined_flags(
    rule_flags: pl.DataFrame,
    scored: pl.DataFrame,
    *,
    threshold: float,
    rule_gate: float,
    explain: Callable[[pl.DataFrame], list[list[str]]] | None = None,
) -> pl.DataFrame:
    """`combine` with the thresholds given; `explain` gives the scored flags' reasons (none without it:
    what the choice of thresholds evaluates, where only which transfers are flagged counts)."""
    scores = scored.select("tx_id", "score")
    kept = rule_flags.join(scores, on="tx_id", how="left").filter(pl.col("score").fill_null(1.0) >= rule_gate)
    hits = scored.filter(pl.col("score") >= threshold)
    reasons = explain(hits) if explain is not None else [[] for _ in range(hits.height)]
    own = hits.select(
        *(c for c in FLAG_SCHEMA if c not in ("reasons", "typology_guess", "amount_at_risk_fen")),
        reasons=pl.Series(
            [[f"{SCORE_RULE}:{s:.3f}", *r] for s, r in zip(hits["score"].to_list(), reasons, strict=True)],
            dtype=pl.List(pl.String),
        ),
        typology_guess=pl.col("listed_typology"),
        amount_at_risk_fen=pl.col("at_risk_fen"),
    ).cast(FLAG_SCHEMA)  # type: ignore[arg-type]
    both = own.join(
        kept.select("tx_id", rule_reasons="reasons", rule_guess="typology_guess"), on="tx_id", how="left"
    )
    own = both.with_columns(
        reasons=pl.concat_list(pl.col("rule_reasons").fill_null(pl.lit([], pl.List(pl.String))), "reasons"),
        typology_guess=pl.coalesce("rule_guess", "typology_guess"),
    ).select(list(FLAG_SCHEMA))
    rules_only = kept.join(own.select("tx_id"), on="tx_id", how="anti").select(list(FLAG_SCHEMA))
    return pl.concat([rules_only, own]).sort(["ts", "tx_id"])
