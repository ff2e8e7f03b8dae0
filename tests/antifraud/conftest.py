"""Fixtures shared by the anti-fraud loop's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingan.antifraud.registry.imports import import_registry
from pingan.core.roles import Actor
from tests.antifraud.orders.conftest import MULE_ABC, MULE_CCB, MULE_HOLDER, MULE_ICBC


@pytest.fixture
def mule_zhao_registered(database: str, tmp_path: Path) -> None:
    """Mule Zhao holds the reported CCB account and two more cards at ICBC and ABC."""
    f = tmp_path / "kyc.csv"
    rows = [
        f"{MULE_HOLDER},赵六,{bank},{number},debit,2024-03-01,active"
        for bank, number in (("CCB", MULE_CCB), ("ICBC", MULE_ICBC), ("ABC", MULE_ABC))
    ]
    f.write_text(
        "holder_national_id,holder_name,bank,account_number,kind,opened_on,status\n" + "\n".join(rows)
    )
    assert import_registry(f, actor=Actor.system("test")).imported == 3
