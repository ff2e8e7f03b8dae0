"""The call-taker's page asks the classifier for the 类型 of the call text and shows the top 3; the
dispatcher's category is final, and one that differs from the suggestion is logged as an override."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pingan.command import classify
from pingan.core.auth import User, issue_token
from pingan.core.settings import get_settings
from pingan.sim.calls import call_texts
from tests.command.conftest import YULIN

HTML = {"Accept": "text/html,application/xhtml+xml"}
FIRE = "喂，110吗，我家楼下着火了，冒黑烟，快来"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PINGAN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def trained(data_dir: Path) -> Path:
    """A tiny incident model at DATA_DIR/classifier.npz (40 generated texts per 类型)."""
    texts = call_texts(1, per_label=40)
    model = classify.train([t.text for t in texts], [t.label for t in texts], steps=60)
    classify.save({"incident": model}, classify.model_path())
    return data_dir


def _browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_text_field_gets_the_suggested_type_with_its_top_3(
    client: TestClient, dispatcher: User, trained: Path
) -> None:
    browser = _browser(client, dispatcher)
    form = browser.get("/command/calls/new", headers=HTML).text
    assert 'hx-post="/command/calls/suggest"' in form
    answer = browser.post(
        "/command/calls/suggest", data={"csrf_token": _csrf(form), "text": FIRE}, headers=HTML
    )
    assert answer.status_code == 200
    assert 'name="suggested_type" value="0401"' in answer.text
    top = re.search(r'<ol class="muted" id="classifier-top">(.*?)</ol>', answer.text, re.S)
    assert top is not None and top.group(1).count("<li>") == 3
    assert "%" in answer.text
    # The suggestion names its 类别 and 类型, and offers the 细类 under the 类型 (the model suggests at
    # the 类型 level, the only level its training texts are labelled at).
    suggested = re.search(r'id="classifier-suggestion">.*?<strong>(.*?)</strong>', answer.text, re.S)
    assert suggested is not None and suggested.group(1).split() == ["04", "火灾救援类", "/", "0401", "火灾"]
    subtypes = re.findall(r'data-category="(\d+)"', answer.text)
    assert subtypes == ["040101", "040102"]
    assert "/static/command-call.js" in form


def test_a_category_other_than_the_suggestion_is_recorded_and_logged_as_an_override(
    client: TestClient, dispatcher: User, trained: Path
) -> None:
    browser = _browser(client, dispatcher)
    token = _csrf(browser.get("/command/calls/new", headers=HTML).text)
    base = {"csrf_token": token, "lat": str(YULIN[0]), "lon": str(YULIN[1]), "disposition": "new"}
    chosen = browser.post(
        "/command/calls",
        data={**base, "text": FIRE, "category_code": "040201", "suggested_type": "0401"},
        headers=HTML,
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    incident = browser.get(chosen.headers["location"], headers=HTML).text
    assert "040201" in incident or "被困" in incident
    [override] = classify.read_overrides(trained / "classifier_overrides.jsonl")
    assert (override.text, override.suggested, override.chosen, override.by, override.chosen_code) == (
        FIRE,
        "0401",
        "0402",
        dispatcher.username,
        "040201",
    )
    # Agreeing with the suggestion teaches nothing and is not logged.
    browser.post(
        "/command/calls",
        data={**base, "text": FIRE, "category_code": "040101", "suggested_type": "0401"},
        headers=HTML,
        follow_redirects=False,
    )
    assert len(classify.read_overrides(trained / "classifier_overrides.jsonl")) == 1


def test_without_a_trained_model_the_page_works_and_says_no_suggestion_is_available(
    client: TestClient, dispatcher: User, data_dir: Path
) -> None:
    browser = _browser(client, dispatcher)
    form = browser.get("/command/calls/new", headers=HTML)
    assert form.status_code == 200
    assert "No category suggestion is available" in form.text
    answer = browser.post(
        "/command/calls/suggest", data={"csrf_token": _csrf(form.text), "text": FIRE}, headers=HTML
    )
    assert answer.status_code == 200 and "No category suggestion is available" in answer.text
