"""Loading the rule pack: a malformed rule is refused with its id and field, and a failed reload
keeps the pack in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingan.supervision.pack import RULES_DIR, RulePackError, RulePackHolder, load_dir, load_texts

GOOD_RULE = """
  - id: test.notice
    title_zh: 通知家属
    title_en: Family notice
    case_kinds: [criminal]
    citation: {law: CPL, title_zh: 刑事诉讼法, title_en: Criminal Procedure Law, article: 85, paragraph: 2}
    effective_from: 2018-10-26
    trigger: {event: detention}
    met_by: [family_notified]
    deadline: 24 hours
    warn_before: 6 hours
    severity: major
"""


def pack_text(*rules: str) -> str:
    return 'pack: test\nversion: "1"\nrules:\n' + "".join(rules)


def follower(rule_id: str, after: str) -> str:
    return GOOD_RULE.replace("id: test.notice", f"id: {rule_id}").replace(
        "trigger: {event: detention}", f"trigger: {{after: {after}}}"
    )


def test_the_shipped_pack_loads_with_every_file_versioned() -> None:
    pack = load_dir()
    assert pack.version.startswith("cpl@2018.1+property@2026.1+psapl@2026.1#")
    assert {"cpl.arrest_request", "psapl2025.questioning", "property.registration"} <= set(pack.by_id)


def test_a_good_rule_loads() -> None:
    assert [r.id for r in load_texts({"t.yaml": pack_text(GOOD_RULE)}).rules] == ["test.notice"]


def test_an_unknown_event_name_is_refused_naming_the_rule_and_field() -> None:
    bad = GOOD_RULE.replace("met_by: [family_notified]", "met_by: [family_phoned]")
    with pytest.raises(RulePackError) as caught:
        load_texts({"t.yaml": pack_text(bad)})
    assert caught.value.rule_id == "test.notice" and caught.value.field == "met_by.0"
    assert "t.yaml rule 'test.notice' field 'met_by.0'" in str(caught.value)


def test_an_unknown_trigger_event_is_refused() -> None:
    bad = GOOD_RULE.replace("{event: detention}", "{event: kidnapping}")
    with pytest.raises(RulePackError) as caught:
        load_texts({"t.yaml": pack_text(bad)})
    assert caught.value.field == "trigger.event"


def test_a_malformed_duration_is_refused_naming_the_field() -> None:
    bad = GOOD_RULE.replace("deadline: 24 hours", "deadline: a day")
    with pytest.raises(RulePackError) as caught:
        load_texts({"t.yaml": pack_text(bad)})
    assert caught.value.field == "deadline" and "'a day' is not a duration" in caught.value.message


def test_a_rule_without_a_citation_is_refused() -> None:
    bad = "\n".join(line for line in GOOD_RULE.splitlines() if "citation" not in line) + "\n"
    with pytest.raises(RulePackError) as caught:
        load_texts({"t.yaml": pack_text(bad)})
    assert caught.value.field == "citation"


def test_an_effective_to_before_effective_from_is_refused() -> None:
    bad = GOOD_RULE.replace(
        "effective_from: 2018-10-26", "effective_from: 2018-10-26\n    effective_to: 2018-01-01"
    )
    with pytest.raises(RulePackError, match="effective_to must be after effective_from"):
        load_texts({"t.yaml": pack_text(bad)})


def test_two_rules_with_one_id_are_refused() -> None:
    with pytest.raises(RulePackError, match="two rules share this id"):
        load_texts({"t.yaml": pack_text(GOOD_RULE, GOOD_RULE)})


def test_a_cycle_of_rules_starting_each_other_is_refused() -> None:
    text = pack_text(GOOD_RULE, follower("test.a", "test.b"), follower("test.b", "test.a"))
    with pytest.raises(RulePackError) as caught:
        load_texts({"t.yaml": text})
    assert "cycle" in caught.value.message and caught.value.field == "trigger.after"


def test_a_rule_following_an_unknown_rule_is_refused() -> None:
    with pytest.raises(RulePackError, match=r"unknown rule 'test\.nowhere'"):
        load_texts({"t.yaml": pack_text(GOOD_RULE, follower("test.a", "test.nowhere"))})


def test_a_chain_without_a_cycle_loads() -> None:
    pack = load_texts(
        {"t.yaml": pack_text(GOOD_RULE, follower("test.a", "test.notice"), follower("test.b", "test.a"))}
    )
    assert pack.by_after["test.notice"][0].id == "test.a"


def test_broken_yaml_is_refused_with_its_line() -> None:
    with pytest.raises(RulePackError, match=r"t.yaml: not valid YAML at line \d+"):
        load_texts({"t.yaml": pack_text(GOOD_RULE) + "  - id: [unclosed\n"})


def test_a_failed_reload_keeps_the_rules_in_force(tmp_path: Path) -> None:
    (tmp_path / "cpl.yaml").write_text((RULES_DIR / "cpl.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    holder = RulePackHolder(tmp_path)
    before = holder.current()
    broken = (
        (tmp_path / "cpl.yaml")
        .read_text(encoding="utf-8")
        .replace("deadline: 3 days", "deadline: three days")
    )
    (tmp_path / "cpl.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(RulePackError) as caught:
        holder.reload()
    assert caught.value.rule_id == "cpl.arrest_request"
    assert holder.current() is before


def test_a_good_reload_replaces_the_pack(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(pack_text(GOOD_RULE), encoding="utf-8")
    holder = RulePackHolder(tmp_path)
    before = holder.current()
    (tmp_path / "t.yaml").write_text(pack_text(GOOD_RULE.replace("24 hours", "48 hours")), encoding="utf-8")
    after = holder.reload()
    assert after is holder.current() and after.version != before.version
    assert str(after.by_id["test.notice"].deadline) == "48 hours"
