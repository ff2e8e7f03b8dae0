"""The risk grader against hand-labelled cases, its logged contributions, and the factor table's checks."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.community import rules
from pingan.community.choices import Grade, RiskFactor
from pingan.community.factors import PATH, parse, table

CASES = tomllib.loads((Path(__file__).parent / "data" / "graded_cases.toml").read_text())["case"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_grader_agrees_with_the_hand_labelled_case(case: dict[str, object]) -> None:
    factors = case["factors"]
    assert isinstance(factors, dict)
    result = rules.grade(table(), factors)
    assert (result.grade.value, result.score) == (case["grade"], case["score"])


def test_the_fixture_was_labelled_against_this_table_version() -> None:
    assert table().version == "2026.12-1"
    assert len(CASES) >= 20


def test_every_factor_is_logged_with_its_contribution_even_when_zero() -> None:
    result = rules.grade(table(), {"weapons": 1, "repeated_calls": 5})
    assert [c.name for c in result.contributions] == [f.value for f in RiskFactor if f.value in table().names]
    by = {c.name: c for c in result.contributions}
    assert (by["weapons"].points, by["repeated_calls"].value, by["repeated_calls"].points) == (6, 5, 3)
    assert by["threats"].points == 0
    assert result.reasons == ("score:9", "score>=6")


def test_an_unknown_factor_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'knife'"):
        rules.grade(table(), {"knife": 1})


def test_a_factor_table_with_an_unknown_factor_names_it() -> None:
    text = PATH.read_text().replace('name = "weapons"', 'name = "knives"')
    with pytest.raises(ValueError, match="'knives'"):
        parse(text)


def test_a_factor_without_a_source_is_refused() -> None:
    text = PATH.read_text().replace('kind = "flag"\nweight = 6\nsource', 'kind = "flag"\nweight = 6\nsauce')
    with pytest.raises(ValueError, match="source"):
        parse(text)


def test_every_factor_of_the_table_has_a_source_and_the_grader_knows_it() -> None:
    t = table()
    assert set(t.names) == {f.value for f in RiskFactor}
    assert all(f.source for f in t.factors)


FLAGS = st.fixed_dictionaries(
    {},
    optional={
        f: st.booleans()
        for f in (
            "threats",
            "violence_history",
            "weapons",
            "alcohol_or_drugs",
            "separation",
            "economic_stress",
            "vulnerable_party",
        )
    },
)

ORDER = {Grade.BLUE: 0, Grade.YELLOW: 1, Grade.ORANGE: 2, Grade.RED: 3}


# No deadline: the machine is shared, and a slow example is not a wrong one.
@settings(deadline=None)
@given(FLAGS, st.sampled_from(sorted(RiskFactor.__members__.values())))
def test_adding_a_factor_never_lowers_the_grade(flags: dict[str, bool], extra: RiskFactor) -> None:
    before = rules.grade(table(), flags)
    after = rules.grade(table(), {**flags, extra.value: 1 + int(flags.get(extra.value, 0))})
    assert ORDER[after.grade] >= ORDER[before.grade]
    assert after.score == sum(c.points for c in after.contributions)
