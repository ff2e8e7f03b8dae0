"""The text classifier and its generated training texts, specified.

Figures here use small generated sets so the tests stay quick; `bench/command_classifier.py` prints the
full ones.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pingan.antifraud.reports.choices import Typology
from pingan.cli import app
from pingan.command import classify
from pingan.sim.calls import INCIDENT_TYPES, call_texts, report_narratives
from pingan.sim.classifier import evaluate, train_models


def test_the_generator_gives_the_same_texts_for_the_same_seed_and_others_for_another() -> None:
    assert call_texts(5, 20) == call_texts(5, 20)
    assert report_narratives(5, 20) == report_narratives(5, 20)
    assert {t.text for t in call_texts(5, 20)} != {t.text for t in call_texts(6, 20)}


def test_no_phrasing_covers_more_than_a_fifth_of_a_categorys_texts_and_texts_rarely_repeat() -> None:
    texts = call_texts(1, 200)
    for code in INCIDENT_TYPES:
        mine = [t for t in texts if t.label == code]
        _, top = Counter(t.template for t in mine).most_common(1)[0]
        assert top / len(mine) <= 0.2, code
        assert len({t.text for t in mine}) / len(mine) >= 0.95, code
    narratives = report_narratives(1, 200)
    for typology in Typology:
        mine = [t for t in narratives if t.label == typology.value]
        _, top = Counter(t.template for t in mine).most_common(1)[0]
        assert top / len(mine) <= 0.3, typology
        assert len({t.text for t in mine}) / len(mine) >= 0.95, typology


def test_held_out_phrasings_are_never_used_in_training_texts() -> None:
    train = {t.template for t in call_texts(1, 100, "train")}
    heldout = {t.template for t in call_texts(1, 100, "heldout")}
    assert heldout and train and not train & heldout
    assert {t.label for t in call_texts(1, 10, "heldout")} == set(INCIDENT_TYPES)


@pytest.fixture(scope="module")
def models() -> dict[classify.Kind, classify.TextModel]:
    trained, _ = train_models(1, per_label=60, overrides=Path("/nonexistent.jsonl"))
    return trained


def test_the_suggestion_comes_with_the_top_3_sorted_and_confidences_summing_to_at_most_1(
    models: dict[classify.Kind, classify.TextModel],
) -> None:
    c = models["incident"].classify("喂，110吗，我家楼下着火了，冒黑烟，快来")
    assert len(c.top) == 3
    confidences = [s.confidence for s in c.top]
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) <= 1.0
    assert (c.label, c.confidence) == (c.top[0].label, c.top[0].confidence)
    assert c.label == "0401"
    assert models["report"].classify("接到电话说是公安局的，说我涉嫌洗钱，让我把钱转到安全账户").label == (
        Typology.FAKE_POLICE.value
    )


def test_trained_on_seed_1_it_beats_both_baselines_on_seed_2s_held_out_phrasings() -> None:
    # The sizes of the published figure (bench/command_classifier.py); the incident macro-F1 margin is thin.
    figures = evaluate(1, 2, per_label=150, test_per_label=60)
    for kind in ("incident", "report"):
        model = figures[kind]["model"]
        for baseline in ("majority_class", "keyword_rules"):
            assert model["accuracy"] > figures[kind][baseline]["accuracy"], (kind, baseline)
            assert model["macro_f1"] > figures[kind][baseline]["macro_f1"], (kind, baseline)


def test_it_beats_the_majority_class_on_seed_2s_held_out_phrasings() -> None:
    figures = evaluate(1, 2, per_label=100, test_per_label=30)
    for kind in ("incident", "report"):
        assert figures[kind]["model"]["macro_f1"] > 3 * figures[kind]["majority_class"]["macro_f1"]
        assert figures[kind]["model"]["accuracy"] > 2 * figures[kind]["majority_class"]["accuracy"]


def test_an_override_is_recorded_and_the_next_training_learns_it(tmp_path: Path) -> None:
    log = tmp_path / "overrides.jsonl"
    text = "小区业主群里有人散布谣言说明天停水停电"
    before, _ = train_models(1, per_label=40, overrides=log)
    suggested = before["incident"].classify(text).label
    chosen = "0204" if suggested != "0204" else "0502"
    assert classify.record_override("incident", text, suggested, chosen, by="dispatcher_chen", path=log)
    # A choice that agrees with the suggestion teaches nothing and is not logged.
    assert classify.record_override("incident", text, chosen, chosen, by="dispatcher_chen", path=log) is None
    [rec] = classify.read_overrides(log)
    assert (rec.text, rec.suggested, rec.chosen, rec.by) == (text, suggested, chosen, "dispatcher_chen")

    after, used = train_models(1, per_label=40, overrides=log)
    assert used == {"incident": 1, "report": 0}
    assert after["incident"].classify(text).label == chosen


def test_the_command_writes_a_model_file_that_loads_back(tmp_path: Path) -> None:
    out = tmp_path / "classifier.npz"
    result = CliRunner().invoke(
        app,
        ["command", "train-classifier", "--seed", "3", "--out", str(out), "--per-label", "30",
         "--overrides", str(tmp_path / "none.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    loaded = classify.load(out)
    assert set(loaded) == {"incident", "report"}
    assert loaded["incident"].labels == sorted(INCIDENT_TYPES)
    assert classify.loaded_model("report", out) is not None
    assert classify.loaded_model("report", tmp_path / "missing.npz") is None
