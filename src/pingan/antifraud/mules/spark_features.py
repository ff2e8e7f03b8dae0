"""The per-account mule features on Spark: `pingan mules train --engine spark` and `score --engine spark`.

`features.account_features` reads every transfer of the store once per account side, which is what
outgrows one machine at a city's volume. This module computes the same columns with Spark SQL, step for
step, so that the transfers are shuffled by account on a cluster and only one row per account comes
back; `tests/antifraud/mules/test_spark_features.py` proves it column for column on a generated
district. The graph features of the model (`neighbour_means`, `triangles`, the propagation rounds of
`model.py`) are computed on the same session by `spark_graph.py`, on this module's frame before it
comes back.

Where the two could differ, the Polars semantics are kept on purpose:

- "small" and "large" are the 5 % and 95 % quantiles of the amounts by the nearest rank, as Polars'
  `quantile` computes them (rank `(n - 1) * q`, halves rounded away from zero): taken from the amounts'
  histogram (one row per distinct amount), exact at any volume;
- a standard deviation is the sample one, 0 for a single transfer;
- the night hours and the opening age are read in Beijing time, days in UTC;
- a debit's latest credit before it includes a credit at the same instant;
- a count comes back UInt32, as Polars' `len` and `n_unique` give it; every other column is Float64.
"""

# The statements hold only numbers computed here and fixed column names: nothing a user types.
# ruff: noqa: S608
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from pingan.antifraud.mules.features import _NIGHT_HOURS, _REPEAT_COLUMNS, _ROUND_FEN, AGE_AT_FIRST_LARGE
from pingan.antifraud.mules.features import FLAGGED_INFLOW as _FLAGGED

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_DAY_US = 86_400 * 1_000_000


def nearest_rank(histogram: list[tuple[int, int]], q: float) -> float:
    """The `q` quantile by the nearest rank (Polars' default) of values given as sorted (value, count)."""
    n = sum(c for _, c in histogram)
    x = (n - 1) * q
    rank = int(x) + (1 if x - int(x) >= 0.5 else 0)  # halves away from zero, as Rust's f64::round
    seen = 0
    for value, count in histogram:
        seen += count
        if rank < seen:
            return float(value)
    raise ValueError("empty histogram")


def _side(me: str, other: str, p: str, small: float, large: float) -> str:
    return f"""SELECT {me} AS account, count(*) AS {p}_n, CAST(sum(amount_fen) AS DOUBLE) AS {p}_sum,
      avg(amount_fen) AS {p}_mean, coalesce(stddev_samp(amount_fen), 0D) AS {p}_std,
      CAST(min(amount_fen) AS DOUBLE) AS {p}_min, CAST(max(amount_fen) AS DOUBLE) AS {p}_max,
      count(DISTINCT {other}) AS {p}_distinct,
      avg(IF(amount_fen < {small!r}, 1D, 0D)) AS {p}_small_share,
      avg(IF(amount_fen >= {large!r}, 1D, 0D)) AS {p}_large_share,
      avg(IF(amount_fen % {_ROUND_FEN} = 0, 1D, 0D)) AS {p}_round_share,
      avg(IF(night, 1D, 0D)) AS {p}_night_share, count(DISTINCT d) AS {p}_days,
      min(ts_us) AS {p}_first, max(ts_us) AS {p}_last,
      min(IF(amount_fen >= {large!r}, ts_us, NULL)) AS {p}_first_large
    FROM t GROUP BY {me}"""


def account_features(
    spark: SparkSession,
    transfers: DataFrame,
    opened: pl.DataFrame | None = None,
    flagged: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`features.account_features` of the Spark frame `transfers` (payer, payee, amount_fen, ts), as a
    Polars frame of one row per account, the same columns in the same order and of the same types."""
    return to_polars(account_feature_frame(spark, transfers, opened, flagged).orderBy("account"))


def to_polars(df: DataFrame) -> pl.DataFrame:
    """A Spark frame of per-account rows on the driver, typed as Polars types them: every integer
    column but `account` is a count, and Polars counts (`len`, `n_unique`, a sum of flags) are UInt32."""
    out = pl.from_arrow(df.toArrow())
    assert isinstance(out, pl.DataFrame)
    counts = [c for c, t in out.schema.items() if c != "account" and t.is_integer()]
    return out.with_columns(pl.col(counts).cast(pl.UInt32))


def account_feature_frame(
    spark: SparkSession,
    transfers: DataFrame,
    opened: pl.DataFrame | None = None,
    flagged: pl.DataFrame | None = None,
) -> DataFrame:
    """`account_features` as a Spark frame (in no order), for the graph features to join on Spark."""
    night = ", ".join(map(str, _NIGHT_HOURS))
    transfers.createOrReplaceTempView("mule_src")
    spark.sql(
        f"""SELECT payer, payee, amount_fen, unix_micros(ts) AS ts_us, to_date(ts) AS d,
        hour(from_utc_timestamp(ts, 'Asia/Shanghai')) IN ({night}) AS night
        FROM mule_src WHERE payee >= 0"""
    ).createOrReplaceTempView("t")
    histogram = [
        (int(r[0]), int(r[1]))
        for r in spark.sql(
            "SELECT amount_fen, count(*) FROM t GROUP BY amount_fen ORDER BY amount_fen"
        ).collect()
    ]
    small, large = nearest_rank(histogram, 0.05), nearest_rank(histogram, 0.95)
    spark.sql(
        f"""SELECT * FROM ({_side("payer", "payee", "out", small, large)})
        FULL JOIN ({_side("payee", "payer", "in", small, large)}) USING (account)"""
    ).fillna(
        0, subset=[f"{s}_{c}" for s in ("out", "in") for c in ("n", "sum", "distinct", "days")]
    ).createOrReplaceTempView("sides")
    span = f"coalesce((greatest(out_last, in_last) - least(out_first, in_first)) / {_DAY_US}D, 0D) + 1D"
    spark.sql(
        f"""SELECT *, in_distinct AS fan_in, out_distinct AS fan_out,
          (out_distinct + 1) / (in_distinct + 1) AS counterparties_ratio,
          out_sum / (in_sum + 1) AS pass_through,
          (in_sum - out_sum) / (in_sum + out_sum + 1) AS net_kept,
          (in_n + out_n) / ({span}) AS velocity,
          greatest(in_days, out_days) AS active_days,
          {span} AS span_days,
          (in_first_large - least(out_first, in_first)) / {_DAY_US}D AS days_to_first_large_inflow,
          (out_first - in_first) / {_DAY_US}D AS first_out_after_in_days
        FROM sides"""
    ).createOrReplaceTempView("base")
    # Dwell: each debit's latest credit at or before it (a credit at the same instant sorts first).
    spark.sql(
        """SELECT account, percentile(hours, 0.5) AS dwell_hours_median, min(hours) AS dwell_hours_min,
          avg(IF(credit_ts IS NOT NULL, 1D, 0D)) AS debits_after_credit_share
        FROM (SELECT account, (ts_us - credit_ts) / 3.6e9D AS hours, credit_ts FROM (
          SELECT account, ts_us, debit, last(IF(debit, NULL, ts_us), true) OVER (PARTITION BY account
                 ORDER BY ts_us, debit ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS credit_ts
          FROM (SELECT payee AS account, ts_us, false AS debit FROM t
                UNION ALL SELECT payer AS account, ts_us, true AS debit FROM t))
        WHERE debit) GROUP BY account"""
    ).createOrReplaceTempView("dwell")
    spark.sql(
        """SELECT account, max(n) AS max_per_day FROM (
          SELECT account, d, count(*) AS n FROM (SELECT payer AS account, d FROM t
                                                UNION ALL SELECT payee AS account, d FROM t)
          GROUP BY account, d) GROUP BY account"""
    ).createOrReplaceTempView("busiest")
    spark.sql("SELECT payer, payee, count(*) AS n FROM t GROUP BY payer, payee").createOrReplaceTempView(
        "pair"
    )
    spark.sql(
        "SELECT payer, d, count(*) AS k FROM t GROUP BY payer, d HAVING count(*) >= 2"
    ).createOrReplaceTempView("burst")
    spark.sql(
        """SELECT * FROM
          (SELECT payer AS account, sum(n - 1) AS out_repeat, max(n) AS out_max_to_one FROM pair GROUP BY payer)
          FULL JOIN (SELECT payee AS account, sum(n - 1) AS in_repeat, max(n) AS in_max_from_one
                     FROM pair GROUP BY payee) USING (account)
          FULL JOIN (SELECT payer AS account, sum(k) AS out_burst FROM burst GROUP BY payer) USING (account)
          FULL JOIN (SELECT t.payee AS account, count(*) AS in_from_burst FROM t
                     LEFT SEMI JOIN burst b ON b.payer = t.payer AND b.d = t.d GROUP BY t.payee) USING (account)"""
    ).createOrReplaceTempView("repeats")
    df = spark.sql(
        """SELECT * FROM base LEFT JOIN dwell USING (account) LEFT JOIN busiest USING (account)
        LEFT JOIN repeats USING (account)"""
    ).fillna(0, subset=list(_REPEAT_COLUMNS))
    if opened is not None:
        spark.createDataFrame(
            opened.select(pl.col("account").cast(pl.Int64), pl.col("opened").cast(pl.Date)).rows(),
            "account long, opened date",
        ).createOrReplaceTempView("opened")
        df.createOrReplaceTempView("f")
        df = spark.sql(
            f"""SELECT f.*, CAST(datediff(to_date(from_utc_timestamp(timestamp_micros(f.in_first_large),
                'Asia/Shanghai')), o.opened) AS DOUBLE) AS {AGE_AT_FIRST_LARGE}
            FROM f LEFT JOIN opened o USING (account)"""
        )
    else:
        df.createOrReplaceTempView("f")
        df = spark.sql(f"SELECT *, CAST(NULL AS DOUBLE) AS {AGE_AT_FIRST_LARGE} FROM f")
    df.createOrReplaceTempView("f")
    if flagged is not None:
        spark.createDataFrame(
            flagged.select(pl.col("account").cast(pl.Int64)).unique().rows(), "payer long"
        ).createOrReplaceTempView("flagged")
        df = spark.sql(
            f"""SELECT f.*, {", ".join(f"CAST(coalesce(x.{c}, 0) AS DOUBLE) AS {c}" for c in _FLAGGED)}
            FROM f LEFT JOIN (SELECT payee AS account, count(*) AS {_FLAGGED[0]}, sum(amount_fen) AS {_FLAGGED[1]},
                                     count(DISTINCT t.payer) AS {_FLAGGED[2]}
                              FROM t LEFT SEMI JOIN flagged USING (payer) GROUP BY payee) x USING (account)"""
        )
    else:
        df = spark.sql(f"SELECT *, {', '.join(f'CAST(NULL AS DOUBLE) AS {c}' for c in _FLAGGED)} FROM f")
    return df.select(*COLUMNS)


def store_features(
    store: str,
    *,
    start: date | None = None,
    end: date | None = None,
    opened: pl.DataFrame | None = None,
    flagged: pl.DataFrame | None = None,
    master: str | None = None,
) -> pl.DataFrame:
    """The per-account features of the store's transfers of the days in [start, end), computed by Spark
    (`master` as `pingan screen --engine spark` takes it); the store is checked as that job checks it."""
    from pingan.antifraud.screening import spark_job

    spark = spark_job.session(master)
    return account_features(spark, store_transfers(spark, store, start=start, end=end), opened, flagged)


def store_transfers(spark: SparkSession, store: str, *, start: date | None, end: date | None) -> DataFrame:
    """The store's transfers of the days in [start, end) as payer, payee, amount_fen, ts, read and
    checked as `pingan screen --engine spark` reads the store."""
    from pingan.antifraud.screening import spark_job

    tx = spark_job.check_store(spark, store)
    days = [
        f"day >= DATE'{start.isoformat()}'" if start else "",
        f"day < DATE'{end.isoformat()}'" if end else "",
    ]
    where = " AND ".join(d for d in days if d) or "true"
    return tx.where(where).selectExpr(
        "CAST(payer_account AS BIGINT) AS payer", "CAST(payee_account AS BIGINT) AS payee",
        "CAST(amount_fen AS BIGINT) AS amount_fen", "ts",
    )  # fmt: skip


_SIDE = ("n", "sum", "mean", "std", "min", "max", "distinct", "small_share", "large_share", "round_share",
         "night_share", "days")  # fmt: skip
# The columns of `features.account_features`, in its order.
COLUMNS = (
    "account", *(f"{s}_{c}" for s in ("out", "in") for c in _SIDE),
    "fan_in", "fan_out", "counterparties_ratio", "pass_through", "net_kept", "velocity", "active_days",
    "span_days", "days_to_first_large_inflow", "first_out_after_in_days",
    "dwell_hours_median", "dwell_hours_min", "debits_after_credit_share", "max_per_day", *_REPEAT_COLUMNS,
    AGE_AT_FIRST_LARGE, *_FLAGGED,
)  # fmt: skip
