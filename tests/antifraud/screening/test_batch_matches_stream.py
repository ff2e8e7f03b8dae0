"""The batch run (the DuckDB script) gives the streaming engine's flags, transfer for transfer and rule
for rule, with every field a flag carries, on stores built to hit the edges: many transactions at the
same instant, gaps of exactly a rule's window, listings that start or expire exactly at a payment,
amounts exactly at a floor, every channel, transaction ids spread over the whole 64-bit range."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pingan.antifraud.screening.batch import FirstKey, connect
from pingan.antifraud.screening.engine import (
    FLAG_SCHEMA,
    REFERENCE_SCHEMA,
    TX_SCHEMA,
    ScreenState,
    screen_batch,
)
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.screening.store import iter_batches, screen_store
from pingan.antifraud.watchlist.frames import WATCHLIST_SCHEMA

START = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # midnight in Beijing
CHANNELS = ["mobile_banking", "online_banking", "counter", "atm", "third_party", "qr", "pos"]
# Amounts at and either side of the rules' floors (fen).
AMOUNTS = [9_999, 10_000, 20_000, 50_000, 99_999, 100_000, 600_000, 999_999, 1_000_000, 1_499_999,
           1_500_000, 1_600_000, 2_500_000, 4_000_000]  # fmt: skip
ACCOUNTS = 14


def edgy_store(directory: Path, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A store of 9 days on a 10-minute grid (so that 30 minutes, 6 hours and 7 days fall exactly on
    it), few accounts (so that pairs repeat and payees are shared), and a watchlist and account
    holders to match; returns (watchlist, reference)."""
    rng = np.random.default_rng(seed)
    n = 900
    slot = rng.integers(0, 9 * 144, n)
    slot[rng.random(n) < 0.3] = slot[0]  # a crowd at one instant
    start_us = (START - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    ts = np.sort(start_us + slot.astype(np.int64) * 600_000_000)
    channel = rng.choice(CHANNELS, n, p=[0.3, 0.15, 0.05, 0.05, 0.15, 0.2, 0.1])
    payer = rng.integers(0, ACCOUNTS, n)
    payee = (payer + rng.integers(1, ACCOUNTS, n)) % ACCOUNTS
    payee[channel == "atm"] = -1
    tx = pl.DataFrame(
        {
            "ts": pl.Series(ts, dtype=pl.Int64).cast(TX_SCHEMA["ts"]),
            "payer_account": payer,
            "payee_account": payee,
            "amount_fen": rng.choice(AMOUNTS, n),
            "channel": channel,
            "payer_bank": "ICBC",
            "payee_bank": "CCB",
        }
    )
    tx = pl.concat([tx, crafted(start_us + int(rng.integers(0, 144)) * 600_000_000)]).sort(
        "ts", maintain_order=True
    )
    tx = tx.with_columns(day=(pl.col("ts") + timedelta(hours=8)).dt.date())
    for day, part in tx.partition_by("day", as_dict=True, maintain_order=True).items():
        d: date = day[0]  # type: ignore[assignment]
        folder = directory / "transactions" / f"day={d.isoformat()}"
        folder.mkdir(parents=True)
        part = part.with_row_index("pos").with_columns(
            tx_id=(pl.lit((d - date(2026, 1, 1)).days, pl.Int64) * (1 << 32)) + pl.col("pos").cast(pl.Int64)
        )
        if seed == 5:  # ids over the whole 64-bit range (a hash of a bank's reference) and a huge amount:
            # the first payment's key cannot hold the amount (FirstKey)
            big = rng.integers(-(1 << 63) + 1, (1 << 63) - 1, part.height, dtype=np.int64)
            part = part.with_columns(
                tx_id=pl.Series(big),
                amount_fen=pl.when(pl.col("pos") == 0).then(1 << 40).otherwise("amount_fen"),
            )
        table = part.select(list(TX_SCHEMA)).cast(TX_SCHEMA).to_arrow()  # type: ignore[arg-type]
        # As the generator writes a day: one row group per channel (odd seeds: one group, mixed).
        with pq.ParquetWriter(folder / "part-0.parquet", table.schema) as w:
            if seed % 2:
                w.write_table(table)
            for c in CHANNELS if not seed % 2 else []:
                rows = table.filter(pc.equal(table["channel"], c))
                if rows.num_rows:
                    w.write_table(rows)

    # Listings that start or end exactly at a payment to the account.
    def paid_at(account: int) -> datetime:
        times = tx.filter(pl.col("payee_account") == account)["ts"]
        return times[int(rng.integers(0, times.len()))]  # type: ignore[no-any-return]

    grid = [paid_at(a) for a in (2, 3, 7, 9, 3, 5, 9, 12)]
    watchlist = pl.DataFrame(
        {
            "account_id": [2, 3, 5, 7, 9, 3, 11, 12],
            "listed_from": [grid[0], grid[1], START, grid[2], grid[3], START, None, START],
            "expires_at": [None, grid[4], grid[5], None, grid[6], None, None, grid[7]],
            "source": ["reported_payee", "holder_link", "suspected", None, "traced", "traced", "traced", "reported_payee"],
            "confidence": [1.0, 0.8, 0.5, 1.0, None, 0.9, 1.0, 1.0],
            "typology": [None] * 8,
        },
        schema=WATCHLIST_SCHEMA,
    )  # fmt: skip
    reference = pl.DataFrame(
        {
            "account_id": list(range(ACCOUNTS - 1)),  # the last account has no holder known
            "person_id": list(range(100, 100 + ACCOUNTS - 1)),
            "birth_date": [
                date(1950, 3, 1) if a % 3 == 0 else None if a == 4 else date(1990, 1, 1)
                for a in range(ACCOUNTS - 1)
            ],
            "business": [a == 8 for a in range(ACCOUNTS - 1)],
        },
        schema=REFERENCE_SCHEMA,
    )
    return watchlist, reference


def crafted(at_us: int) -> pl.DataFrame:
    """Payments at the windows' exact edges, among accounts of their own (20 and up).

    Collecting card 30: two new payers at `at`, three a day later, two more exactly 7 days after those
    (the three are then just outside the window). Payer 27 pays three new payees 15 minutes apart (the
    first is just outside the 30-minute window of the third); payer 28 three at one instant. Account 40
    receives 20,000 yuan and pays 16,000 on exactly 6 hours later (inside the pass-through window).
    """
    day, minute = 86_400_000_000, 60_000_000
    rows = [(25, 30, 0), (26, 30, 0), (20, 30, day), (21, 30, day), (22, 30, day), (23, 30, 8 * day),
            (24, 30, 8 * day), (27, 31, 0), (27, 32, 15 * minute), (27, 33, 30 * minute), (28, 31, minute),
            (28, 32, minute), (28, 33, minute), (41, 40, 2 * day), (40, 42, 2 * day + 360 * minute)]  # fmt: skip
    return pl.DataFrame(
        {
            "ts": pl.Series([at_us + r[2] for r in rows], dtype=pl.Int64).cast(TX_SCHEMA["ts"]),
            "payer_account": [r[0] for r in rows],
            "payee_account": [r[1] for r in rows],
            "amount_fen": [{30: 100_000, 40: 2_000_000, 42: 1_600_000}.get(r[1], 20_000) for r in rows],
            "channel": "mobile_banking",
            "payer_bank": "ICBC",
            "payee_bank": "CCB",
        }
    )


def streamed(store: Path, rules: RuleSet, watchlist: pl.DataFrame, reference: pl.DataFrame) -> pl.DataFrame:
    """The store's transactions through the streaming engine as a consumer meets them: micro-batches
    of a few dozen, cut only between instants (as frames are), the state carried from one to the next."""
    tx = pl.concat(list(iter_batches(store, None, None))).sort(["ts", "tx_id"])
    instant_ends = np.flatnonzero(np.diff(tx["ts"].dt.epoch("us").to_numpy())) + 1
    cuts = [0, *instant_ends[:: max(instant_ends.size // 25, 1)].tolist(), tx.height]
    state, out = ScreenState(), []
    for a, b in pairwise(cuts):
        flags, state = screen_batch(tx[a:b], state, rules, watchlist, reference)
        out.append(flags)
    return pl.concat(out).sort(["ts", "tx_id"])


def test_the_batch_run_flags_what_the_stream_flags_for_the_same_reasons(
    rules: RuleSet, tmp_path: Path
) -> None:
    fired: Counter[str] = Counter()
    for seed in range(6):
        store = tmp_path / f"s{seed}"
        watchlist, reference = edgy_store(store, seed)
        batch = screen_store(store, rules=rules, watchlist=watchlist, reference=reference).flags
        stream = streamed(store, rules, watchlist, reference)
        assert batch.schema == pl.Schema(FLAG_SCHEMA)
        assert batch.to_dicts() == stream.to_dicts(), f"seed {seed}"
        fired.update(r.split(":")[0] for rs in stream["reasons"].to_list() for r in rs)
    # Every rule was put to the test.
    assert set(fired) == set(rules.ids), fired


def test_a_batch_run_over_a_range_counts_the_history_before_it_and_cuts_the_flags_exactly(
    rules: RuleSet, tmp_path: Path
) -> None:
    # `since` and `until` fall on the 10-minute grid: rows at exactly `since` are in, at `until` out.
    since, until = START + timedelta(days=3), START + timedelta(days=6, minutes=30)
    for seed in (0, 1):
        store = tmp_path / f"s{seed}"
        watchlist, reference = edgy_store(store, seed)
        run = screen_store(
            store, rules=rules, watchlist=watchlist, reference=reference, since=since, until=until
        )
        stream = streamed(store, rules, watchlist, reference)
        assert run.flags.height > 20
        assert (
            run.flags.to_dicts()
            == stream.filter(pl.col("ts").is_between(since, until, closed="left")).to_dicts()
        )


def test_a_rule_set_without_the_first_payment_rules_gives_the_streams_flags_and_amounts_at_risk(
    rules: RuleSet, tmp_path: Path
) -> None:
    # Without a rule over first payments, every flag's amount at risk is its pair's sum to date.
    first_payment = {"first_large_transfer", "new_payee_burst", "payee_many_new_payers"}
    some = rules.model_copy(update={"rule": [r for r in rules.rule if r.kind not in first_payment]})
    for seed in (0, 1):
        store = tmp_path / f"s{seed}"
        watchlist, reference = edgy_store(store, seed)
        batch = screen_store(store, rules=some, watchlist=watchlist, reference=reference).flags
        stream = streamed(store, some, watchlist, reference)
        assert batch.filter(pl.col("amount_at_risk_fen") > pl.col("amount_fen")).height > 0
        assert batch.to_dicts() == stream.to_dicts(), f"seed {seed}"


def test_the_first_payment_key_holds_the_amount_only_where_time_id_and_amount_fit_in_128_bits() -> None:
    con = connect()
    # Two transfers 90 days apart (43 bits of microseconds), ids 5 and 2^40, amounts below 2^9.
    con.execute("CREATE TEMP TABLE tp AS SELECT * FROM (VALUES (5, 1000, 1, 2, 300::BIGINT),"
                " (1099511627776, 7776000000001000, 1, 2, 70)) t(tx_id, ts, payer, payee, amt)")  # fmt: skip
    assert FirstKey.of(con) == FirstKey(ts0=1000, tx0=5, tx_bits=40, amt_bits=9)
    con.execute("UPDATE tp SET tx_id = -4611686018427387904 WHERE amt = 300")  # -2^62
    con.execute("UPDATE tp SET tx_id = 4611686018427387904 WHERE amt = 70")  # 2^62
    assert FirstKey.of(con).amt_bits == 9, "ids over the whole 64-bit range: 43 + 64 + 9 bits fit"
    con.execute("UPDATE tp SET amt = 1099511627776 WHERE amt = 70")  # 2^40
    assert FirstKey.of(con).amt_bits == 0, "43 + 64 + 41 bits do not: the amount is taken by arg_min"
    con.execute("UPDATE tp SET tx_id = 5, amt = 70 WHERE amt > 300; UPDATE tp SET amt = -1 WHERE amt = 300")
    assert FirstKey.of(con).amt_bits == 0, "nor does a negative amount"
