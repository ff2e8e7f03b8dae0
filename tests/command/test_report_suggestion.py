"""The new-report form asks the classifier for the fraud typology of the narrative and shows the top 3;
the officer's typology is final, and one that differs from the suggestion is logged as an override."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pingan.command import classify
from pingan.core.auth import User
from pingan.core.settings import get_settings
from pingan.sim.calls import report_narratives
from tests.conftest import bearer
from tests.factories import MULE_CARD_CCB, VICTIM_WANG, WANG_CARD

pytestmark = pytest.mark.usefixtures("station_yulin")
POLICE = "对方自称是公安局的，说我的银行卡涉嫌洗钱，要我把钱转到安全账户配合调查"


@pytest.fixture
def trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A tiny report model at DATA_DIR/classifier.npz (40 generated narratives per typology)."""
    monkeypatch.setenv("PINGAN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    texts = report_narratives(1, per_label=40)
    model = classify.train([t.text for t in texts], [t.label for t in texts], steps=60)
    classify.save({"report": model}, classify.model_path())
    yield tmp_path
    monkeypatch.undo()
    get_settings.cache_clear()


def _en(user: User) -> dict[str, str]:
    return {**bearer(user), "Accept-Language": "en"}


def _form(**changes: str) -> dict[str, str]:
    form = {
        "external_ref": "510107-2026-000009",
        "typology": "冒充公检法",
        "station_code": "WH-YL",
        "fraud_started_at": "2026-11-20T09:15",
        "reported_at": "2026-11-20T14:02",
        "victim.name": VICTIM_WANG["name"],
        "victim.national_id": VICTIM_WANG["national_id"],
        "victim.phone": VICTIM_WANG["phone"],
        "transfers.0.occurred_at": "2026-11-20T09:40",
        "transfers.0.amount_yuan": "5,000.00",
        "transfers.0.payer_card": WANG_CARD,
        "transfers.0.payer_bank": "CMB",
        "transfers.0.payee_account": MULE_CARD_CCB,
        "transfers.0.payee_bank": "CCB",
        "transfers.0.channel": "mobile_banking",
        "narrative": POLICE,
    }
    return form | changes


def test_the_narrative_gets_the_suggested_typology_with_its_top_3(
    client: TestClient, officer_li: User, trained: Path
) -> None:
    form = client.get("/reports/new", headers=_en(officer_li)).text
    assert 'hx-post="/classify/report-suggestion"' in form and 'id="typology-suggestion"' in form
    answer = client.post("/classify/report-suggestion", data={"narrative": POLICE}, headers=_en(officer_li))
    assert answer.status_code == 200
    assert 'name="suggested_typology" value="冒充公检法"' in answer.text
    top = re.search(r'<ol class="muted" id="typology-top">(.*?)</ol>', answer.text, re.S)
    assert top is not None and top.group(1).count("<li>") == 3
    # Labels, not raw values: the English page shows the typology's English label.
    assert "冒充公检法" not in answer.text.split('id="typology-suggested">', 1)[1].split("<input", 1)[0]


def test_a_typology_other_than_the_suggestion_is_saved_and_logged_as_an_override(
    client: TestClient, officer_li: User, trained: Path
) -> None:
    r = client.post(
        "/reports/new",
        data=_form(typology="其他", suggested_typology="冒充公检法"),
        headers=_en(officer_li),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    [override] = classify.read_overrides(trained / "classifier_overrides.jsonl")
    assert (override.kind, override.text, override.suggested, override.chosen, override.by) == (
        "report",
        POLICE,
        "冒充公检法",
        "其他",
        "officer_li",
    )
    # A choice that agrees with the suggestion teaches nothing and is not logged.
    agreed = client.post(
        "/reports/new",
        data=_form(external_ref="510107-2026-000010", suggested_typology="冒充公检法"),
        headers=_en(officer_li),
        follow_redirects=False,
    )
    assert agreed.status_code == 303
    assert len(classify.read_overrides(trained / "classifier_overrides.jsonl")) == 1


def test_without_a_trained_model_the_form_says_no_suggestion_is_available(
    client: TestClient, officer_li: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PINGAN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        answer = client.post(
            "/classify/report-suggestion", data={"narrative": POLICE}, headers=_en(officer_li)
        )
        assert answer.status_code == 200 and "No typology suggestion is available" in answer.text
    finally:
        get_settings.cache_clear()
