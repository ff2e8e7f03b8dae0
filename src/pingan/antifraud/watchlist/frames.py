"""The watchlist as the screening engine reads it: one row per listed account of the transaction store."""

from __future__ import annotations

import polars as pl

# Times are the transaction store's: microseconds, UTC.
WATCHLIST_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    "listed_from": pl.Datetime("us", "UTC"),
    "expires_at": pl.Datetime("us", "UTC"),
    "source": pl.String(),
    "confidence": pl.Float64(),
    "typology": pl.String(),
}
