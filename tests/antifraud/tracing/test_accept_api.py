"""POST /api/v1/fraud-reports/{id}/trace/accept: a registered report, traced through the store, accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders.choices import AlertKind, FindingStatus, OrderKind
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder, RobotAlert
from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports.schemas import ReportIn
from pingan.antifraud.tracing import registered as tracing_api
from pingan.antifraud.watchlist.choices import WatchSource
from pingan.antifraud.watchlist.model import WatchlistEntry
from pingan.core import db
from pingan.core.auth import User
from pingan.core.pii import PiiKind, lookup_key
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings
from tests.antifraud.tracing.conftest import (
    ATM,
    MULE_T1_ZHAO,
    MULE_T2_QIAN,
    MULE_T2_SUN,
    VICTIM_WANG,
    Store,
    at,
    card_of,
)
from tests.conftest import bearer
from tests.factories import report_payload

pytestmark = pytest.mark.usefixtures("station_yulin")


@pytest.fixture
def wang_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: TestClient) -> int:
    """Wang's 10,000 yuan to Zhao, in the store under the data directory and as a registered report."""
    store = Store(tmp_path / "data" / tracing_api.STORE_NAME)
    store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 10_000)
    store.tx(at(10, 5), MULE_T1_ZHAO, MULE_T2_QIAN, 5_000)
    store.tx(at(10, 6), MULE_T1_ZHAO, MULE_T2_SUN, 3_000)
    store.tx(at(10, 20), MULE_T2_SUN, ATM, 3_000)
    store.write()
    settings = get_settings().model_copy(update={"data_dir": tmp_path / "data"})
    monkeypatch.setattr(tracing_api, "get_settings", lambda: settings)
    transfer = {
        "occurred_at": "2026-11-20T10:00:00+08:00",
        "amount_fen": 1_000_000,
        "payer_card": card_of(VICTIM_WANG),
        "payer_bank": "ICBC",
        "payee_account": card_of(MULE_T1_ZHAO),
        "payee_bank": "ICBC",
        "channel": "mobile_banking",
    }
    report = ReportIn(**report_payload(transfers=[transfer]))
    with db.transaction() as session:
        item = report_actions.NewReport(report=report, actor=Actor("li", Role.OFFICER))
        row = report_actions.register_report(session, item).report
        return row.id


def test_accepting_a_report_trace_lists_the_holding_accounts_as_traced_and_drafts_a_finding(
    client: TestClient, analyst_zhang: User, wang_report: int
) -> None:
    r = client.post(
        f"/api/v1/fraud-reports/{wang_report}/trace/accept",
        json={"method": "fifo"},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert {a["account"]: a["recoverable_fen"] for a in body["accounts"]} == {
        MULE_T1_ZHAO: 200_000,
        MULE_T2_QIAN: 500_000,
    }
    with db.transaction() as session:
        traced = session.execute(
            select(WatchlistEntry).where(WatchlistEntry.source == WatchSource.TRACED)
        ).scalars()
        assert {e.store_account_id for e in traced} == {MULE_T1_ZHAO, MULE_T2_QIAN}
        finding = session.get(PoliceFinding, body["finding_id"])
        assert finding is not None
        assert finding.status is FindingStatus.DRAFT
        assert sorted(a.traced_amount_fen or 0 for a in finding.accounts) == [200_000, 500_000]


def test_the_trace_page_lists_the_recommendations_and_its_form_drafts_a_finding(
    client: TestClient, analyst_zhang: User, wang_report: int
) -> None:
    page = client.get(f"/fraud-reports/{wang_report}/trace", headers=bearer(analyst_zhang))
    assert page.status_code == 200
    assert 'id="accept-recommendations"' in page.text
    assert "¥5,000.00" in page.text and "¥2,000.00" in page.text  # Qian's and Zhao's recoverable yuan
    report_page = client.get(f"/reports/{wang_report}", headers=bearer(analyst_zhang))
    assert f'href="/fraud-reports/{wang_report}/trace"' in report_page.text

    r = client.post(
        f"/fraud-reports/{wang_report}/trace/accept",
        data={"method": "fifo", "cards": [lookup_key(PiiKind.CARD, card_of(MULE_T2_QIAN))]},
        headers=bearer(analyst_zhang),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/findings"
    with db.transaction() as session:
        traced = session.execute(
            select(WatchlistEntry).where(WatchlistEntry.source == WatchSource.TRACED)
        ).scalars()
        assert {e.store_account_id for e in traced} == {MULE_T2_QIAN}


def test_the_trace_form_names_the_field_when_nothing_is_ticked(
    client: TestClient, analyst_zhang: User, wang_report: int
) -> None:
    def findings() -> int:
        with db.transaction() as session:
            return len(session.execute(select(PoliceFinding.id)).all())

    before = findings()
    r = client.post(
        f"/fraud-reports/{wang_report}/trace/accept",
        data={"method": "fifo"},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 422 and "accounts" in r.text
    assert findings() == before


def test_pingan_trace_report_id_prints_the_same_trace_as_the_api(
    client: TestClient, analyst_zhang: User, wang_report: int
) -> None:
    from typer.testing import CliRunner

    from pingan.cli import app

    out = CliRunner().invoke(app, ["trace", str(wang_report), "--method", "fifo"])
    assert out.exit_code == 0, out.output
    api = client.get(f"/api/v1/fraud-reports/{wang_report}/trace", headers=bearer(analyst_zhang)).json()
    cli = json.loads(out.output)
    assert cli["held_total_fen"] == api["held_total_fen"] == 700_000
    assert cli["accounts"] == api["accounts"]


def test_pingan_trace_names_a_report_that_does_not_exist(wang_report: int) -> None:
    from typer.testing import CliRunner

    from pingan.cli import app

    out = CliRunner().invoke(app, ["trace", str(wang_report + 1000)])
    assert out.exit_code == 2
    assert f"no fraud report {wang_report + 1000}" in out.output


def test_approving_an_accepted_trace_freezes_each_account_at_most_its_recoverable_amount(
    client: TestClient, analyst_zhang: User, supervisor_liu: User, wang_report: int
) -> None:
    r = client.post(
        f"/api/v1/fraud-reports/{wang_report}/trace/accept",
        json={"method": "fifo", "major_case": True, "major_case_reason": "团伙作案 organised ring"},
        headers=bearer(analyst_zhang),
    )
    finding_id = r.json()["finding_id"]
    shown = client.get(f"/api/v1/findings/{finding_id}", headers=bearer(supervisor_liu)).json()
    assert shown["kind"] == "trace" and shown["major_case_reason"] == "团伙作案 organised ring"
    r = client.post(
        f"/api/v1/findings/{finding_id}/decision", json={"approve": True}, headers=bearer(supervisor_liu)
    )
    assert r.status_code == 200, r.text
    with db.transaction() as session:
        freezes = session.execute(
            select(RestrictionOrder).where(RestrictionOrder.kind == OrderKind.FREEZE)
        ).scalars()
        assert [(f.amount_fen, f.major_case) for f in freezes] == [(500_000, True)]  # Qian's
        # Zhao's card carries the report's stop-payment, not yet at its bank: an analyst converts it later.
        (waiting,) = session.execute(
            select(RobotAlert).where(RobotAlert.kind == AlertKind.FREEZE_WAITING)
        ).scalars()
        assert "/convert" in waiting.message
