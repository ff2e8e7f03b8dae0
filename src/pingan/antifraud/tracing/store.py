"""Reading the transaction store (交易库) that the synthetic district and the banks' exports share.

Layout: `DIR/manifest.json`, `DIR/accounts.parquet`, optional `DIR/merchants.parquet`, and
`DIR/transactions/day=YYYY-MM-DD/part-*.parquet` (days are Beijing calendar dates).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pingan.core.errors import Invalid, NotFound

TX_COLUMNS = ("tx_id", "ts", "payer_account", "payee_account", "amount_fen", "channel")

# Cash-out kinds of a transfer's destination (取现/套现 points). The code is stored per transaction.
NOT_CASHOUT, CASHOUT_ATM, CASHOUT_MERCHANT, CASHOUT_OTC = range(4)
CASHOUT_NAMES = ("", "atm", "merchant", "otc")
_MERCHANT_CHANNELS = ("qr", "pos")


@dataclass(frozen=True)
class StoreDays:
    """The days a store should hold and the ones it lacks."""

    first: date
    last: date
    missing: tuple[date, ...]


def _partition_day(p: Path) -> date | None:
    if not p.is_dir() or not p.name.startswith("day="):
        return None
    try:
        return date.fromisoformat(p.name[4:])
    except ValueError:
        return None


def day_partitions(store: Path) -> dict[date, Path]:
    """Each day partition of the store, by its date."""
    tx_dir = store / "transactions"
    if not tx_dir.is_dir():
        raise NotFound(f"no transactions/ directory in store {store}")
    out = {}
    for p in sorted(tx_dir.iterdir()):
        d = _partition_day(p)
        if d is not None and any(p.glob("*.parquet")):
            out[d] = p
    return out


def read_manifest(store: Path) -> dict[str, Any]:
    """manifest.json of the store, or {} when it has none."""
    path = store / "manifest.json"
    if not path.exists():
        return {}
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def store_days(store: Path) -> StoreDays:
    """The expected day range (from the manifest, else first..last partition) and the missing days."""
    present = day_partitions(store)
    manifest = read_manifest(store)
    if "start" in manifest and "days" in manifest:
        first = date.fromisoformat(str(manifest["start"]))
        last = first + timedelta(days=int(manifest["days"]) - 1)
    elif present:
        first, last = min(present), max(present)
    else:
        raise NotFound(f"store {store} holds no day partitions")
    missing = []
    d = first
    while d <= last:
        if d not in present:
            missing.append(d)
        d += timedelta(days=1)
    return StoreDays(first, last, tuple(missing))


def otc_accounts(store: Path) -> np.ndarray:
    """Sorted account ids of the OTC dealers in merchants.parquet (empty without one)."""
    merchants = store / "merchants.parquet"
    if not merchants.exists():
        return np.zeros(0, dtype=np.int64)
    m = pq.read_table(merchants, columns=["account_id", "category"])
    acc = m.column("account_id").to_numpy()
    cat = np.asarray(m.column("category").to_pylist(), dtype=object)
    return np.sort(acc[cat == "otc_dealer"]).astype(np.int64)


def cashout_codes(otc: np.ndarray, payee: np.ndarray, channel: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Cash-out code of each transfer: ATM (no payee account, or the atm channel), OTC dealer, merchant."""
    codes = np.zeros(payee.size, dtype=np.int8)
    chan = channel.combine_chunks() if isinstance(channel, pa.ChunkedArray) else channel
    if not pa.types.is_dictionary(chan.type):
        chan = chan.cast(pa.string()).dictionary_encode()
    names = chan.dictionary.to_pylist()
    idx = chan.indices.to_numpy(zero_copy_only=False)
    for i, name in enumerate(names):
        if name in _MERCHANT_CHANNELS:
            codes[idx == i] = CASHOUT_MERCHANT
    if otc.size:
        pos = np.clip(np.searchsorted(otc, payee), 0, otc.size - 1)
        codes[otc[pos] == payee] = CASHOUT_OTC
    atm = payee < 0
    for i, name in enumerate(names):
        if name == "atm":
            atm |= idx == i
    codes[atm] = CASHOUT_ATM
    return codes


def card_to_account(store: Path) -> dict[str, int]:
    """Card number → account id, from accounts.parquet."""
    t = pq.read_table(store / "accounts.parquet", columns=["account_id", "card_number"])
    return dict(zip(t.column("card_number").to_pylist(), t.column("account_id").to_pylist(), strict=True))


def read_report(path: Path, ref: str | None) -> dict[str, Any]:
    """One report of a JSONL report file: the one with `external_ref == ref`, or the only one."""
    found: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                raise Invalid(f"{path}:{lineno}: not JSON ({exc.msg})") from None
            if ref is None or doc.get("external_ref") == ref:
                found.append(doc)
    if not found:
        raise NotFound(f"report {ref!r} not in {path}")
    if len(found) > 1:
        raise Invalid(f"{path} holds {len(found)} reports; name one with --ref")
    return found[0]


def account_cards(store: Path, ids: list[int]) -> dict[int, tuple[str, str]]:
    """(bank code, card number) of each given store account id that accounts.parquet holds."""
    import pyarrow.compute as pc

    path = store / "accounts.parquet"
    if not path.exists():
        raise NotFound(f"no accounts.parquet in store {store}")
    names = pq.read_schema(path).names
    if "bank" not in names or "card_number" not in names:
        raise Invalid(f"{path}: needs the columns bank and card_number", field="accounts")
    t = pq.read_table(path, columns=["account_id", "bank", "card_number"])
    t = t.filter(pc.is_in(t.column("account_id"), value_set=pa.array(ids, pa.int64())))
    return {
        int(a): (str(b), str(c))
        for a, b, c in zip(
            t.column("account_id").to_pylist(),
            t.column("bank").to_pylist(),
            t.column("card_number").to_pylist(),
            strict=True,
        )
    }
