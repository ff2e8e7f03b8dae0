"""The trace page: accounts shown as masked cards at named banks, never by the store's account ids,
and every flow's amount readable: labels that do not overlap, and a table of the flows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports.schemas import ReportIn
from pingan.antifraud.tracing import TraceIndex
from pingan.antifraud.tracing import registered as tracing_api
from pingan.antifraud.tracing.drawing import Box, Card, layered_graph
from pingan.antifraud.tracing.engine import trace
from pingan.core import db
from pingan.core.auth import User
from pingan.core.pii import PiiKind, mask
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings
from tests.antifraud.tracing.conftest import ATM, Store, at, card_of
from tests.conftest import bearer
from tests.factories import report_payload

pytestmark = pytest.mark.usefixtures("station_yulin")

# Store account ids long enough that finding one on the page can only mean it leaked.
VICTIM_HE = 7_310_001
MULE_T1_MA = 7_310_011
MULES_T2 = [7_310_021 + i for i in range(6)]


def _fan_out_store(root: Path) -> Store:
    """He pays Ma 60,000 yuan; Ma fans it out to six tier-2 cards within minutes; one withdraws cash."""
    store = Store(root)
    store.tx(at(10, 0), VICTIM_HE, MULE_T1_MA, 60_000)
    for i, mule in enumerate(MULES_T2):
        store.tx(at(10, 5 + i), MULE_T1_MA, mule, 9_000 + 100 * i)
    store.tx(at(10, 30), MULES_T2[0], ATM, 5_000)
    return store


@pytest.fixture
def he_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: TestClient) -> int:
    _fan_out_store(tmp_path / "data" / tracing_api.STORE_NAME).write()
    settings = get_settings().model_copy(update={"data_dir": tmp_path / "data"})
    monkeypatch.setattr(tracing_api, "get_settings", lambda: settings)
    transfer = {
        "occurred_at": "2026-11-20T10:00:00+08:00",
        "amount_fen": 6_000_000,
        "payer_card": card_of(VICTIM_HE),
        "payer_bank": "ICBC",
        "payee_account": card_of(MULE_T1_MA),
        "payee_bank": "ICBC",
        "channel": "mobile_banking",
    }
    with db.transaction() as session:
        item = report_actions.NewReport(
            report=ReportIn(**report_payload(transfers=[transfer])), actor=Actor("li", Role.OFFICER)
        )
        return report_actions.register_report(session, item).report.id


def test_the_trace_page_shows_no_store_account_ids(
    client: TestClient, analyst_zhang: User, he_report: int
) -> None:
    page = client.get(f"/fraud-reports/{he_report}/trace", headers=bearer(analyst_zhang))
    assert page.status_code == 200
    for account in (VICTIM_HE, MULE_T1_MA, *MULES_T2):
        assert str(account) not in page.text


def test_the_trace_page_labels_accounts_with_masked_cards_and_bank_names(
    client: TestClient, analyst_zhang: User, he_report: int
) -> None:
    page = client.get(f"/fraud-reports/{he_report}/trace", headers=bearer(analyst_zhang)).text
    svg = page.split("<svg")[1].split("</svg>")[0]
    for account in (VICTIM_HE, MULE_T1_MA, *MULES_T2):
        masked = mask(PiiKind.CARD, card_of(account))
        assert masked.startswith("6222 **** **** ") and masked in svg
        assert card_of(account) not in page
    assert "中国工商银行" in svg


def test_every_flow_is_listed_beside_the_graph_with_its_amount_in_yuan(
    client: TestClient, analyst_zhang: User, he_report: int
) -> None:
    page = client.get(f"/fraud-reports/{he_report}/trace", headers=bearer(analyst_zhang)).text
    flows = page.split('class="trace-flows"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>\d+</td>(.*?)</tr>", flows, re.S)
    assert len(rows) == 8  # He to Ma, Ma to six cards, one cash withdrawal
    for amount in ("¥60,000.00", *(f"¥{9_000 + 100 * i:,}.00" for i in range(6)), "¥5,000.00"):
        assert any(amount in row for row in rows), amount


def test_no_amount_label_overlaps_another_label_or_a_node(tmp_path: Path) -> None:
    store = _fan_out_store(tmp_path / "store")
    result = trace(TraceIndex.build(store.write()), [1])  # the seed: He's transfer to Ma
    drawing = layered_graph(result, {a: Card.of("ICBC", card_of(a)) for a in result.accounts})
    labels = [e.label_box for e in drawing.edges if e.label_box is not None]
    assert len(drawing.edges) == 8 and len(labels) == 8
    for i, label in enumerate(labels):
        assert not any(label.overlaps(other) for other in labels[i + 1 :])
        assert not any(label.overlaps(n.box) for n in drawing.nodes)


def test_a_label_with_no_free_spot_is_left_to_the_table() -> None:
    node = Box(0, 0, 100, 40)
    assert Box(50, 20, 80, 16).overlaps(node) and not Box(100, 0, 10, 10).overlaps(node)
