"""The screening rules as a PySpark job: `pingan screen --engine spark STORE`, and `spark-submit` on a cluster.

The same rule file, the same store layout and the same flags as the in-process batch run (`store.screen_store`):
`tests/antifraud/screening/test_spark_job.py` proves it event for event on a generated district and on the
edge-case stores of `test_batch_matches_stream`. The job follows `batch.py` step for step, in Spark SQL:

1. The screened channels' transfers (a payee account), narrow: times as integer microseconds
   (`unix_micros`), the pattern flag from the channel.
2. The pair facts by one window over the packed pair key (`payer << 31 | payee`, in (ts, tx_id)
   order): the count before, the previous amount, the first time and the running total (the amount at
   risk). Spark shuffles the transfers by that key, so a pair's history sits in one task.
3. Each rule on the rows that can fit it. The watchlist is a broadcast join (it is small: every executor
   gets a copy, the transfers are not shuffled for it). The burst rule uses `lag`/`lead` over a payer's
   first payments (shuffled by payer); the collecting-card rule a range count over a payee's.
4. The suppressions last, on the few candidates: the business payer, the payer's own listing, and the
   money received in the hours before (a range join against the transfers, by payee = candidate payer).

History before `since` is read like the rest; only the flags are cut to [since, until). A store whose
manifest names an older schema version, or whose files lack a column the job reads, is refused.
"""

# The statements are built from a validated rule set (ids match ^[A-Z][A-Z0-9-]*$, parameters are
# numbers): nothing a user types reaches them unquoted.
# ruff: noqa: S608
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pingan.antifraud.screening.engine import FLAG_SCHEMA, GUESS_BY_RULE, REFERENCE_SCHEMA, TX_SCHEMA
from pingan.antifraud.screening.ruleset import (
    BurstRule,
    ElderlyNightRule,
    EscalatingRule,
    FirstLargeRule,
    MulePayeeRule,
    RuleSet,
    WatchlistRule,
)
from pingan.antifraud.watchlist.frames import WATCHLIST_SCHEMA
from pingan.core.errors import Invalid

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

US = 1_000_000
DAY_US = 86_400 * US
# The store schema version the job reads (the simulator's `params.SCHEMA_VERSION`, recorded in the
# store's manifest.json as `schema_version`; the simulator sits above this package, so it is not imported).
STORE_SCHEMA_VERSION = 2
_TX_COLUMNS = list(TX_SCHEMA)


def _in(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


def java_available() -> bool:
    """Whether a Java runtime is on the PATH (or JAVA_HOME): PySpark starts its JVM with it."""
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and (Path(home) / "bin" / "java").exists())


def session(master: str | None = None, *, shuffle_partitions: int | None = None) -> SparkSession:
    """A SparkSession set up as the job runs: UTC, no UI. `master` None keeps what `spark-submit`
    (or PySpark's default, `local[*]`) gives."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise Invalid(
            "the Spark engine needs PySpark: install pingan with the `spark` extra", field="engine"
        ) from None
    if not java_available():
        raise Invalid(
            "the Spark engine needs a Java 17 runtime (Debian: openjdk-17-jre-headless)", field="engine"
        )
    builder = SparkSession.builder.appName("pingan-screen")
    if master is not None:
        builder = builder.master(master)
    if master is None or master.startswith("local"):
        # In local mode (PySpark's default master too) the driver's JVM runs every task: Spark's
        # default 1 GiB heap ran out on a `small` district (1.6 M transactions). Under spark-submit the
        # driver's JVM is already running with the memory the submit command gave it.
        builder = builder.config("spark.driver.memory", os.environ.get("PINGAN_SPARK_DRIVER_MEMORY", "4g"))
    builder = builder.config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    return builder.getOrCreate()


def _manifest(spark: SparkSession, store: str) -> dict[str, Any] | None:
    local = Path(store)
    if "://" not in store:
        path = local / "manifest.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    try:  # a cluster store (hdfs://, s3a://): read through Spark's file systems
        rows = spark.read.text(f"{store.rstrip('/')}/manifest.json", wholetext=True).collect()
    except Exception:  # Spark raises its AnalysisException for a missing path
        return None
    return json.loads(rows[0][0]) if rows else None


def check_store(spark: SparkSession, store: str) -> DataFrame:
    """The store's transactions as Spark reads them, or `Invalid` naming what is wrong: a manifest of
    another schema version, no day partitions, or a column the job reads missing from the files."""
    manifest = _manifest(spark, store)
    if manifest is not None:
        version = manifest.get("schema_version")
        if version != STORE_SCHEMA_VERSION:
            raise Invalid(
                f"the store has schema version {version}; the Spark job reads version {STORE_SCHEMA_VERSION}:"
                " generate the store again (pingan sim generate) or screen it with --engine batch",
                field="schema_version",
            )
    root = f"{store.rstrip('/')}/transactions"
    try:
        tx = spark.read.option("basePath", root).parquet(f"{root}/day=*")
    except Exception as exc:  # Spark raises its AnalysisException for a missing path
        raise Invalid(f"no transaction day partitions under {root}: {exc}", field="store") from None
    missing = [c for c in _TX_COLUMNS if c not in tx.columns]
    if missing:
        raise Invalid(f"the store's transaction files lack {', '.join(missing)}", field="store")
    return tx


def _reference(spark: SparkSession, store: str, reference: pl.DataFrame | None) -> DataFrame:
    if reference is not None:
        ref = reference.select(list(REFERENCE_SCHEMA)).cast(REFERENCE_SCHEMA)  # type: ignore[arg-type]
        rows = ref.unique("account_id", keep="first", maintain_order=True).select(
            pl.col("account_id").alias("acct"),
            pl.col("person_id"),
            pl.col("birth_date").cast(pl.Int32).cast(pl.Int64).alias("birth_day"),
            pl.col("business").fill_null(False),
        )
        return spark.createDataFrame(
            rows.rows(), "acct long, person_id long, birth_day long, business boolean"
        )
    # As `store.read_reference`: the bank knows its corporate accounts (holder_type business).
    base = store.rstrip("/")
    accounts = spark.read.parquet(f"{base}/accounts.parquet").selectExpr(
        "CAST(account_id AS BIGINT) AS acct", "CAST(holder_person_id AS BIGINT) AS person_id",
        "coalesce(holder_type = 'business', false) AS business",
    )  # fmt: skip
    persons = spark.read.parquet(f"{base}/persons.parquet").selectExpr(
        "CAST(person_id AS BIGINT) AS person_id", "CAST(unix_date(birth_date) AS BIGINT) AS birth_day"
    )
    return accounts.join(persons, "person_id", "left").dropDuplicates(["acct"])


def _watchlist(spark: SparkSession, watchlist: pl.DataFrame) -> DataFrame:
    wl = (
        watchlist.select(list(WATCHLIST_SCHEMA))
        .cast(WATCHLIST_SCHEMA)  # type: ignore[arg-type]
        .unique("account_id", keep="first", maintain_order=True)
        .select(
            pl.col("account_id").alias("acct"),
            pl.col("listed_from").dt.epoch("us").alias("from_us"),
            pl.col("expires_at").dt.epoch("us").alias("until_us"),
            "source",
            "confidence",
            "typology",
        )
    )
    return spark.createDataFrame(
        wl.rows(), "acct long, from_us long, until_us long, source string, confidence double, typology string"
    )


def _us(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def statements(rules: RuleSet, since_us: int | None) -> list[tuple[str, str]]:
    """The job's steps as (view name, SELECT), in order, over the views `src` (the store's rows up to
    `until`), `wl` and `ref`; the last view, `flags`, holds the flags in FLAG_SCHEMA's columns."""
    pattern = _in(rules.pattern_channels)
    esc = [r for r in rules.rule if isinstance(r, EscalatingRule)]
    esc_floor = min((r.params.min_amount_fen for r in esc), default=None)
    keep_large = f" OR amt >= {esc_floor}" if esc_floor is not None else ""
    out = [
        # 1. The screened channels' transfers, narrow and integer.
        (
            "tall",
            f"""SELECT tx_id, unix_micros(ts) AS ts, payer_account AS payer, payee_account AS payee,
            amount_fen AS amt, payer_bank, payee_bank, channel IN ({pattern}) AS pattern
            FROM src WHERE channel IN ({_in(rules.channels)}) AND payee_account >= 0""",
        ),
        # 2. One window over the packed pair key: the pair facts of every pattern transfer. The running
        # sum's frame is the default one (up to the current row's (ts, tx_id), which is unique).
        (
            "pf",
            """SELECT tx_id, ts, payer, payee, amt,
            row_number() OVER w - 1 AS n_before, lag(amt) OVER w AS prev_amt,
            first_value(ts) OVER w AS first_ts, sum(amt) OVER w AS at_risk
            FROM tall WHERE pattern
            WINDOW w AS (PARTITION BY shiftleft(payer, 31) | payee ORDER BY ts, tx_id)""",
        ),
        # The rows a pattern rule can use: first payments, and payments at the escalation floor.
        ("p", f"SELECT * FROM pf WHERE n_before = 0{keep_large}"),
    ]
    hits: list[str] = []  # SELECT tx_id, rule index, reason, typology guess
    for i, r in enumerate(rules.rule):
        rid = r.id.replace("'", "''")
        if isinstance(r, WatchlistRule):
            hits.append(
                f"""SELECT /*+ BROADCAST(wl) */ t.tx_id, {i} AS idx, concat('{rid}:', wl.source) AS reason,
                CAST(NULL AS STRING) AS guess
                FROM tall t JOIN wl ON wl.acct = t.payee
                WHERE t.ts >= wl.from_us AND (wl.until_us IS NULL OR t.ts < wl.until_us)
                AND t.amt >= {r.params.min_amount_fen} AND wl.confidence >= {r.params.min_confidence}
                AND wl.source IS NOT NULL"""
            )
            continue
        head = f"SELECT tx_id, {i} AS idx, '{rid}' AS reason, '{GUESS_BY_RULE[r.kind]}' AS guess"
        if isinstance(r, FirstLargeRule):
            hits.append(f"{head} FROM p WHERE n_before = 0 AND amt >= {r.params.min_amount_fen}")
        elif isinstance(r, EscalatingRule):
            hits.append(
                f"""{head} FROM p WHERE amt >= {r.params.min_amount_fen} AND n_before >= {r.params.min_count - 1}
                AND ts - first_ts <= {r.params.new_payee_days * DAY_US} AND prev_amt IS NOT NULL
                AND amt >= prev_amt * {float(r.params.growth)!r}"""
            )
        elif isinstance(r, BurstRule):
            m, w = r.params.min_count, r.params.window_minutes * 60 * US
            # At least m first payments in (ts - w, ts]: for s later rows at the same instant, the
            # (m - 1 - s)-th row before is inside the window.
            terms = []
            for s in range(m):
                back = f"lag(ts, {m - 1 - s}) OVER b > ts - {w}" if m - 1 - s else "TRUE"
                ahead = f"lead(ts, {s}) OVER b = ts" if s else "TRUE"
                terms.append(f"coalesce(({ahead}) AND ({back}), false)")
            hits.append(
                f"""{head} FROM (SELECT tx_id, {" OR ".join(terms)} AS fits
                FROM p WHERE n_before = 0 AND amt >= {r.params.min_amount_fen}
                WINDOW b AS (PARTITION BY payer ORDER BY ts, tx_id)) WHERE fits"""
            )
        elif isinstance(r, MulePayeeRule):
            w = r.params.window_days * DAY_US
            hits.append(
                f"""{head} FROM (
                  SELECT tx_id, count(*) OVER (PARTITION BY payee ORDER BY ts
                         RANGE BETWEEN {w - 1} PRECEDING AND CURRENT ROW) AS n
                  FROM p WHERE n_before = 0 AND amt >= {r.params.min_amount_fen})
                WHERE n BETWEEN {r.params.min_payers} AND {r.params.max_payers}"""
            )
        elif isinstance(r, ElderlyNightRule):
            a, b = r.params.start_hour, r.params.end_hour
            hour = f"(((t.ts + {8 * 3600 * US}) div {3600 * US}) % 24)"
            night = f"({hour} >= {a} OR {hour} < {b})" if a > b else f"({hour} >= {a} AND {hour} < {b})"
            hits.append(
                f"""SELECT /*+ BROADCAST(ref) */ t.tx_id, {i} AS idx, '{rid}' AS reason,
                '{GUESS_BY_RULE[r.kind]}' AS guess
                FROM tall t JOIN ref ON ref.acct = t.payer
                WHERE t.pattern AND t.amt >= {r.params.min_amount_fen} AND {night} AND ref.birth_day IS NOT NULL
                AND floor(CAST(t.ts div {DAY_US} - ref.birth_day AS DOUBLE) / 365.2425) >= {r.params.min_age}"""
            )
    sup = rules.suppress
    business = "AND NOT coalesce(r.business, false)" if sup.business_payers else ""
    min_age = min((r.params.min_age for r in rules.rule if isinstance(r, ElderlyNightRule)), default=60)
    since = f"AND t.ts >= {since_us}" if since_us is not None else ""
    out += [
        ("hit", "\nUNION ALL\n".join(hits)),
        # 4. Suppressions, last, on the few candidates (those in the range screened).
        (
            "cand",
            f"""SELECT /*+ BROADCAST(pw) */ t.tx_id, t.ts, t.payer, t.amt
            FROM (SELECT DISTINCT tx_id FROM hit) h JOIN tall t ON t.tx_id = h.tx_id
            LEFT JOIN ref r ON r.acct = t.payer
            LEFT JOIN wl pw ON pw.acct = t.payer
            WHERE NOT coalesce(t.ts >= pw.from_us AND (pw.until_us IS NULL OR t.ts < pw.until_us), false)
            {business} {since}""",
        ),
        (
            "passing",
            f"""SELECT c.tx_id FROM cand c JOIN tall i ON i.pattern AND i.payee = c.payer
              AND i.ts >= c.ts - {sup.pass_through_hours * 3600 * US} AND i.ts < c.ts
            GROUP BY c.tx_id, c.amt HAVING sum(i.amt) >= c.amt * {float(sup.pass_through_share)!r}""",
        ),
        (
            "why",
            """SELECT h.tx_id,
            transform(array_sort(collect_list(struct(h.idx, h.reason))), x -> x.reason) AS reasons,
            try_element_at(transform(array_sort(collect_list(CASE WHEN h.guess IS NOT NULL
                THEN struct(h.idx, h.guess) END)), x -> x.guess), 1) AS guess
            FROM hit h LEFT SEMI JOIN cand c ON c.tx_id = h.tx_id
            LEFT ANTI JOIN passing s ON s.tx_id = h.tx_id
            GROUP BY h.tx_id""",
        ),
        # The flags: the typology is the listing's when the payee is listed at the payment (as the
        # batch run's), else the first pattern rule's guess; the amount at risk a QR/POS payment's own.
        (
            "flags",
            f"""SELECT /*+ BROADCAST(wl) */ t.tx_id, t.ts, t.payer AS payer_account, t.payee AS payee_account,
            t.payer_bank, t.payee_bank, t.amt AS amount_fen, r.person_id,
            coalesce(r.birth_day IS NOT NULL
              AND floor(CAST(t.ts div {DAY_US} - r.birth_day AS DOUBLE) / 365.2425) >= {min_age}, false) AS elderly,
            y.reasons, coalesce(wl.typology, y.guess) AS typology_guess,
            coalesce(pf.at_risk, t.amt) AS amount_at_risk_fen
            FROM why y JOIN tall t ON t.tx_id = y.tx_id
            LEFT JOIN pf ON pf.tx_id = y.tx_id
            LEFT JOIN ref r ON r.acct = t.payer
            LEFT JOIN wl ON wl.acct = t.payee
              AND t.ts >= wl.from_us AND (wl.until_us IS NULL OR t.ts < wl.until_us)""",
        ),
    ]
    return out


@dataclass(frozen=True)
class SparkRun:
    """What a Spark screening gives: the flags (FLAG_SCHEMA, in time order), the transactions of the
    range (every channel) and the seconds it took."""

    flags: pl.DataFrame
    rows: int
    seconds: float


def screen_store(
    spark: SparkSession,
    store: Path | str,
    *,
    rules: RuleSet,
    watchlist: pl.DataFrame,
    since: datetime | None = None,
    until: datetime | None = None,
    reference: pl.DataFrame | None = None,
) -> SparkRun:
    """Screen the store's transactions in [since, until) on Spark, from its first transaction (the
    history before `since` read as the in-process batch run reads it); `Invalid` for a store it cannot read.

    `store` may be a local folder or a URI Spark reads (hdfs://, s3a://); `reference` None reads the
    account holders from the store."""
    started = time.perf_counter()
    root = str(store)
    tx = check_store(spark, root).selectExpr(
        "CAST(tx_id AS BIGINT) AS tx_id", "CAST(ts AS TIMESTAMP) AS ts",
        "CAST(payer_account AS BIGINT) AS payer_account", "CAST(payee_account AS BIGINT) AS payee_account",
        "CAST(amount_fen AS BIGINT) AS amount_fen", "CAST(channel AS STRING) AS channel",
        "CAST(payer_bank AS STRING) AS payer_bank", "CAST(payee_bank AS STRING) AS payee_bank",
    )  # fmt: skip
    if until is not None:
        tx = tx.where(tx.ts < until)
    tx.createOrReplaceTempView("src")
    _watchlist(spark, watchlist).createOrReplaceTempView("wl")
    _reference(spark, root, reference).createOrReplaceTempView("ref")
    cached = []
    for name, select in statements(rules, None if since is None else _us(since)):
        view = spark.sql(select)
        if name in ("tall", "pf", "hit", "cand"):  # read more than once: computed once
            view = view.cache()
            cached.append(view)
        view.createOrReplaceTempView(name)
    try:
        rows = spark.table("flags").orderBy("ts", "tx_id").collect()
        in_range = tx.where(tx.ts >= since) if since is not None else tx
        count = in_range.count()
    finally:
        for view in cached:
            view.unpersist()
    raw = pl.DataFrame([r.asDict() for r in rows], schema=FLAG_SCHEMA | {"ts": pl.Int64()}, orient="row")
    flags = raw.with_columns(pl.col("ts").cast(FLAG_SCHEMA["ts"]))
    return SparkRun(flags, count, time.perf_counter() - started)
