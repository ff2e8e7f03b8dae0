"""The vectorised screening engine: one function, `screen_batch`, used by the batch and the streaming engine.

A batch of transactions is screened against the rule set, the watchlist and the state carried over
from earlier batches (payer→payee pairs seen, and the recent first-time transfers that the windowed
rules look back over). The result does not depend on how the transactions are cut into batches, as
long as each batch follows the previous one in time: that is what makes the two engines agree.

Pure: no I/O. The clock is the transactions' own time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pingan.antifraud.screening.ruleset import (
    BurstRule,
    ElderlyNightRule,
    EscalatingRule,
    FirstLargeRule,
    MulePayeeRule,
    RuleSet,
    WatchlistRule,
)

US = 1_000_000
TS = pl.Datetime("us", "UTC")
TX_SCHEMA: dict[str, pl.DataType] = {
    "tx_id": pl.Int64(),
    "ts": TS,
    "payer_account": pl.Int64(),
    "payee_account": pl.Int64(),
    "amount_fen": pl.Int64(),
    "channel": pl.String(),
    "payer_bank": pl.String(),
    "payee_bank": pl.String(),
}
PAIR = ["payer_account", "payee_account"]
PAIRS_SCHEMA: dict[str, pl.DataType] = {
    "payer_account": pl.Int64(),
    "payee_account": pl.Int64(),
    "first_ts": TS,
    "n": pl.Int64(),
    "last_amount": pl.Int64(),
    "total_fen": pl.Int64(),
}
RECENT_SCHEMA: dict[str, pl.DataType] = {
    "payer_account": pl.Int64(),
    "payee_account": pl.Int64(),
    "ts": TS,
    "tx_id": pl.Int64(),
    "amount_fen": pl.Int64(),
}
INFLOW_SCHEMA: dict[str, pl.DataType] = {
    "account": pl.Int64(),
    "ts": TS,
    "amount_fen": pl.Int64(),
}
WATCHLIST_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    "listed_from": TS,
    "expires_at": TS,
    "source": pl.String(),
    "confidence": pl.Float64(),
    "typology": pl.String(),
}
REFERENCE_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    "person_id": pl.Int64(),
    "birth_date": pl.Date(),
    "business": pl.Boolean(),
}
FLAG_SCHEMA: dict[str, pl.DataType] = {
    "tx_id": pl.Int64(),
    "ts": TS,
    "payer_account": pl.Int64(),
    "payee_account": pl.Int64(),
    "payer_bank": pl.String(),
    "payee_bank": pl.String(),
    "amount_fen": pl.Int64(),
    "person_id": pl.Int64(),
    "elderly": pl.Boolean(),
    "reasons": pl.List(pl.String()),
    "typology_guess": pl.String(),
    "amount_at_risk_fen": pl.Int64(),
}
BEIJING_OFFSET = "8h"
# Typology guesses from the pattern alone, for when no watchlist entry names one. A guess, labelled so.
GUESS_BY_RULE = {
    "elderly_night": "冒充公检法",
    "escalating_new_payee": "虚假投资理财",
    "new_payee_burst": "刷单返利",
    "first_large_transfer": "冒充电商物流客服",
    "payee_many_new_payers": "刷单返利",
}


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with `schema`."""
    return pl.DataFrame(schema=schema)


@dataclass
class ScreenState:
    """What screening remembers between batches."""

    pairs: pl.DataFrame = field(default_factory=lambda: empty(PAIRS_SCHEMA))
    recent: pl.DataFrame = field(default_factory=lambda: empty(RECENT_SCHEMA))
    inflows: pl.DataFrame = field(default_factory=lambda: empty(INFLOW_SCHEMA))
    high_water: datetime | None = None

    def save(self, directory: Path) -> None:
        """Write the state as Parquet files under `directory` (the caller makes the swap atomic)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.pairs.write_parquet(directory / "pairs.parquet")
        self.recent.write_parquet(directory / "recent.parquet")
        self.inflows.write_parquet(directory / "inflows.parquet")

    @classmethod
    def load(cls, directory: Path, high_water: datetime | None) -> ScreenState:
        """Read a state written by `save`."""
        return cls(
            pl.read_parquet(directory / "pairs.parquet").cast(PAIRS_SCHEMA),  # type: ignore[arg-type]
            pl.read_parquet(directory / "recent.parquet").cast(RECENT_SCHEMA),  # type: ignore[arg-type]
            pl.read_parquet(directory / "inflows.parquet").cast(INFLOW_SCHEMA),  # type: ignore[arg-type]
            high_water,
        )


def lookback(rules: RuleSet) -> int:
    """The longest window, in microseconds, that a windowed rule looks back over."""
    spans = [r.params.window_minutes * 60 * US for r in rules.rule if isinstance(r, BurstRule)]
    spans += [r.params.window_days * 86_400 * US for r in rules.rule if isinstance(r, MulePayeeRule)]
    return max(spans, default=0)


def count_in_window(key: np.ndarray, ts: np.ndarray, window_us: int) -> np.ndarray:
    """For each row, how many rows share its key with a time in (ts - window, ts]; vectorised."""
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, rank = np.unique(key, return_inverse=True)
    t0 = int(ts.min())
    span = int(ts.max()) - t0 + window_us + 1
    if (uniq.size + 1) * span >= 2**62:
        raise OverflowError("batch too long for the windowed count; screen it in shorter batches")
    comp = rank.astype(np.int64) * span + (ts - t0) + window_us
    order = np.argsort(comp, kind="stable")
    sorted_comp = comp[order]
    upper = np.searchsorted(sorted_comp, comp, side="right")
    lower = np.searchsorted(sorted_comp, comp - window_us, side="right")
    return np.asarray(upper - lower, dtype=np.int64)


def sum_before(
    ev_key: np.ndarray,
    ev_ts: np.ndarray,
    ev_amount: np.ndarray,
    q_key: np.ndarray,
    q_ts: np.ndarray,
    window_us: int,
) -> np.ndarray:
    """For each query, the sum of event amounts with its key and a time in [q_ts - window, q_ts)."""
    if q_key.size == 0 or ev_key.size == 0:
        return np.zeros(q_key.size, dtype=np.int64)
    uniq, rank = np.unique(np.concatenate([ev_key, q_key]), return_inverse=True)
    t0 = int(min(ev_ts.min(), q_ts.min())) - window_us
    span = int(max(ev_ts.max(), q_ts.max())) - t0 + 1
    if (uniq.size + 1) * span >= 2**62:
        raise OverflowError("batch too long for the windowed sum; screen it in shorter batches")
    comp = rank.astype(np.int64) * span + (np.concatenate([ev_ts, q_ts]) - t0)
    ev_comp, q_comp = comp[: ev_key.size], comp[ev_key.size :]
    order = np.argsort(ev_comp, kind="stable")
    sorted_comp = ev_comp[order]
    csum = np.concatenate([[0], np.cumsum(ev_amount[order])])
    hi = np.searchsorted(sorted_comp, q_comp, side="left")
    lo = np.searchsorted(sorted_comp, q_comp - window_us, side="left")
    return np.asarray(csum[hi] - csum[lo], dtype=np.int64)


def _windowed(
    recent: pl.DataFrame, new_rows: pl.DataFrame, key: str, window_us: int, min_amount: int
) -> pl.DataFrame:
    """Counts, per new-pair row of this batch, of new-pair rows with the same `key` in the window."""
    ctx = pl.concat([recent.with_columns(_ctx=pl.lit(True)), new_rows.with_columns(_ctx=pl.lit(False))])
    ctx = ctx.filter(pl.col("amount_fen") >= min_amount)
    counts = count_in_window(ctx[key].to_numpy(), ctx["ts"].dt.epoch("us").to_numpy(), window_us)
    return ctx.with_columns(_n=pl.Series(counts)).filter(~pl.col("_ctx")).select("tx_id", "_n")


def screen_batch(
    tx: pl.DataFrame,
    state: ScreenState,
    rules: RuleSet,
    watchlist: pl.DataFrame,
    reference: pl.DataFrame,
) -> tuple[pl.DataFrame, ScreenState]:
    """Screen one batch that follows `state` in time; return the flags (FLAG_SCHEMA) and the new state.

    Flags carry their reasons as rule ids (the watchlist hit with its source). A payer who is on the
    watchlist is not flagged as a victim: money leaving a listed account is layering, not a victim's loss.
    """
    t = (
        tx.filter(pl.col("channel").is_in(list(rules.channels)) & (pl.col("payee_account") >= 0))
        .select(list(TX_SCHEMA))
        .sort(["ts", "tx_id"])
    )
    if t.is_empty():
        return empty(FLAG_SCHEMA), state
    t = (
        t.join(state.pairs, on=PAIR, how="left", maintain_order="left")
        .with_columns(
            _k=pl.int_range(pl.len()).over(PAIR),
            _prev=pl.col("amount_fen").shift(1).over(PAIR),
            _first_in_batch=pl.col("ts").first().over(PAIR),
            _cum=pl.col("amount_fen").cum_sum().over(PAIR),
        )
        .with_columns(
            n_before=pl.col("n").fill_null(0) + pl.col("_k"),
            prev_amount=pl.coalesce("_prev", "last_amount"),
            pair_first_ts=pl.coalesce("first_ts", "_first_in_batch"),
            amount_at_risk_fen=pl.col("total_fen").fill_null(0) + pl.col("_cum"),
        )
        .with_columns(new_pair=pl.col("n_before") == 0)
    )
    new_rows = t.filter(pl.col("new_pair")).select(list(RECENT_SCHEMA))

    # Who pays, and how old they are: the bank's own knowledge of its account holders.
    t = t.join(
        reference.rename({"account_id": "payer_account"}),
        on="payer_account",
        how="left",
        maintain_order="left",
    )
    age = (pl.col("ts").dt.date() - pl.col("birth_date")).dt.total_days() // 365.2425
    local_hour = pl.col("ts").dt.offset_by(BEIJING_OFFSET).dt.hour()

    wl = watchlist.select(list(WATCHLIST_SCHEMA))
    t = t.join(
        wl.rename({"account_id": "payee_account", "typology": "wl_typology", "source": "wl_source"}).select(
            "payee_account", "listed_from", "expires_at", "wl_source", "confidence", "wl_typology"
        ),
        on="payee_account",
        how="left",
        maintain_order="left",
    )
    listed_now = (pl.col("listed_from") <= pl.col("ts")) & (
        pl.col("expires_at").is_null() | (pl.col("ts") < pl.col("expires_at"))
    )
    payer_listed = t.join(
        wl.select(pl.col("account_id").alias("payer_account"), pl.col("listed_from").alias("_pl_from"),
                  pl.col("expires_at").alias("_pl_exp")),
        on="payer_account", how="left", maintain_order="left",
    ).select(
        (pl.col("_pl_from") <= pl.col("ts")) & (pl.col("_pl_exp").is_null() | (pl.col("ts") < pl.col("_pl_exp")))
    ).to_series().fill_null(False)  # fmt: skip
    t = t.with_columns(_payer_listed=payer_listed)

    sup = rules.suppress
    batch_inflows = t.select(account="payee_account", ts="ts", amount_fen="amount_fen")
    inflows = pl.concat([state.inflows, batch_inflows])
    received = sum_before(
        inflows["account"].to_numpy(),
        inflows["ts"].dt.epoch("us").to_numpy(),
        inflows["amount_fen"].to_numpy(),
        t["payer_account"].to_numpy(),
        t["ts"].dt.epoch("us").to_numpy(),
        sup.pass_through_hours * 3600 * US,
    )
    t = t.with_columns(
        _pass_through=pl.Series(received) >= pl.col("amount_fen") * sup.pass_through_share,
        _business=pl.col("business").fill_null(False) & pl.lit(sup.business_payers),
    )

    hits: list[pl.Expr] = []
    guesses: list[tuple[pl.Expr, str]] = []
    for r in rules.rule:
        cond: pl.Expr
        if isinstance(r, WatchlistRule):
            cond = (
                listed_now
                & (pl.col("confidence") >= r.params.min_confidence)
                & (pl.col("amount_fen") >= r.params.min_amount_fen)
            )
            hits.append(pl.when(cond.fill_null(False)).then(pl.lit(f"{r.id}:") + pl.col("wl_source")))
            continue
        if isinstance(r, FirstLargeRule):
            cond = pl.col("new_pair") & (pl.col("amount_fen") >= r.params.min_amount_fen)
        elif isinstance(r, EscalatingRule):
            cond = (
                (pl.col("n_before") >= r.params.min_count - 1)
                & (pl.col("ts") - pl.col("pair_first_ts") <= pl.duration(days=r.params.new_payee_days))
                & (pl.col("amount_fen") >= r.params.min_amount_fen)
                & (pl.col("amount_fen") >= pl.col("prev_amount") * r.params.growth)
            )
        elif isinstance(r, BurstRule):
            counts = _windowed(
                state.recent,
                new_rows,
                "payer_account",
                r.params.window_minutes * 60 * US,
                r.params.min_amount_fen,
            ).rename({"_n": f"_n_{r.id}"})
            t = t.join(counts, on="tx_id", how="left", maintain_order="left")
            cond = pl.col(f"_n_{r.id}").fill_null(0) >= r.params.min_count
        elif isinstance(r, ElderlyNightRule):
            night = (
                (local_hour >= r.params.start_hour) | (local_hour < r.params.end_hour)
                if r.params.start_hour > r.params.end_hour
                else (local_hour >= r.params.start_hour) & (local_hour < r.params.end_hour)
            )
            cond = (age >= r.params.min_age) & night & (pl.col("amount_fen") >= r.params.min_amount_fen)
        elif isinstance(r, MulePayeeRule):
            counts = _windowed(
                state.recent,
                new_rows,
                "payee_account",
                r.params.window_days * 86_400 * US,
                r.params.min_amount_fen,
            ).rename({"_n": f"_n_{r.id}"})
            t = t.join(counts, on="tx_id", how="left", maintain_order="left")
            n_payers = pl.col(f"_n_{r.id}").fill_null(0)
            # Billers and employers are paid by hundreds of new payers; a collecting card by a handful.
            cond = (n_payers >= r.params.min_payers) & (n_payers <= r.params.max_payers)
        else:  # pragma: no cover - the rule set's union admits no other kind
            raise ValueError(r.kind)
        cond = cond.fill_null(False)
        hits.append(pl.when(cond).then(pl.lit(r.id)))
        guesses.append((cond, GUESS_BY_RULE[r.kind]))

    guess: pl.Expr = pl.lit(None, dtype=pl.String())
    for cond, name in reversed(guesses):
        guess = pl.when(cond).then(pl.lit(name)).otherwise(guess)
    min_age = min((r.params.min_age for r in rules.rule if isinstance(r, ElderlyNightRule)), default=60)
    flags = (
        t.with_columns(
            reasons=pl.concat_list(hits).list.drop_nulls(),
            elderly=(age >= min_age).fill_null(False),
            typology_guess=pl.coalesce(pl.when(listed_now).then(pl.col("wl_typology")), guess),
        )
        .filter(
            (pl.col("reasons").list.len() > 0)
            & ~pl.col("_payer_listed")
            & ~pl.col("_pass_through")
            & ~pl.col("_business")
        )
        .select(list(FLAG_SCHEMA))
        .cast(FLAG_SCHEMA)  # type: ignore[arg-type]
    )
    return flags, _advance(state, t, new_rows, batch_inflows, rules)


def _advance(
    state: ScreenState, t: pl.DataFrame, new_rows: pl.DataFrame, batch_inflows: pl.DataFrame, rules: RuleSet
) -> ScreenState:
    batch_pairs = t.group_by(PAIR, maintain_order=True).agg(
        first_ts=pl.col("ts").min(),
        n=pl.len().cast(pl.Int64),
        last_amount=pl.col("amount_fen").last(),
        total_fen=pl.col("amount_fen").sum(),
    )
    updated = batch_pairs.join(state.pairs, on=PAIR, how="left", suffix="_old").select(
        *PAIR,
        first_ts=pl.coalesce("first_ts_old", "first_ts"),
        n=pl.col("n") + pl.col("n_old").fill_null(0),
        last_amount=pl.col("last_amount"),
        total_fen=pl.col("total_fen") + pl.col("total_fen_old").fill_null(0),
    )
    pairs = pl.concat([state.pairs.join(batch_pairs.select(PAIR), on=PAIR, how="anti"), updated])
    high = t["ts"].max()
    assert isinstance(high, datetime)
    if state.high_water is not None and state.high_water > high:
        high = state.high_water
    keep_from = high - timedelta(microseconds=lookback(rules))
    recent = pl.concat([state.recent, new_rows]).filter(pl.col("ts") > keep_from)
    inflow_from = high - timedelta(hours=rules.suppress.pass_through_hours)
    inflows = pl.concat([state.inflows, batch_inflows]).filter(pl.col("ts") >= inflow_from)
    return ScreenState(
        pairs.cast(PAIRS_SCHEMA),  # type: ignore[arg-type]
        recent.cast(RECENT_SCHEMA),  # type: ignore[arg-type]
        inflows.cast(INFLOW_SCHEMA),  # type: ignore[arg-type]
        high,
    )
