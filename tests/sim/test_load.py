"""`pingan sim load` puts a generated district's stations, registry and reports into the platform database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from pingan.antifraud.registry.model import AccountHolder, BankAccount
from pingan.antifraud.reports.model import FraudReport
from pingan.core import db
from pingan.core.audit import AuditEntry, verify_chain
from pingan.core.org import Station
from pingan.sim import generate
from pingan.sim.dbload import load_district


@pytest.fixture(scope="module")
def tiny_district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("district") / "tiny"
    generate("tiny", 11, out)
    return out


def _count(model: type) -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_load_brings_stations_registry_and_every_report(database: str, tiny_district: Path) -> None:
    summary = load_district(tiny_district, max_accounts=400)
    assert summary.stations == _count(Station) == 16
    assert summary.accounts == _count(BankAccount) == 400
    assert _count(AccountHolder) < 400  # people hold several cards
    assert summary.reports.rejected == []
    assert summary.reports.imported == _count(FraudReport) > 10


def test_loading_twice_changes_nothing(database: str, tiny_district: Path) -> None:
    load_district(tiny_district, max_accounts=100)
    audit_after_first = _count(AuditEntry)
    again = load_district(tiny_district, max_accounts=100)
    assert again.reports.imported == 0
    assert _count(AuditEntry) == audit_after_first
    with db.transaction() as s:
        assert verify_chain(s).ok
