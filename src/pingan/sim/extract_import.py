"""`pingan transactions import`: a bank's transaction extract (CSV or Parquet) written as a store.

The store has the layout of a generated district (docs/sim.md) that screening, tracing and mule
scoring read: `transactions/day=YYYY-MM-DD/part-0.parquet` (Beijing days, store format 2),
`accounts.parquet` (derived from the transactions: one account per bank and account number),
`persons.parquet` and `merchants.parquet` (empty: an extract names no holders and no shops) and a
manifest that says where it came from. A bank hands over no labels, so the store has no `truth/`.

Every row is checked, vectorised with Polars; a row that fails goes to `quarantine.csv` (line, field,
reason, value) and never into the store, and every row that passes is written. The store is written to
a temporary directory beside `--out` and renamed into place when complete: a crash leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa

from pingan.core.errors import Invalid
from pingan.sim import params as cfg
from pingan.sim.extract_mapping import FEN_PER_UNIT, OFFSET_UNITS_US, ExtractMapping
from pingan.sim.normal import CHANNELS
from pingan.sim.writer import TS_TYPE, write_parquet, write_text, write_transactions

GENERATOR = "pingan.transactions.import"
QUARANTINE = "quarantine.csv"
# Why a row is quarantined; each names the mapping's column it read.
REASONS = (
    "empty_account", "unknown_bank", "unparsable_time", "unparsable_amount", "negative_amount",
    "zero_amount", "unknown_channel", "empty_tx_id", "duplicate_tx_id",
)  # fmt: skip
_BEIJING = ZoneInfo("Asia/Shanghai")
_US = 1_000_000
IMPORT_TX_SCHEMA = pa.schema(
    [
        ("tx_id", pa.int64()),
        ("ts", TS_TYPE),
        ("payer_account", pa.int64()),
        ("payee_account", pa.int64()),
        ("amount_fen", pa.int64()),
        ("channel", pa.dictionary(pa.int8(), pa.string())),
        ("payer_bank", pa.dictionary(pa.int8(), pa.string())),
        ("payee_bank", pa.dictionary(pa.int8(), pa.string())),
        ("source_line", pa.int64()),  # the row's line in the extract (CSV: the header is line 1)
    ]
)

Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass(frozen=True)
class ImportSummary:
    """What an import read, wrote and quarantined."""

    rows_read: int
    rows_written: int
    rows_quarantined: int
    failures_by_reason: dict[str, int]
    accounts: int
    days: int
    store: Path
    quarantine: Path | None = None
    first_day: date | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The summary as printed (JSON)."""
        return {
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_quarantined": self.rows_quarantined,
            "failures_by_reason": self.failures_by_reason,
            "accounts": self.accounts,
            "days": self.days,
            "store": str(self.store),
            "quarantine": str(self.quarantine) if self.quarantine else None,
        }


def read_extract(path: Path, mapping: ExtractMapping) -> pl.DataFrame:
    """The mapped columns of the extract as text, with each row's `line` (CSV: the header is line 1)."""
    fmt = mapping.format or ("parquet" if path.suffix.lower() == ".parquet" else "csv")
    if not path.is_file():
        raise Invalid(f"extract {path} not found", field="file")
    wanted = mapping.columns()
    if fmt == "parquet":
        lf = pl.scan_parquet(path).with_row_index("line", offset=1)
    else:
        lf = pl.scan_csv(path, infer_schema=False, separator=mapping.delimiter).with_row_index(
            "line", offset=2
        )
    try:
        header = lf.collect_schema().names()
    except pl.exceptions.PolarsError as exc:
        raise Invalid(f"extract {path} cannot be read as {fmt}: {exc}", field="file") from None
    for col, key in wanted.items():
        if col not in header:
            raise Invalid(f"the extract has no column {col!r} (mapping key {key})", field=key, line=1)
    return lf.select(pl.col("line").cast(pl.Int64), *(pl.col(c).cast(pl.String) for c in wanted)).collect()


def _time_expr(m: ExtractMapping) -> pl.Expr:
    t = m.time
    raw = pl.col(t.column).str.strip_chars()
    if t.format in ("epoch_s", "epoch_ms", "epoch_us"):
        scale = {"epoch_s": _US, "epoch_ms": 1_000, "epoch_us": 1}[t.format]
        us = raw.cast(pl.Int64, strict=False) * scale
        return us.cast(pl.Datetime("us", "UTC"))
    if t.format == "offset":
        assert t.unit is not None and t.start is not None
        start = t.start if t.start.tzinfo else t.start.replace(tzinfo=ZoneInfo(t.timezone))
        start_us = round(start.timestamp() * _US)
        steps = raw.cast(pl.Decimal(38, 6), strict=False)
        us = (steps * pl.lit(Decimal(OFFSET_UNITS_US[t.unit]))).round(0).cast(pl.Int64, strict=False)
        return (us + start_us).cast(pl.Datetime("us", "UTC"))
    if "%z" in t.format or "%Z" in t.format:
        return raw.str.strptime(pl.Datetime("us", "UTC"), t.format, strict=False)
    local = raw.str.strptime(pl.Datetime("us"), t.format, strict=False)
    # A local time that a clock change skips or repeats is unparsable, not guessed.
    return local.dt.replace_time_zone(t.timezone, non_existent="null", ambiguous="null").dt.convert_time_zone(
        "UTC"
    )


def _amount_expr(m: ExtractMapping) -> pl.Expr:
    factor = Decimal(FEN_PER_UNIT[m.amount.unit]) * m.amount.scale
    value = pl.col(m.amount.column).str.strip_chars().cast(pl.Decimal(38, 6), strict=False)
    # Rounded to the nearest fen (half away from zero), in decimal: money is never a float here.
    return (value * pl.lit(factor)).round(0).cast(pl.Int64, strict=False)


def _bank_expr(m: ExtractMapping, column: str | None) -> pl.Expr:
    if column is None:
        return pl.lit(m.accounts.bank, dtype=pl.String)
    raw = pl.col(column).str.strip_chars()
    if m.accounts.bank_codes:
        return raw.replace_strict(m.accounts.bank_codes, default=None, return_dtype=pl.String)
    from pingan.antifraud.banks.directory import BANKS_BY_CODE

    return pl.when(raw.is_in(list(BANKS_BY_CODE))).then(raw).otherwise(None)


def validate_rows(raw: pl.DataFrame, m: ExtractMapping) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse and check every row: (the valid rows, parsed; one quarantine record per failure)."""
    a = m.accounts
    channel = (
        pl.col(m.channel.column)
        .str.strip_chars()
        .replace_strict(m.channel.codes, default=None, return_dtype=pl.String)
        if m.channel.column
        else pl.lit(m.channel.constant, dtype=pl.String)
    )
    df = raw.with_columns(
        pl.col(a.payer).str.strip_chars().alias("_payer"),
        pl.col(a.payee).str.strip_chars().alias("_payee"),
        _bank_expr(m, a.payer_bank).alias("_payer_bank"),
        _bank_expr(m, a.payee_bank).alias("_payee_bank"),
        _time_expr(m).alias("_ts"),
        _amount_expr(m).alias("_fen"),
        channel.alias("_channel"),
    )
    # (reason, the extract's column it read, the failing condition)
    checks: list[tuple[str, str, pl.Expr]] = [
        ("empty_account", a.payer, pl.col("_payer").fill_null("") == ""),
        ("empty_account", a.payee, pl.col("_payee").fill_null("") == ""),
        ("unparsable_time", m.time.column, pl.col("_ts").is_null()),
        ("unparsable_amount", m.amount.column, pl.col("_fen").is_null()),
        ("negative_amount", m.amount.column, pl.col("_fen") < 0),
        ("zero_amount", m.amount.column, pl.col("_fen") == 0),
    ]
    if a.payer_bank:
        checks.append(("unknown_bank", a.payer_bank, pl.col("_payer_bank").is_null()))
    if a.payee_bank:
        checks.append(("unknown_bank", a.payee_bank, pl.col("_payee_bank").is_null()))
    if m.channel.column:
        checks.append(("unknown_channel", m.channel.column, pl.col("_channel").is_null()))
    if m.tx_id:
        checks.append(("empty_tx_id", m.tx_id, pl.col(m.tx_id).str.strip_chars().fill_null("") == ""))
    df = df.with_columns(pl.any_horizontal(*(c.fill_null(False) for _, _, c in checks)).alias("_bad"))
    failures = [
        df.filter(cond.fill_null(False)).select(
            "line", pl.lit(col).alias("field"), pl.lit(reason).alias("reason"), pl.col(col).alias("value")
        )
        for reason, col, cond in checks
    ]
    if m.tx_id:
        # The first row of an id that passes every other check is kept; a later row with its id is not.
        ident = pl.col(m.tx_id).str.strip_chars()
        dup = ~pl.col("_bad") & ~ident.is_first_distinct().over("_bad")
        df = df.with_columns(dup.alias("_dup"))
        failures.append(
            df.filter("_dup").select(
                "line", pl.lit(m.tx_id).alias("field"), pl.lit("duplicate_tx_id").alias("reason"),
                pl.col(m.tx_id).alias("value"),
            )
        )  # fmt: skip
        df = df.with_columns(pl.col("_bad") | pl.col("_dup"))
    quarantine = pl.concat(failures).sort("line", "field", "reason", maintain_order=True)
    valid = df.filter(~pl.col("_bad")).select(
        "line", "_payer", "_payee", "_payer_bank", "_payee_bank", "_ts", "_fen", "_channel"
    )
    return valid, quarantine


def derive_accounts(valid: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(accounts: one per bank and number, ids 0..n-1 in that order; the rows with payer/payee ids)."""
    keys = (
        pl.concat(
            [
                valid.select(pl.col("_payer_bank").alias("bank"), pl.col("_payer").alias("card_number")),
                valid.select(pl.col("_payee_bank").alias("bank"), pl.col("_payee").alias("card_number")),
            ]
        )
        .unique()
        .sort("bank", "card_number")
        .with_row_index("account_id")
        .with_columns(pl.col("account_id").cast(pl.Int64))
    )
    rows = valid.join(
        keys.rename({"bank": "_payer_bank", "card_number": "_payer", "account_id": "payer_account"}),
        on=["_payer_bank", "_payer"],
        how="left",
    ).join(
        keys.rename({"bank": "_payee_bank", "card_number": "_payee", "account_id": "payee_account"}),
        on=["_payee_bank", "_payee"],
        how="left",
    )
    return keys, rows


def _accounts_table(keys: pl.DataFrame) -> pa.Table:
    n = keys.height
    return pa.table(
        {
            "account_id": pa.array(keys["account_id"].to_numpy()),
            "holder_person_id": pa.nulls(n, pa.int64()),
            "bank": pa.array(keys["bank"].to_list(), pa.string()),
            "card_number": pa.array(keys["card_number"].to_list(), pa.string()),
            "type": pa.nulls(n, pa.string()),
            "opened": pa.nulls(n, pa.date32()),  # an extract of transfers says nothing of openings
            "status": pa.array(["active"] * n, pa.string()),
            "holder_type": pa.nulls(
                n, pa.string()
            ),  # personal or business: an extract of transfers does not say
            "kyc_occupation": pa.nulls(n, pa.string()),
            "opening_balance_fen": pa.nulls(n, pa.int64()),
        }
    )


_EMPTY_PERSONS = pa.schema(
    [("person_id", pa.int64()), ("birth_date", pa.date32()), ("national_id", pa.string()),
     ("phone", pa.string()), ("home_station", pa.string())]
)  # fmt: skip
_EMPTY_MERCHANTS = pa.schema(
    [("merchant_id", pa.int64()), ("account_id", pa.int64()), ("name", pa.string()), ("category", pa.string()),
     ("station_code", pa.string()), ("payday", pa.int8())]
)  # fmt: skip


def _beijing_day(ts: pl.Expr) -> pl.Expr:
    return ts.dt.convert_time_zone("Asia/Shanghai").dt.date()


def _write_days(rows: pl.DataFrame, out: Path, progress: Progress | None) -> list[date]:
    """One file per Beijing day; tx ids rise with time: the day's number in the high bits."""
    rows = rows.with_columns(_beijing_day(pl.col("_ts")).alias("_day")).sort("_ts", "line")
    days: list[date] = rows["_day"].unique().sort().to_list()
    first = days[0] if days else None
    channels = pa.array(CHANNELS)
    banks = sorted(set(rows["_payer_bank"].to_list()) | set(rows["_payee_bank"].to_list()))
    bank_dict = pa.array(banks, pa.string())
    bank_index = {b: i for i, b in enumerate(banks)}
    channel_index = {c: i for i, c in enumerate(CHANNELS)}
    for i, (key, part) in enumerate(rows.partition_by("_day", as_dict=True, maintain_order=True).items()):
        day = key[0]
        assert isinstance(day, date) and first is not None
        n = part.height
        tx_id = (np.int64((day - first).days) << np.int64(32)) + np.arange(n, dtype=np.int64)
        ts_us = part["_ts"].dt.epoch("us").to_numpy()

        def codes(col: str, index: dict[str, int], part: pl.DataFrame = part) -> pa.Array:
            return pa.array(part[col].replace_strict(index, return_dtype=pl.Int8).to_numpy())

        table = pa.Table.from_arrays(
            [
                pa.array(tx_id),
                pa.Array.from_buffers(
                    TS_TYPE, n, [None, pa.py_buffer(np.ascontiguousarray(ts_us, np.int64))]
                ),
                pa.array(part["payer_account"].to_numpy()),
                pa.array(part["payee_account"].to_numpy()),
                pa.array(part["_fen"].to_numpy()),
                pa.DictionaryArray.from_arrays(codes("_channel", channel_index), channels),
                pa.DictionaryArray.from_arrays(codes("_payer_bank", bank_index), bank_dict),
                pa.DictionaryArray.from_arrays(codes("_payee_bank", bank_index), bank_dict),
                pa.array(part["line"].to_numpy()),
            ],
            schema=IMPORT_TX_SCHEMA,
        )
        write_transactions(table, out / "transactions" / f"day={day.isoformat()}" / "part-0.parquet")
        if progress:
            progress("writing days", i + 1, len(days))
    return days


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def import_extract(
    path: Path,
    mapping: ExtractMapping,
    out: Path,
    *,
    progress: Progress | None = None,
    after_days: Callable[[Path], None] | None = None,
) -> ImportSummary:
    """Write the extract at `path` as a store at `out` (which must not exist), quarantining bad rows.

    The store is built in a temporary directory beside `out` and renamed into place at the end: a
    failure at any point (`after_days` runs once the day files are written, for tests of exactly
    that) removes it and leaves `out` absent.
    """
    if out.exists():
        raise Invalid(f"{out} exists: the import writes a new store", field="out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.importing-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        if progress:
            progress("reading", 0, 1)
        raw = read_extract(path, mapping)
        if progress:
            progress("reading", 1, 1)
            progress("checking rows", 0, 1)
        valid, quarantine = validate_rows(raw, mapping)
        keys, rows = derive_accounts(valid)
        if progress:
            progress("checking rows", 1, 1)
        days = _write_days(rows, tmp, progress)
        if after_days is not None:
            after_days(tmp)
        write_parquet(_accounts_table(keys), tmp / "accounts.parquet")
        write_parquet(_EMPTY_PERSONS.empty_table(), tmp / "persons.parquet")
        write_parquet(_EMPTY_MERCHANTS.empty_table(), tmp / "merchants.parquet")
        quarantine.write_csv(tmp / QUARANTINE)
        by_reason = {r: int(n) for r, n in quarantine.group_by("reason").len().sort("reason").iter_rows()}
        n_bad = quarantine["line"].n_unique()
        manifest = {
            "schema_version": cfg.SCHEMA_VERSION,
            "generator": GENERATOR,
            "source": {"file": path.name, "sha256": _sha256(path)},
            "mapping": mapping.model_dump(mode="json"),
            "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "start": days[0].isoformat() if days else None,
            "days": (days[-1] - days[0]).days + 1 if days else 0,
            "days_written": [d.isoformat() for d in days],
            "format": "parquet",
            "timezone_of_day_partitions": "Asia/Shanghai (UTC+8)",
            "counts": {
                "accounts": keys.height,
                "transactions": rows.height,
                "rows_read": raw.height,
                "rows_quarantined": n_bad,
                "failures_by_reason": by_reason,
            },
        }
        write_text(
            tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        )
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ImportSummary(
        rows_read=raw.height,
        rows_written=rows.height,
        rows_quarantined=n_bad,
        failures_by_reason=by_reason,
        accounts=keys.height,
        days=len(days),
        store=out,
        quarantine=out / QUARANTINE,
        first_day=days[0] if days else None,
    )
