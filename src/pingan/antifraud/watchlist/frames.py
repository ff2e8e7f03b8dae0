"""The watchlist as the screening engine reads it: one row per listed account of the transaction store."""

from __future__ import annotations

import polars as pl

from pingan.antifraud.watchlist.model import WatchlistEntry

# Times are the transaction store's: microseconds, UTC.
WATCHLIST_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    "listed_from": pl.Datetime("us", "UTC"),
    "expires_at": pl.Datetime("us", "UTC"),
    "source": pl.String(),
    "confidence": pl.Float64(),
    "typology": pl.String(),
}


def watchlist_frame(entries: list[WatchlistEntry], account_ids: dict[str, int]) -> pl.DataFrame:
    """The entries as the screening engine's watchlist (WATCHLIST_SCHEMA), keyed by store account id.

    `account_ids` maps account pseudonym to the transaction store's account id; entries with a
    `store_account_id` need no mapping.
    """
    rows = []
    for e in entries:
        acct = e.store_account_id if e.store_account_id is not None else account_ids.get(e.account_pseudonym)
        if acct is None:
            continue
        rows.append(
            {
                "account_id": acct,
                "listed_from": e.listed_at,
                "expires_at": e.expires_at,
                "source": e.source.value,
                "confidence": e.confidence,
                "typology": e.typology,
            }
        )
    if not rows:
        return pl.DataFrame(schema=WATCHLIST_SCHEMA)
    frame = pl.DataFrame(rows).with_columns(
        pl.col("listed_from", "expires_at").cast(WATCHLIST_SCHEMA["listed_from"])
    )
    # One row per account: the most trusted entry, listed from the earliest time any source listed it.
    return (
        frame.sort("confidence", descending=True)
        .group_by("account_id", maintain_order=True)
        .agg(
            pl.col("listed_from").min(),
            pl.col("expires_at").max(),
            pl.col("source").first(),
            pl.col("confidence").first(),
            pl.col("typology").drop_nulls().first(),
        )
        .select(list(WATCHLIST_SCHEMA))
        .cast(WATCHLIST_SCHEMA)  # type: ignore[arg-type]
    )
