"""The rules file: validated at load, refused with the rule id and field named, previous rules kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingan.antifraud.screening.ruleset import DEFAULT_RULES, RuleBook, RulesInvalid, load_rules, parse_rules

GOOD = DEFAULT_RULES.read_text(encoding="utf-8")


def test_the_shipped_rules_file_loads_with_a_version_and_every_rule_described() -> None:
    rules = load_rules()
    assert rules.version
    assert {
        "WL-PAYEE",
        "P-FIRST-LARGE",
        "P-ESCALATING",
        "P-NEW-PAYEE-BURST",
        "P-ELDERLY-NIGHT",
        "P-MULE-PAYEE",
        "WL-PAYEE-REPORTED",
    } <= set(rules.ids)
    assert all(r.description for r in rules.rule)


def test_a_negative_amount_is_refused_naming_the_rule_and_the_field() -> None:
    bad = GOOD.replace("min_amount_fen = 1_500_000", "min_amount_fen = -5")
    with pytest.raises(RulesInvalid) as exc:
        parse_rules(bad)
    assert "rule P-FIRST-LARGE" in str(exc.value)
    assert "params.min_amount_fen" in str(exc.value)


def test_an_unknown_parameter_is_refused_naming_the_rule_and_the_field() -> None:
    bad = GOOD.replace("min_count = 3\n", "min_count = 3\nmin_cuont = 4\n", 1)
    with pytest.raises(RulesInvalid, match=r"rule P-NEW-PAYEE-BURST: params\.min_cuont"):
        parse_rules(bad)


def test_a_duplicate_rule_id_is_refused() -> None:
    with pytest.raises(RulesInvalid, match="duplicate rule id"):
        parse_rules(GOOD.replace('id = "P-ESCALATING"', 'id = "P-FIRST-LARGE"'))


def test_a_file_that_is_not_toml_is_refused() -> None:
    with pytest.raises(RulesInvalid, match="not valid TOML"):
        parse_rules("version = ")


def test_a_malformed_reload_leaves_the_previous_rules_in_force(tmp_path: Path) -> None:
    book = RuleBook(load_rules())
    broken = tmp_path / "rules.toml"
    broken.write_text(GOOD.replace("growth = 1.5", 'growth = "lots"'), encoding="utf-8")
    with pytest.raises(RulesInvalid, match=r"rule P-ESCALATING: params\.growth"):
        book.reload(broken)
    assert book.rules == load_rules()


def test_a_valid_reload_puts_the_new_version_in_force(tmp_path: Path) -> None:
    book = RuleBook(load_rules())
    newer = tmp_path / "rules.toml"
    newer.write_text(GOOD.replace('version = "', 'version = "next-'), encoding="utf-8")
    assert book.reload(newer).version.startswith("next-")
    assert book.rules.version.startswith("next-")
