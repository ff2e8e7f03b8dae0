"""A mule candidate's page: the model's reasons as Chinese phrases with their values, the reports that
name the account and its latest transfers; the queue links each candidate to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pingan.antifraud.mules.review import actions
from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports.schemas import ReportIn
from pingan.antifraud.tracing import registered as tracing_registered
from pingan.core import db
from pingan.core.auth import User
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings
from tests.antifraud.tracing.conftest import Store, at, card_of
from tests.conftest import bearer
from tests.factories import report_payload

# A browser that names no language: pingan answers in Chinese, as these tests read.
pytestmark = [pytest.mark.usefixtures("station_yulin"), pytest.mark.browser_language(None)]

# Store account ids long enough that finding one on the page can only mean it leaked.
VICTIM_WANG, MULE_ZHAO, MULE_QIAN = 7_340_001, 7_340_010, 7_340_020
REASONS = (
    "in_from_flagged_n=2:+1.50",
    "age_at_first_large_inflow_days=nan:+0.40",
    "dwell_hours_median=0.5:+0.30",
)


def _queue_zhao() -> int:
    card = protect(PiiKind.CARD, card_of(MULE_ZHAO), field="card")
    with db.transaction() as s:
        c = actions.do_queue_candidate(
            s,
            account_pseudonym=card.pseudonym,
            account_masked=card.masked,
            bank="ICBC",
            store_account_id=MULE_ZHAO,
            score=0.93,
            reasons=REASONS,
            model_ref="var/mules-model",
            actor=Actor.system("mule-detector"),
        )
        return c.id


@pytest.fixture
def zhao(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: TestClient) -> int:
    """Zhao's card received 8,000 yuan from Wang, who reported it, and passed 7,900 on to Qian."""
    store = Store(tmp_path / "data" / tracing_registered.STORE_NAME)
    store.tx(at(10, 0), VICTIM_WANG, MULE_ZHAO, 8_000)
    store.tx(at(10, 20), MULE_ZHAO, MULE_QIAN, 7_900)
    store.write()
    settings = get_settings().model_copy(update={"data_dir": tmp_path / "data"})
    monkeypatch.setattr(tracing_registered, "get_settings", lambda: settings)
    transfer = {
        "occurred_at": "2026-11-20T10:00:00+08:00",
        "amount_fen": 800_000,
        "payer_card": card_of(VICTIM_WANG),
        "payer_bank": "ICBC",
        "payee_account": card_of(MULE_ZHAO),
        "payee_bank": "ICBC",
        "channel": "mobile_banking",
    }
    with db.transaction() as session:
        item = report_actions.NewReport(
            report=ReportIn(**report_payload(transfers=[transfer])), actor=Actor("li", Role.OFFICER)
        )
        report_actions.register_report(session, item)
    return _queue_zhao()


def test_the_queue_links_each_candidate_to_its_transfers_and_reports(
    client: TestClient, analyst_zhang: User, zhao: int
) -> None:
    page = client.get("/mules/review", headers=bearer(analyst_zhang)).text
    assert f'href="/mules/review/{zhao}#transfers"' in page and f'href="/mules/review/{zhao}#reports"' in page


def test_the_candidate_page_shows_reasons_as_chinese_phrases_with_values_not_feature_names(
    client: TestClient, analyst_zhang: User, zhao: int
) -> None:
    page = client.get(f"/mules/review/{zhao}", headers=bearer(analyst_zhang))
    assert page.status_code == 200
    assert "收到预警对象或报案受害人转入笔数</strong>: 2" in page.text
    assert "首笔大额入账时的开户时长</strong>: 未知：交易库中没有该账户的开户日期" in page.text
    for raw in ("in_from_flagged_n", "age_at_first_large_inflow_days", "dwell_hours_median", "nan"):
        assert raw not in page.text


def test_the_candidate_page_lists_the_report_naming_the_account_and_its_transfers(
    client: TestClient, analyst_zhang: User, zhao: int
) -> None:
    page = client.get(f"/mules/review/{zhao}", headers=bearer(analyst_zhang)).text
    assert "510107-2026-000001" in page  # Wang's report
    assert "¥8,000.00" in page and "¥7,900.00" in page
    assert "转入自" in page and "转出至" in page
    for account in (VICTIM_WANG, MULE_ZHAO, MULE_QIAN):
        assert str(account) not in page  # counterparties are masked cards, never store ids


def test_an_officer_may_not_open_a_candidate(client: TestClient, officer_li: User, zhao: int) -> None:
    assert client.get(f"/mules/review/{zhao}", headers=bearer(officer_li)).status_code == 403


def test_a_candidate_page_without_a_store_says_so(
    client: TestClient, analyst_zhang: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings().model_copy(update={"data_dir": tmp_path / "nowhere"})
    monkeypatch.setattr(tracing_registered, "get_settings", lambda: settings)
    cid = _queue_zhao()
    page = client.get(f"/mules/review/{cid}", headers=bearer(analyst_zhang)).text
    assert "本服务器上没有可用的交易库。" in page


def test_an_unknown_candidate_is_404(client: TestClient, analyst_zhang: User) -> None:
    assert client.get("/mules/review/999999", headers=bearer(analyst_zhang)).status_code == 404
