"""Reading a generated district back, as records the platform database can take (`sim load`, later).

Ground truth (account roles, campaigns, flows) is deliberately absent from these records: the registry a
police bureau holds does not know which cards are mules. Truth stays in DIR/truth for scoring.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq


@dataclass(frozen=True)
class StationRecord:
    """A police station (派出所) with its area as a GeoJSON polygon (text)."""

    code: str
    name: str
    lat: float
    lon: float
    area_geojson: str


@dataclass(frozen=True)
class PersonRecord:
    """A person as the registry knows them; identifiers in the clear, to be protected on load."""

    person_id: int
    name: str
    sex: str
    birth_date: date
    national_id: str
    phone: str
    resident: bool
    home_station: str | None


@dataclass(frozen=True)
class AccountRecord:
    """An account or card of a holder at a bank (no role label: that is ground truth)."""

    account_id: int
    holder_person_id: int
    bank: str
    card_number: str
    type: str
    opened: date
    status: str


def iter_stations(root: Path) -> Iterator[StationRecord]:
    """The stations of stations.geojson, in file order."""
    doc = json.loads((root / "stations.geojson").read_text(encoding="utf-8"))
    for f in doc["features"]:
        p = f["properties"]
        yield StationRecord(p["code"], p["name"], float(p["lat"]), float(p["lon"]), json.dumps(f["geometry"]))


def _batches(path: Path, columns: list[str], batch_size: int) -> Iterator[list[dict[str, Any]]]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns):
        yield batch.to_pylist()


def iter_persons(root: Path, batch_size: int = 50_000) -> Iterator[list[PersonRecord]]:
    """Persons in batches of at most `batch_size`, by person_id."""
    cols = ["person_id", "name", "sex", "birth_date", "national_id", "phone", "resident", "home_station"]
    for rows in _batches(root / "persons.parquet", cols, batch_size):
        yield [PersonRecord(**r) for r in rows]


def iter_accounts(root: Path, batch_size: int = 100_000) -> Iterator[list[AccountRecord]]:
    """Accounts in batches of at most `batch_size`, by account_id."""
    cols = ["account_id", "holder_person_id", "bank", "card_number", "type", "opened", "status"]
    for rows in _batches(root / "accounts.parquet", cols, batch_size):
        yield [AccountRecord(**r) for r in rows]


def iter_reports(root: Path) -> Iterator[dict[str, Any]]:
    """Report objects of reports.jsonl, in the import format of docs/reports.md."""
    with (root / "reports.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def scan_transactions(root: Path) -> pl.LazyFrame:
    """All transactions as a lazy Polars frame over the day partitions (with a `day` column)."""
    return pl.scan_parquet(root / "transactions" / "**" / "*.parquet", hive_partitioning=True)
