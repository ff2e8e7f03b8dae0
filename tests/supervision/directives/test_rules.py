"""The pure decisions of directives: the deadline edge, the similarity thresholds, the answer states,
the weeks and the year-over-year change."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from pingan.supervision.directives import rules
from tests.supervision.directives.conftest import FLOOD_REWORDED, FLOOD_TEXT, FRAUD_TEXT, NOW

RULE = rules.DEFAULT_RULE


def candidate(
    id_: int,
    text: str,
    *,
    subject: str = "汛期安全隐患排查",
    days_ago: float = 3,
    stations: tuple[str, ...] = ("WH-YL",),
) -> rules.Candidate:
    return rules.Candidate(id_, subject, text, NOW - timedelta(days=days_ago), frozenset(stations))


def draft(
    text: str, *, subject: str = "防汛安全检查", stations: tuple[str, ...] = ("WH-YL",)
) -> rules.Candidate:
    return rules.Candidate(0, subject, text, NOW, frozenset(stations))


def test_a_deadline_one_second_after_the_issue_time_is_accepted() -> None:
    assert rules.deadline_check(NOW, NOW + timedelta(seconds=1)).ok


def test_a_deadline_at_the_issue_time_itself_is_refused() -> None:
    decision = rules.deadline_check(NOW, NOW)
    assert not decision.ok and decision.reasons == ("deadline_not_after_issue",)


def test_a_deadline_before_the_issue_time_is_refused() -> None:
    assert not rules.deadline_check(NOW, NOW - timedelta(minutes=1)).ok


def test_text_similarity_exactly_at_the_threshold_is_a_near_duplicate() -> None:
    assert rules.is_near_duplicate(RULE.text_threshold, 0.0, RULE)


def test_text_similarity_just_below_the_threshold_alone_is_not() -> None:
    below = math.nextafter(RULE.text_threshold, 0.0)
    assert not rules.is_near_duplicate(below, 0.0, RULE)


def test_a_matching_subject_lowers_the_text_threshold_to_its_own() -> None:
    assert rules.is_near_duplicate(RULE.text_with_subject, RULE.subject_match, RULE)
    assert not rules.is_near_duplicate(math.nextafter(RULE.text_with_subject, 0.0), RULE.subject_match, RULE)
    assert not rules.is_near_duplicate(RULE.text_with_subject, math.nextafter(RULE.subject_match, 0.0), RULE)


def test_normalising_folds_full_width_case_digits_and_punctuation() -> None:
    assert rules.normalise("Ｗ１２，请于3月25日前 报送！") == rules.normalise("w7请于4月30日前报送")


def test_a_reworded_reissue_to_the_same_station_is_found_with_its_similarity() -> None:
    found = rules.similar_directives(
        draft(FLOOD_REWORDED), [candidate(7, FLOOD_TEXT), candidate(8, FRAUD_TEXT)]
    )
    assert [m.directive_id for m in found] == [7]
    assert RULE.text_threshold <= found[0].similarity <= 1.0
    assert "shared_stations:WH-YL" in found[0].reasons


def test_an_unrelated_directive_under_the_same_subject_is_not_a_duplicate() -> None:
    found = rules.similar_directives(
        draft(FRAUD_TEXT, subject="汛期安全隐患排查"), [candidate(7, FLOOD_TEXT)]
    )
    assert found == []


def test_the_same_text_to_another_station_is_not_a_duplicate_of_its_load() -> None:
    earlier = [candidate(7, FLOOD_TEXT, stations=("WH-HX",))]
    assert rules.similar_directives(draft(FLOOD_TEXT, stations=("WH-YL",)), earlier) == []


def test_a_directive_older_than_the_lookback_is_not_compared() -> None:
    old = candidate(7, FLOOD_TEXT, days_ago=RULE.lookback.days + 1)
    assert rules.similar_directives(draft(FLOOD_TEXT), [old]) == []
    edge = candidate(8, FLOOD_TEXT, days_ago=RULE.lookback.days)
    assert [m.directive_id for m in rules.similar_directives(draft(FLOOD_TEXT), [edge])] == [8]


def test_the_pairwise_scores_agree_with_the_one_draft_check() -> None:
    history = [
        candidate(1, FLOOD_TEXT, days_ago=5),
        candidate(2, FRAUD_TEXT, days_ago=4),
        draft(FLOOD_REWORDED),
    ]
    scores = rules.comparable_pairs(history)
    flagged = {
        (history[a].id, history[b].id)
        for a, b, f in zip(scores.later, scores.earlier, rules.flagged(scores), strict=True)
        if f
    }
    assert flagged == {(0, 1)}


def test_an_answer_at_the_deadline_is_on_time_and_one_second_later_is_late() -> None:
    deadline = NOW
    assert rules.answer_state(deadline, deadline, now=NOW) == "answered"
    assert rules.answer_state(deadline, deadline + timedelta(seconds=1), now=NOW) == "answered_late"


def test_an_unanswered_directive_is_overdue_only_after_its_deadline() -> None:
    assert rules.answer_state(NOW, None, now=NOW) == "pending"
    assert rules.answer_state(NOW, None, now=NOW + timedelta(seconds=1)) == "overdue"


def test_a_sunday_evening_in_beijing_belongs_to_the_week_that_began_on_monday() -> None:
    sunday_2330_beijing = datetime(2026, 3, 22, 15, 30, tzinfo=UTC)
    assert rules.week_of(sunday_2330_beijing).isoformat() == "2026-03-16"
    monday_0030_beijing = datetime(2026, 3, 22, 16, 30, tzinfo=UTC)
    assert rules.week_of(monday_0030_beijing).isoformat() == "2026-03-23"


def test_year_over_year_halving_reads_minus_fifty_percent_and_no_base_reads_none() -> None:
    assert rules.YearOverYear(450, 900).change_percent == -50.0
    assert rules.YearOverYear(3, 0).change_percent is None
