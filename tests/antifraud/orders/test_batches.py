"""Reports and approvals that arrive together: one request, one transaction, the same rules as one by one."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.antifraud.orders.choices import FindingStatus, OrderReason
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.antifraud.registry.imports import import_registry
from pingan.antifraud.reports.model import FraudReport
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.roles import Actor
from tests.antifraud.orders.conftest import mule_report
from tests.conftest import bearer
from tests.factories import card, national_id

MULE_HOLDER = national_id("51010719900101003")
MULE_CCB = card("621700", 10_000 + 1)  # the account mule_report(1) pays
MULE_ICBC = card("622202", 777)


@pytest.fixture
def mule_zhao_registered(database: str, tmp_path: Path) -> None:
    """Mule Zhao holds the CCB account mule_report(1) pays and one more card at ICBC."""
    f = tmp_path / "kyc.csv"
    rows = [
        f"{MULE_HOLDER},赵六,{bank},{n},debit,2024-03-01,active"
        for bank, n in (("CCB", MULE_CCB), ("ICBC", MULE_ICBC))
    ]
    f.write_text(
        "holder_national_id,holder_name,bank,account_number,kind,opened_on,status\n" + "\n".join(rows)
    )
    assert import_registry(f, actor=Actor.system("test")).imported == 2


def _count(what: object) -> int:
    with db.read_transaction() as s:
        return int(s.execute(select(func.count()).select_from(what)).scalar_one())  # type: ignore[arg-type]


def _orders() -> list[RestrictionOrder]:
    with db.read_transaction() as s:
        return list(s.execute(select(RestrictionOrder).order_by(RestrictionOrder.id)).scalars())


def test_each_report_of_a_batch_is_registered_audited_and_its_payees_stopped(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    batch = [mule_report(n, banks=("CCB", "ICBC")) for n in (1, 2, 3)]
    r = client.post("/api/v1/fraud-reports/batch", json={"reports": batch}, headers=bearer(officer_li))
    assert r.status_code == 201, r.text
    assert [x["external_ref"] for x in r.json()["reports"]] == [b["external_ref"] for b in batch]
    with db.read_transaction() as s:
        registered = s.execute(
            select(func.count()).where(AuditEntry.action == "fraud_report.register")
        ).scalar_one()
    assert registered == 3
    orders = _orders()
    assert len(orders) == 6 and all(o.reason is OrderReason.DIRECT_PAYEE for o in orders)
    assert _count(PoliceFinding) == 3


def test_a_refused_report_is_named_by_its_index_and_nothing_of_the_batch_is_written(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    batch = [mule_report(1), mule_report(2), mule_report(1)]  # the third repeats the first's reference
    r = client.post("/api/v1/fraud-reports/batch", json={"reports": batch}, headers=bearer(officer_li))
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "reports.2.external_ref"
    assert _count(FraudReport) == 0 and _count(RestrictionOrder) == 0


def test_a_malformed_report_is_named_by_its_index(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    bad = mule_report(2)
    bad["transfers"][0]["payee_account"] = "6217000000000000001"  # wrong Luhn check digit
    r = client.post(
        "/api/v1/fraud-reports/batch", json={"reports": [mule_report(1), bad]}, headers=bearer(officer_li)
    )
    assert r.status_code == 422, r.text
    assert "reports.1.transfers.0.payee_account" in r.text
    assert _count(FraudReport) == 0


def test_two_reports_of_one_batch_paying_the_same_mule_get_one_order_on_the_earlier_report(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    first, second = mule_report(1), mule_report(2)
    second["transfers"][0]["payee_account"] = first["transfers"][0]["payee_account"]
    r = client.post(
        "/api/v1/fraud-reports/batch", json={"reports": [first, second]}, headers=bearer(officer_li)
    )
    ids = [x["id"] for x in r.json()["reports"]]
    assert [o.report_id for o in _orders()] == [ids[0]]


def test_approving_a_batch_of_findings_stops_every_other_card_of_their_holders(
    client: TestClient,
    station_yulin: object,
    officer_li: User,
    supervisor_liu: User,
    mule_zhao_registered: None,
) -> None:
    client.post(
        "/api/v1/fraud-reports/batch",
        json={"reports": [mule_report(1), mule_report(2)]},
        headers=bearer(officer_li),
    )
    drafts = [f["id"] for f in client.get("/api/v1/findings", headers=bearer(supervisor_liu)).json()]
    r = client.post(
        "/api/v1/findings/decisions",
        json={"decisions": [{"finding_id": i, "approve": True} for i in drafts]},
        headers=bearer(supervisor_liu),
    )
    assert r.status_code == 200, r.text
    assert [f["status"] for f in r.json()] == ["approved", "approved"]
    linked = [o for o in _orders() if o.reason is OrderReason.HOLDER_LINKED]
    assert [(o.bank_code, o.account.masked[-4:]) for o in linked] == [("ICBC", MULE_ICBC[-4:])]


def test_a_decision_batch_naming_a_decided_finding_is_refused_whole(
    client: TestClient, station_yulin: object, officer_li: User, supervisor_liu: User
) -> None:
    client.post(
        "/api/v1/fraud-reports/batch",
        json={"reports": [mule_report(1), mule_report(2)]},
        headers=bearer(officer_li),
    )
    first, second = (f["id"] for f in client.get("/api/v1/findings", headers=bearer(supervisor_liu)).json())
    client.post(f"/api/v1/findings/{first}/decision", json={"approve": False}, headers=bearer(supervisor_liu))
    r = client.post(
        "/api/v1/findings/decisions",
        json={"decisions": [{"finding_id": second, "approve": True}, {"finding_id": first, "approve": True}]},
        headers=bearer(supervisor_liu),
    )
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "decisions.1.status"
    with db.read_transaction() as s:
        assert s.get(PoliceFinding, second).status is FindingStatus.DRAFT  # type: ignore[union-attr]
