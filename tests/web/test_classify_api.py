"""The classifier API: suggestions for a call text and a report narrative, and overrides logged for training."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pingan.antifraud.reports.choices import Typology
from pingan.command import classify
from pingan.core.auth import User
from pingan.core.settings import get_settings
from pingan.sim.classifier import train_models
from tests.conftest import bearer


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PINGAN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_without_a_trained_model_the_api_says_how_to_train_one(
    data_dir: Path, client: TestClient, officer_li: User
) -> None:
    r = client.post("/api/v1/classify/incident", json={"text": "有人打架"}, headers=bearer(officer_li))
    assert r.status_code == 409
    assert "train-classifier" in r.json()["message"]


def test_a_call_text_and_a_narrative_get_suggestions_and_an_override_is_logged(
    data_dir: Path, client: TestClient, officer_li: User
) -> None:
    models, _ = train_models(1, per_label=50, overrides=data_dir / "none.jsonl")
    classify.save(models, data_dir / classify.MODEL_FILE)

    r = client.post(
        "/api/v1/classify/incident", json={"text": "路口两辆车撞了，有人受伤"}, headers=bearer(officer_li)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "0301"
    assert len(body["top"]) == 3 and sum(s["confidence"] for s in body["top"]) <= 1

    r = client.post(
        "/api/v1/classify/report",
        json={"text": "在群里做点赞任务，前几单返了佣金，后来垫付了两万提不了现"},
        headers=bearer(officer_li),
    )
    assert r.json()["label"] == Typology.ORDER_BRUSHING.value

    r = client.post(
        "/api/v1/classify/override",
        json={"kind": "incident", "text": "路口两辆车撞了", "suggested": "0301", "chosen": "0302"},
        headers=bearer(officer_li),
    )
    assert r.json() == {"recorded": True}
    r = client.post(
        "/api/v1/classify/override",
        json={"kind": "incident", "text": "路口两辆车撞了", "suggested": "0301", "chosen": "9999"},
        headers=bearer(officer_li),
    )
    assert r.status_code == 422 and r.json()["field"] == "chosen"
    [rec] = classify.read_overrides(data_dir / classify.OVERRIDES_FILE)
    assert (rec.chosen, rec.by) == ("0302", "officer_li")


def test_a_blank_text_is_refused_naming_the_field(client: TestClient, officer_li: User) -> None:
    r = client.post("/api/v1/classify/report", json={"text": "   "}, headers=bearer(officer_li))
    assert r.status_code == 422
    assert "text" in r.text


def test_no_one_signed_out_may_ask(client: TestClient) -> None:
    assert client.post("/api/v1/classify/incident", json={"text": "有人打架"}).status_code == 401
