"""`pingan sim load`: put a generated district into the platform database.

Stations, the account registry (holders and their cards: what "one card involved, all cards
stopped" resolves against) and the reports go in; transactions stay in Parquet for the analytics
engines. Ground truth is never loaded. Every row goes through the same write path as a real
import (`do_upsert_station`, `do_upsert_account`, `import_reports`), so it is validated,
pseudonymised, encrypted and audited; loading again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pingan.antifraud.registry.actions import KycRecord, account_by_number, do_upsert_account
from pingan.antifraud.registry.choices import AccountKind, AccountStatus
from pingan.antifraud.reports.imports import ImportSummary, import_reports
from pingan.core import db
from pingan.core.org import Station, do_upsert_station
from pingan.core.pii import PiiKind, pseudonym
from pingan.core.roles import Actor
from pingan.sim.load import iter_accounts, iter_stations

Progress = Callable[[str, int, int], None]
_KIND = {"debit": AccountKind.DEBIT, "credit": AccountKind.CREDIT, "ewallet": AccountKind.EWALLET}


@dataclass(frozen=True)
class LoadSummary:
    """What a load put in."""

    stations: int
    accounts: int
    reports: ImportSummary


def _holders(root: Path) -> dict[int, tuple[str, str]]:
    table = pq.read_table(root / "persons.parquet", columns=["person_id", "national_id", "name"])
    ids = table.column("person_id").to_pylist()
    nids = table.column("national_id").to_pylist()
    names = table.column("name").to_pylist()
    return {pid: (nid, name) for pid, nid, name in zip(ids, nids, names, strict=True)}


def load_district(
    root: Path,
    *,
    actor: Actor | None = None,
    batch_size: int = 2_000,
    max_accounts: int | None = None,
    reports_file: Path | None = None,
    progress: Progress | None = None,
) -> LoadSummary:
    """Load stations, registry and reports of the district in `root`; each batch is one transaction.

    `reports_file` replaces the district's own reports.jsonl (the demo holds some back to feed live).
    """
    actor = actor or Actor.system("sim-load")
    stations = list(iter_stations(root))
    with db.transaction() as session:
        for st in stations:
            known = session.get(Station, st.code)
            if known is not None and (known.name, known.area_geojson) == (st.name, st.area_geojson):
                continue
            do_upsert_station(
                session,
                code=st.code,
                name=st.name,
                lat=st.lat,
                lon=st.lon,
                area_geojson=st.area_geojson,
                actor=actor,
            )
    holders = _holders(root)
    total = pq.ParquetFile(root / "accounts.parquet").metadata.num_rows
    if max_accounts is not None:
        total = min(total, max_accounts)
    loaded = 0
    for batch in iter_accounts(root, batch_size=batch_size):
        batch = batch[: total - loaded]
        if not batch:
            break
        with db.transaction() as session:
            for acc in batch:
                if account_by_number(session, acc.bank, pseudonym(PiiKind.CARD, acc.card_number)) is not None:
                    continue  # loaded before: a second load changes nothing
                nid, name = holders[acc.holder_person_id]
                record = KycRecord(
                    holder_national_id=nid,
                    holder_name=name,
                    bank_code=acc.bank,
                    account_number=acc.card_number,
                    kind=_KIND[acc.type],
                    opened_on=acc.opened,
                    status=AccountStatus(acc.status),
                )
                do_upsert_account(session, record, actor=actor)
        loaded += len(batch)
        if progress is not None:
            progress("registry", loaded, total)

    done = 0

    def report_progress(advance: int, of: int) -> None:
        nonlocal done
        done += advance
        if progress is not None:
            progress("reports", done, of)

    reports = import_reports(reports_file or root / "reports.jsonl", actor=actor, progress=report_progress)
    return LoadSummary(stations=len(stations), accounts=loaded, reports=reports)
