"""The mule model's graph features on Spark: `pingan mules train --engine spark` and `score --engine spark`.

`spark_features` computes the per-account features; this module computes the rest of the model's feature
table on the same Spark session, with the functions of `features.py` in Spark SQL, step for step:
the counterparty pairs, the counterparties' means of a value (`neighbour_means`), the triangles,
plain and weighted, the reciprocal counterparties, the scores two steps away (`two_hop`) and those of
accounts that traded with a counterparty the same day (`co_activity`). `SparkEngine` is the model's
`FeatureEngine` on Spark: round zero (the per-account features and the structure features) is
computed there and comes back as one row per account, and each propagation round sends the previous
round's scores (one row per account) to Spark and brings back that round's columns (one row per
account). The transfers, their counterparty pairs, triangles and same-day co-traders stay on the
executors, cached for the rounds; LightGBM, which trains and scores on the per-account rows, runs on
the driver.
`tests/antifraud/mules/test_spark_features.py` proves every column equal to the in-process one, and
of the same type, on a generated district.

Where the two could differ, the Polars semantics are kept on purpose:

- a hub is an account with more than `features._HUB_DEGREE` distinct counterparties (self-transfers
  and transfers without a payee account left out); `triangles`, `two_hop` and `co_activity` leave
  out the paths through it, as in Polars;
- the value (a score, the small-amount share) of an account that is missing, or null, counts as 0;
- in `co_activity`, the highest score among an account's others in a (counterparty, day) group is the
  group's second highest, ties counted (`top_k(2).min()` in Polars, `nth_value(s, 2)` here), when the
  account alone holds the top, and the top otherwise;
- a count is UInt32 on the driver, as Polars' `len` and sums of flags are; every other column is
  Float64;
- a weighted mean whose amounts sum to 0 is NaN (or an infinity), as IEEE division gives it in
  Polars, never Spark's null or its ANSI division error;
- days are UTC calendar days, as `ts.dt.date()` reads the UTC transfers.

The float sums (weighted means, sums of scores) add in another order than Polars does, so they agree
to the last few digits, not bit for bit.
"""

# The statements hold only fixed column names and numbers defined here: nothing a user types.
# ruff: noqa: S608
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from pingan.antifraud.mules.features import _HUB_DEGREE, ACCOUNT
from pingan.antifraud.mules.spark_features import account_feature_frame, store_transfers, to_polars

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def _ieee_div(num: str, den: str) -> str:
    """`num / den` of doubles as IEEE (and Polars) divides: x/0 is ±inf, 0/0 NaN."""
    return (
        f"CASE WHEN {den} <> 0 THEN {num} / {den} WHEN {num} > 0 THEN double('inf')"
        f" WHEN {num} < 0 THEN double('-inf') ELSE double('NaN') END"
    )


def _values(spark: SparkSession, values: DataFrame) -> DataFrame:
    """(account, v) of a frame of (account, value), the value as a double."""
    first, second = values.columns[:2]
    return spark.sql(
        f"SELECT `{first}` AS account, CAST(`{second}` AS DOUBLE) AS v FROM {{values}}", values=values
    )


def counterparty_pairs(spark: SparkSession, transfers: DataFrame) -> DataFrame:
    """`features.counterparty_pairs`: undirected distinct pairs (a < b), self-transfers left out."""
    return spark.sql(
        """SELECT DISTINCT least(payer, payee) AS a, greatest(payer, payee) AS b
        FROM {tx} WHERE payee >= 0 AND payer <> payee""",
        tx=transfers,
    )


def neighbour_means(spark: SparkSession, transfers: DataFrame, values: DataFrame, column: str) -> DataFrame:
    """`features.neighbour_means`: amount-weighted mean, max, sum and count over one half of `values`
    (account, value) over each account's payers (`nb_in_*`) and payees (`nb_out_*`)."""
    v = _values(spark, values)

    def side(me: str, other: str, s: str) -> str:
        return f"""SELECT e.{me} AS account,
          {_ieee_div("sum(coalesce(v.v, 0D) * e.amount_fen)", "CAST(sum(e.amount_fen) AS DOUBLE)")}
            AS nb_{s}_{column}_wmean,
          max(coalesce(v.v, 0D)) AS nb_{s}_{column}_max, sum(coalesce(v.v, 0D)) AS nb_{s}_{column}_sum,
          count_if(coalesce(v.v, 0D) > 0.5D) AS nb_{s}_{column}_over_half
        FROM {{tx}} e LEFT JOIN {{v}} v ON v.account = e.{other} WHERE e.payee >= 0 GROUP BY e.{me}"""

    return spark.sql(
        f"SELECT * FROM ({side('payee', 'payer', 'in')}) FULL JOIN ({side('payer', 'payee', 'out')}) USING (account)",
        tx=transfers,
        v=v,
    )


def triangle_corners(spark: SparkSession, pairs: DataFrame) -> DataFrame:
    """Every triangle of `pairs` among accounts of at most `_HUB_DEGREE` counterparties, three rows
    each: (account, p, q), one per corner with its two others. It does not depend on any score, so an
    engine computes it once for every round."""
    # Each pair points from the lower (degree, id) rank to the higher, so that every triangle is found
    # once, at its lowest corner, as in Polars.
    return spark.sql(
        f"""WITH deg AS (SELECT account, count(*) AS deg FROM (SELECT a AS account FROM {{pairs}}
                         UNION ALL SELECT b AS account FROM {{pairs}}) GROUP BY account HAVING count(*) <= {_HUB_DEGREE}),
        o AS (SELECT p.a, p.b, da.deg < db.deg OR (da.deg = db.deg AND p.a < p.b) AS up
              FROM {{pairs}} p JOIN deg da ON da.account = p.a JOIN deg db ON db.account = p.b),
        e AS (SELECT IF(up, a, b) AS u, IF(up, b, a) AS v FROM o),
        wedges AS (SELECT e1.u, e1.v, e2.v AS v2 FROM e e1 JOIN e e2 ON e1.u = e2.u WHERE e1.v < e2.v),
        closing AS (SELECT u, v FROM e UNION ALL SELECT v AS u, u AS v FROM e),
        tri AS (SELECT * FROM wedges w LEFT SEMI JOIN closing c ON c.u = w.v AND c.v = w.v2)
        SELECT u AS account, v AS p, v2 AS q FROM tri UNION ALL SELECT v AS account, u AS p, v2 AS q FROM tri
        UNION ALL SELECT v2 AS account, u AS p, v AS q FROM tri""",
        pairs=pairs,
    )


def triangles(spark: SparkSession, corners: DataFrame, weight: DataFrame | None = None) -> DataFrame:
    """`features.triangles` of the pairs whose `triangle_corners` are `corners`: per account, the
    triangles it closes; with `weight` (account, w), each counts the other two accounts' w multiplied."""
    if weight is None:
        return spark.sql(
            "SELECT account, CAST(count(*) AS DOUBLE) AS triangles FROM {c} GROUP BY account", c=corners
        )
    return spark.sql(
        f"""SELECT c.account, sum(coalesce(wp.v, 0D) * coalesce(wq.v, 0D)) AS `triangles_{weight.columns[1]}`
        FROM {{c}} c LEFT JOIN {{w}} wp ON wp.account = c.p LEFT JOIN {{w}} wq ON wq.account = c.q
        GROUP BY c.account""",
        c=corners,
        w=_values(spark, weight),
    )


def reciprocity(spark: SparkSession, transfers: DataFrame) -> DataFrame:
    """`features.reciprocity`: per account, the counterparties it both paid and was paid by."""
    return spark.sql(
        """WITH d AS (SELECT DISTINCT payer, payee FROM {tx} WHERE payee >= 0 AND payer <> payee)
        SELECT x.payer AS account, CAST(count(*) AS DOUBLE) AS reciprocal_counterparties
        FROM d x LEFT SEMI JOIN d y ON y.payer = x.payee AND y.payee = x.payer GROUP BY x.payer""",
        tx=transfers,
    )


def two_hop(spark: SparkSession, pairs: DataFrame, values: DataFrame) -> DataFrame:
    """`features.two_hop`: per account, the sum, mean and count over one half of `values` over the
    accounts two steps away, through counterparties of at most `_HUB_DEGREE` counterparties.

    Computed per middle account as in Polars: a window over each middle account's counterparties
    gives their score sum, count over one half and number (its degree), and each path is its middle
    account's figures less the account's own."""
    col = values.columns[1]
    # try_divide: Spark may divide for a group that HAVING then drops, and ANSI mode raises on / 0.
    return spark.sql(
        f"""WITH und AS (SELECT a AS u, b AS v FROM {{pairs}} UNION ALL SELECT b AS u, a AS v FROM {{pairs}}),
        middle AS (SELECT und.u, und.v, coalesce(s.v, 0D) AS s FROM und LEFT JOIN {{s}} s ON s.account = und.u),
        per_middle AS (SELECT u, s, sum(s) OVER m AS sv, count_if(s > 0.5D) OVER m AS hv, count(*) OVER m AS nv
                       FROM middle WINDOW m AS (PARTITION BY v)),
        paths AS (SELECT u, sv - s AS sum, hv - IF(s > 0.5D, 1, 0) AS over, nv - 1 AS n
                  FROM per_middle WHERE nv <= {_HUB_DEGREE})
        SELECT u AS account, sum(sum) AS `hop2_{col}_sum`, try_divide(sum(sum), sum(n)) AS `hop2_{col}_mean`,
          sum(over) AS `hop2_{col}_over_half`
        FROM paths GROUP BY u HAVING sum(n) > 0""",
        pairs=pairs,
        s=_values(spark, values),
    )


def co_traders(spark: SparkSession, transfers: DataFrame) -> DataFrame:
    """(u, v, d): account u traded with counterparty v on UTC day d (either way, self-transfers left
    out), v of at most `_HUB_DEGREE` counterparties. It does not depend on any score, so an engine
    computes it once for every round."""
    return spark.sql(
        f"""WITH lf AS (SELECT payer, payee, to_date(ts) AS d FROM {{tx}} WHERE payee >= 0 AND payer <> payee),
        und AS (SELECT DISTINCT u, v, d FROM (SELECT payer AS u, payee AS v, d FROM lf
                                              UNION ALL SELECT payee AS u, payer AS v, d FROM lf)),
        hubs AS (SELECT v FROM (SELECT DISTINCT u, v FROM und) GROUP BY v HAVING count(*) > {_HUB_DEGREE})
        SELECT * FROM und LEFT ANTI JOIN hubs ON hubs.v = und.v""",
        tx=transfers,
    )


def co_activity(spark: SparkSession, traders: DataFrame, values: DataFrame) -> DataFrame:
    """`features.co_activity` of the transfers whose `co_traders` are `traders`: per account, the sum
    and max of `values` over the accounts that traded with one of its counterparties the same day.

    Computed per (counterparty, day) group as in Polars: a window over each group gives its score
    sum, top, second highest (ties counted) and size; each account takes the group's figures less its
    own."""
    col = values.columns[1]
    return spark.sql(
        f"""WITH members AS (SELECT m.u, m.v, m.d, coalesce(s.v, 0D) AS s FROM {{traders}} m
                             LEFT JOIN {{s}} s ON s.account = m.u),
        groups AS (SELECT u, s, sum(s) OVER (PARTITION BY v, d) AS sg, max(s) OVER (PARTITION BY v, d) AS top,
                     nth_value(s, 2) OVER (PARTITION BY v, d ORDER BY s DESC
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS second,
                     count(*) OVER (PARTITION BY v, d) AS n
                   FROM members)
        SELECT u AS account, sum(sg - s) AS `co_{col}_sum`,
          -- The highest score among the others: the second highest when u holds the top (if another
          -- holds it too, the second highest is the top), the top otherwise.
          max(IF(s = top, second, top)) AS `co_{col}_max`
        FROM groups WHERE n > 1 GROUP BY u""",
        traders=traders,
        s=_values(spark, values),
    )


class SparkEngine:
    """A sample's transfers on Spark: the model's `FeatureEngine` whose features are computed there.

    `transfers` (payer, payee, amount_fen, ts) is cached on the executors, with its counterparty pairs,
    triangles and same-day co-traders, for round zero and the propagation rounds; what comes to the
    driver is one row per account.
    """

    def __init__(self, spark: SparkSession, transfers: DataFrame) -> None:
        self.spark = spark
        self.transfers = transfers.select("payer", "payee", "amount_fen", "ts").cache()
        self.pairs = counterparty_pairs(spark, self.transfers).cache()
        self.corners = triangle_corners(spark, self.pairs).cache()
        self.traders = co_traders(spark, self.transfers).cache()

    def accounts(self) -> pl.Series:
        """Every account that paid, or was paid, in the transfers."""
        seen = self.spark.sql(
            "SELECT payer AS account FROM {tx} UNION SELECT payee AS account FROM {tx} WHERE payee >= 0",
            tx=self.transfers,
        )
        return to_polars(seen)[ACCOUNT].cast(pl.Int64)

    def base_features(self, opened: pl.DataFrame | None, flagged: pl.DataFrame | None) -> pl.DataFrame:
        """Round zero: `model.PolarsEngine.base_features`, computed on Spark; one row per account, by account."""
        spark = self.spark
        # Cached for this job: the small-amount share is read off it and it is joined to the structure.
        feats = account_feature_frame(spark, self.transfers, opened, flagged).cache()
        small = spark.sql(
            """SELECT account, coalesce(out_small_share, 0D) + coalesce(in_small_share, 0D) AS small
            FROM {f}""",
            f=feats,
        )
        table = spark.sql(
            """SELECT * FROM {f} LEFT JOIN {nb} USING (account) LEFT JOIN {tri} USING (account)
            LEFT JOIN {tri_small} USING (account) LEFT JOIN {back} USING (account)""",
            f=feats,
            nb=neighbour_means(spark, self.transfers, small, "small"),
            tri=triangles(spark, self.corners),
            tri_small=triangles(spark, self.corners, small),
            back=reciprocity(spark, self.transfers),
        ).fillna(0.0, subset=["triangles", "triangles_small", "reciprocal_counterparties"])
        out = to_polars(table.orderBy(ACCOUNT))
        feats.unpersist()
        return out

    def neighbour_features(self, values: pl.DataFrame) -> pl.DataFrame:
        """One propagation round: `model.PolarsEngine.neighbour_features` of the scores in `values`
        (account, score), sent to Spark; one row per account that traded."""
        spark = self.spark
        v = spark.createDataFrame(values.select(pl.col(ACCOUNT).cast(pl.Int64), values.columns[1]).to_arrow())
        col = values.columns[1]
        table = spark.sql(
            """SELECT * FROM {nb} LEFT JOIN {tri} USING (account) LEFT JOIN {hop2} USING (account)
            LEFT JOIN {co} USING (account)""",
            nb=neighbour_means(spark, self.transfers, v, col),
            tri=triangles(spark, self.corners, v),
            hop2=two_hop(spark, self.pairs, v),
            co=co_activity(spark, self.traders, v),
        ).fillna(0.0, subset=[f"triangles_{col}"])
        return to_polars(table)


def store_engine(
    store: str, *, start: date | None = None, end: date | None = None, master: str | None = None
) -> SparkEngine:
    """The store's transfers of the days in [start, end) on Spark (`master` as `pingan screen --engine
    spark` takes it), checked as that job checks the store."""
    from pingan.antifraud.screening import spark_job

    spark = spark_job.session(master)
    return SparkEngine(spark, store_transfers(spark, store, start=start, end=end))
