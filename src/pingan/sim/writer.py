"""Files of a generated district: fixed Parquet settings so that the same input gives the same bytes.

Transaction day files (store format 2, `params.SCHEMA_VERSION`) hold their rows grouped by channel,
one row group per channel (in `CHANNELS` order), each group in time order; tx ids rise with time
across the groups, so sorting a file's rows by (ts, tx_id) or by tx_id gives its time order. A
reader that wants one kind of channel (screening reads the account transfers, a sixth of a district's
rows) picks the row groups by the channel column's statistics and decodes nothing else. The integer
and time columns are DELTA_BINARY_PACKED: ids and times rise within a group, so their deltas pack
into a few bits, and decoding them is cheaper than zstd over plain 8-byte values; the pages are then
lz4-compressed (below). Format 1 (the rows of a day in time order in row groups of 2^20, plain
zstd) still reads: every reader sorts or filters what it needs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pingan.sim.accounts import BANK_CODES
from pingan.sim.normal import CHANNELS, KINDS, Rows

# No timestamps, no environment-dependent metadata: pyarrow writes the same bytes for the same table.
# store_schema=False leaves out the Arrow schema blob, so dictionary columns read back as plain strings.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 1,
    "write_statistics": True,
    "store_schema": False,
    "row_group_size": 1 << 20,
}
TS_TYPE = pa.timestamp("us", tz="UTC")
TX_SCHEMA = pa.schema(
    [
        ("tx_id", pa.int64()),
        ("ts", TS_TYPE),
        ("payer_account", pa.int64()),
        ("payee_account", pa.int64()),
        ("amount_fen", pa.int64()),
        ("channel", pa.dictionary(pa.int8(), pa.string())),
        ("payer_bank", pa.dictionary(pa.int8(), pa.string())),
        ("payee_bank", pa.dictionary(pa.int8(), pa.string())),
    ]
)
# The generator's labels of each transaction: truth/tx_labels/day=…/part-0.parquet, keyed by tx_id.
# They are not in the transaction files: a bank hands over no labels.
LABEL_SCHEMA = pa.schema(
    [
        ("tx_id", pa.int64()),
        ("kind", pa.dictionary(pa.int8(), pa.string())),
        ("is_fraud", pa.bool_()),
        ("campaign_id", pa.int64()),
    ]
)
_CHANNELS = pa.array(CHANNELS)
_BANKS = pa.array(BANK_CODES)
_KINDS = pa.array(KINDS)


def tx_table(tx_id: np.ndarray, rows: Rows, bank: np.ndarray) -> pa.Table:
    """A transactions table; `bank` maps account id to bank index, and an ATM payee takes the payer's bank."""
    payer_bank = bank[rows.payer]
    payee_bank = np.where(rows.payee >= 0, bank[np.maximum(rows.payee, 0)], payer_bank)
    return pa.Table.from_arrays(
        [
            pa.array(tx_id),
            pa.Array.from_buffers(
                TS_TYPE, rows.size, [None, pa.py_buffer(np.ascontiguousarray(rows.ts, np.int64))]
            ),
            pa.array(rows.payer),
            pa.array(rows.payee),
            pa.array(rows.amount),
            pa.DictionaryArray.from_arrays(pa.array(rows.channel), _CHANNELS),
            pa.DictionaryArray.from_arrays(pa.array(payer_bank.astype(np.int8)), _BANKS),
            pa.DictionaryArray.from_arrays(pa.array(payee_bank.astype(np.int8)), _BANKS),
        ],
        schema=TX_SCHEMA,
    )


def label_table(tx_id: np.ndarray, rows: Rows) -> pa.Table:
    """The generator's labels of the rows (LABEL_SCHEMA), in the order given (time order)."""
    return pa.Table.from_arrays(
        [
            pa.array(tx_id),
            pa.DictionaryArray.from_arrays(pa.array(rows.kind), _KINDS),
            pa.array(rows.campaign >= 0),
            pa.array(rows.campaign),
        ],
        schema=LABEL_SCHEMA,
    )


# Measured on 12 district days read single-threaded (the screened channels' row groups, the seven
# columns screening reads): zstd over plain values 0.37 s, zstd with delta-packed ids and times
# 0.30 s, with every integer column delta-packed 0.24 s, lz4 the same 0.20-0.23 s, uncompressed
# (ids and times delta-packed) 0.20 s; files 191, 173, 168, 172 and 533 MB (204 MB in format 1).
# End to end (district screening, interleaved) lz4 took 0.16-0.34 s less CPU than zstd in each of
# three pairs of runs, the files the same size (1.2 GB): delta-packed columns leave zstd little to
# find.
_DELTA_COLUMNS = ("tx_id", "ts", "payer_account", "payee_account", "amount_fen", "campaign_id")
_TX_COMPRESSION = "lz4"


def write_transactions(table: pa.Table, path: Path, *, csv: bool = False) -> None:
    """Write a day of transactions (TX_SCHEMA, or an imported store's columns; rows in time order) in
    store format 2: rows grouped by channel, one row group each, integer columns delta-packed; with
    `csv`, a CSV file beside it (in the same row order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    channel = table.column("channel").combine_chunks().indices.to_numpy(zero_copy_only=False)
    order = np.argsort(channel, kind="stable")  # stable: each channel's rows stay in time order
    table = table.take(pa.array(order))
    counts = np.bincount(channel, minlength=len(CHANNELS))
    text = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
    options = {**PARQUET_OPTIONS, "compression": _TX_COMPRESSION}
    options.pop("compression_level")
    group_rows = options.pop("row_group_size")
    with pq.ParquetWriter(
        path,
        table.schema,
        use_dictionary=text,
        column_encoding=dict.fromkeys(
            [c for c in _DELTA_COLUMNS if c in table.column_names], "DELTA_BINARY_PACKED"
        ),
        **options,
    ) as writer:
        start = 0
        for n in counts.tolist():
            if n:  # a write of fewer rows than the group size is a row group of its own
                writer.write_table(table.slice(start, n), row_group_size=group_rows)
            start += n
    if csv:
        plain = table.cast(pa.schema([pa.field(f.name, _plain(f.type)) for f in table.schema]))
        pacsv.write_csv(plain, path.with_suffix(".csv"))


def write_parquet(table: pa.Table, path: Path, *, csv: bool = False) -> None:
    """Write `table` with the fixed settings; with `csv`, also a CSV file beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Dictionary encoding only for text columns: on ids, times and amounts it costs time and saves nothing.
    text = [f.name for f in table.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
    pq.write_table(table, path, use_dictionary=text, **PARQUET_OPTIONS)
    if csv:
        plain = table.cast(pa.schema([pa.field(f.name, _plain(f.type)) for f in table.schema]))
        pacsv.write_csv(plain, path.with_suffix(".csv"))


def _plain(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text with Unix newlines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def file_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by relative path."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
