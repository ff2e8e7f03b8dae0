"""The findings queue and history as lists: searched by the case number of the report a finding rests
on or by a card it names, sorted by a whitelisted column, and exported with their filters, masked and
audited."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders.model import FindingAccount, PoliceFinding
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from tests.antifraud.orders.conftest import MULE_CCB, mule_report, register
from tests.conftest import bearer
from tests.factories import card

pytestmark = pytest.mark.usefixtures("station_yulin")

ROW = re.compile(r'id="finding-(\d+)"')


def _findings() -> dict[str, PoliceFinding]:
    """The robot's drafts, by the case number of the report each rests on."""
    with db.transaction() as s:
        return {f.case_ref: f for f in s.execute(select(PoliceFinding)).scalars()}


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_a_search_by_the_reports_case_number_finds_the_finding_resting_on_it(
    client: TestClient, supervisor_liu: User
) -> None:
    register(mule_report(1, banks=("CCB",)))
    register(mule_report(2, banks=("ICBC",)))
    findings = _findings()
    wanted = findings["510107-2026-000001"]
    r = client.get("/findings", params={"q": "510107-2026-000001"}, headers=bearer(supervisor_liu))
    assert r.status_code == 200, r.text
    assert [int(i) for i in ROW.findall(r.text)] == [wanted.id]


def test_a_search_by_a_card_the_finding_names_finds_it_through_the_pseudonym(
    client: TestClient, supervisor_liu: User
) -> None:
    register(mule_report(1, banks=("CCB",)))
    register(mule_report(2, banks=("ICBC",)))
    with db.transaction() as s:
        named = s.execute(
            select(FindingAccount.finding_id).where(FindingAccount.bank_code == "ICBC")
        ).scalar_one()
    icbc = card("622202", 10_002)  # the account mule_report(2) pays
    r = client.get("/findings", params={"q": icbc}, headers=bearer(supervisor_liu))
    assert [int(i) for i in ROW.findall(r.text)] == [named]
    with db.transaction() as s:
        entry = (
            s.execute(select(AuditEntry).where(AuditEntry.action == "police_finding.list")).scalars().all()
        )
    assert icbc not in json.dumps([e.detail for e in entry])  # the audit log holds the pseudonym


def test_the_export_honours_the_kind_filter_masks_cards_and_writes_one_audit_entry(
    client: TestClient, supervisor_liu: User
) -> None:
    register(mule_report(1, banks=("CCB",)))
    r = client.get("/findings/export?format=csv&kind=report", headers=bearer(supervisor_liu))
    assert r.status_code == 200, r.text
    header, *rows = _csv(r.content)
    assert len(rows) == 1 and rows[0][1] == "510107-2026-000001"
    assert any("Asia/Shanghai" in h for h in header) and any("yuan" in h or "元" in h for h in header)
    text = r.content.decode("utf-8-sig")
    assert MULE_CCB not in text and "6217 **** **** " in text
    none = client.get("/findings/export?format=csv&kind=trace", headers=bearer(supervisor_liu))
    assert _csv(none.content)[1:] == []
    with db.transaction() as s:
        entries = (
            s.execute(select(AuditEntry).where(AuditEntry.action == "police_finding.export")).scalars().all()
        )
    assert len(entries) == 2
    first = json.loads(entries[0].detail)
    assert first["filters"]["kind"] == "report" and first["rows"] == 1 and first["format"] == "csv"


def test_the_history_export_honours_the_status_filter(client: TestClient, supervisor_liu: User) -> None:
    register(mule_report(1, banks=("CCB",)))
    register(mule_report(2, banks=("ICBC",)))
    findings = _findings()
    refused = findings["510107-2026-000002"]
    for f, decision, note in (
        (findings["510107-2026-000001"], "approve", ""),
        (refused, "refuse", "no basis"),
    ):
        r = client.post(
            f"/findings/{f.id}/decision",
            data={"decision": decision, "note": note},
            headers=bearer(supervisor_liu),
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    r = client.get("/findings/history/export?format=xlsx&status=refused", headers=bearer(supervisor_liu))
    assert r.status_code == 200, r.text
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [refused.id]


@pytest.mark.parametrize("path", ["/findings", "/findings/history", "/findings/export"])
def test_a_sort_outside_the_whitelist_is_refused_naming_sort(
    client: TestClient, supervisor_liu: User, path: str
) -> None:
    r = client.get(path, params={"sort": "legal_basis"}, headers=bearer(supervisor_liu))
    assert r.status_code == 422 and "sort" in r.text


def test_the_queue_sorts_by_the_number_of_accounts_named(client: TestClient, supervisor_liu: User) -> None:
    register(mule_report(1, banks=("CCB",)))
    register(mule_report(2, banks=("CCB", "ICBC")))
    findings = _findings()
    r = client.get("/findings", params={"sort": "-accounts"}, headers=bearer(supervisor_liu))
    ids = [int(i) for i in ROW.findall(r.text)]
    assert ids == [findings["510107-2026-000002"].id, findings["510107-2026-000001"].id]
