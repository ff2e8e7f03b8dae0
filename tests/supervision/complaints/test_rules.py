"""The complaint rules, pure: the clocks at their boundaries, repeat linking and the Wilson interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pingan.supervision.choices import DeadlineStatus
from pingan.supervision.complaints import rules
from pingan.supervision.complaints.choices import CallbackResult, LinkReason, StepKind, SubjectKind
from pingan.supervision.complaints.pack import in_force, load_texts
from pingan.supervision.pack import RulePackError

RECEIVED = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 Beijing
ACCEPTED = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)  # 10:00 Beijing
ACCEPTANCE_DUE = datetime(2026, 3, 25, 16, 0, tzinfo=UTC)  # 24:00 Beijing of the 15th day after
HANDLING_DUE = datetime(2026, 5, 10, 16, 0, tzinfo=UTC)  # 24:00 Beijing of the 60th day after
SECOND = timedelta(seconds=1)


def clock_of(steps: list[rules.Step], rule_id: str, at: datetime) -> rules.Clock:
    return next(c for c in rules.evaluate(steps, in_force(), at=at) if c.rule.id == rule_id)


def test_acceptance_falls_due_at_midnight_beijing_of_the_fifteenth_day_after_receipt() -> None:
    c = clock_of([rules.Step(StepKind.RECEIVED, RECEIVED)], "petition.acceptance", RECEIVED)
    assert c.due_at == ACCEPTANCE_DUE
    assert c.status is DeadlineStatus.RUNNING


def test_acceptance_decided_in_the_last_second_is_met() -> None:
    steps = [rules.Step(StepKind.RECEIVED, RECEIVED), rules.Step(StepKind.ACCEPTED, ACCEPTANCE_DUE)]
    assert (
        clock_of(steps, "petition.acceptance", ACCEPTANCE_DUE + timedelta(days=1)).status
        is DeadlineStatus.MET
    )


def test_acceptance_decided_one_second_late_is_a_breach() -> None:
    steps = [
        rules.Step(StepKind.RECEIVED, RECEIVED),
        rules.Step(StepKind.NOT_ACCEPTED, ACCEPTANCE_DUE + SECOND),
    ]
    c = clock_of(steps, "petition.acceptance", ACCEPTANCE_DUE + timedelta(days=1))
    assert c.status is DeadlineStatus.BREACHED and c.breached and c.met_at == ACCEPTANCE_DUE + SECOND


def test_acceptance_warns_three_days_before_it_falls_due() -> None:
    steps = [rules.Step(StepKind.RECEIVED, RECEIVED)]
    warn_from = ACCEPTANCE_DUE - timedelta(days=3)
    assert clock_of(steps, "petition.acceptance", warn_from - SECOND).status is DeadlineStatus.RUNNING
    assert clock_of(steps, "petition.acceptance", warn_from).status is DeadlineStatus.WARNING


def test_an_undecided_complaint_is_breached_one_second_after_the_acceptance_period() -> None:
    steps = [rules.Step(StepKind.RECEIVED, RECEIVED)]
    assert clock_of(steps, "petition.acceptance", ACCEPTANCE_DUE).status is DeadlineStatus.WARNING
    assert clock_of(steps, "petition.acceptance", ACCEPTANCE_DUE + SECOND).breached


def test_handling_runs_sixty_days_from_acceptance_and_the_answer_meets_it() -> None:
    steps = [
        rules.Step(StepKind.RECEIVED, RECEIVED),
        rules.Step(StepKind.ACCEPTED, ACCEPTED),
        rules.Step(StepKind.ANSWERED, HANDLING_DUE),
    ]
    c = clock_of(steps, "petition.handling", HANDLING_DUE + timedelta(days=1))
    assert c.started_at == ACCEPTED and c.due_at == HANDLING_DUE and c.status is DeadlineStatus.MET


def test_an_answer_one_second_after_sixty_days_breaches_the_handling_clock() -> None:
    steps = [rules.Step(StepKind.ACCEPTED, ACCEPTED), rules.Step(StepKind.ANSWERED, HANDLING_DUE + SECOND)]
    assert clock_of(steps, "petition.handling", HANDLING_DUE + timedelta(days=1)).breached


def test_an_approved_extension_adds_thirty_days_to_handling() -> None:
    steps = [
        rules.Step(StepKind.ACCEPTED, ACCEPTED),
        rules.Step(StepKind.EXTENSION, ACCEPTED + timedelta(days=40), "petition.handling", "complex"),
    ]
    c = clock_of(steps, "petition.handling", ACCEPTED + timedelta(days=41))
    assert c.due_at == datetime(2026, 6, 9, 16, 0, tzinfo=UTC)
    assert c.extensions == ("complex",)


def test_a_second_extension_adds_nothing() -> None:
    ext = rules.Step(StepKind.EXTENSION, ACCEPTED + timedelta(days=40), "petition.handling", "complex")
    steps = [
        rules.Step(StepKind.ACCEPTED, ACCEPTED),
        ext,
        rules.Step(StepKind.EXTENSION, ext.at + SECOND, "petition.handling", "complex"),
    ]
    assert clock_of(steps, "petition.handling", ext.at + timedelta(days=1)).due_at == datetime(
        2026, 6, 9, 16, 0, tzinfo=UTC
    )


def test_the_review_window_closes_without_a_breach() -> None:
    answered = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    c = clock_of(
        [rules.Step(StepKind.ANSWERED, answered)], "petition.review_window", answered + timedelta(days=40)
    )
    assert c.due_at == datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
    assert c.window_closed and not c.breached


def test_a_review_is_decided_within_thirty_days_of_the_request() -> None:
    asked = datetime(2026, 4, 20, 2, 0, tzinfo=UTC)
    due = datetime(2026, 5, 20, 16, 0, tzinfo=UTC)
    steps = [rules.Step(StepKind.REVIEW_REQUESTED, asked), rules.Step(StepKind.REVIEW_DECIDED, due + SECOND)]
    c = clock_of(steps, "petition.review", due + timedelta(days=1))
    assert c.due_at == due and c.breached


def test_every_clock_cites_the_2022_regulations_and_flags_its_unconfirmed_article() -> None:
    for rule in in_force().rules:
        assert rule.citation.title_zh.startswith("信访工作条例")
        assert not rule.citation.verified and rule.citation.article is None
        assert "to be confirmed" in rule.citation.short()


def test_a_rule_file_with_a_bad_duration_is_refused_naming_the_rule_and_field() -> None:
    text = """
pack: petitions
version: "x"
rules:
  - id: petition.acceptance
    title_zh: 十五日内决定
    title_en: Decide within 15 days
    citation: {law: XFTL, title_zh: 信访工作条例, title_en: Regulations, verified: false}
    effective_from: 2022-05-01
    trigger: received
    met_by: [accepted]
    deadline: fifteen days
    warn_before: 3 days
    severity: major
"""
    with pytest.raises(RulePackError) as err:
        load_texts({"petitions.yaml": text})
    assert err.value.rule_id == "petition.acceptance" and err.value.field == "deadline"


# ------------------------------------------------------------------------------------------ linking


def earlier(
    id_: int,
    *,
    phone: str = "p-other",
    subject: tuple[SubjectKind, str] = (SubjectKind.OFFICER, "officer_li"),
    text: str,
) -> rules.Earlier:
    return rules.Earlier(id_, phone, "", subject[0], subject[1], text, RECEIVED - timedelta(days=10))


RUDE = "我在玉林北路报警说电动车被邻居拿走，出警民警态度恶劣，对我大声呵斥。"
RUDE_AGAIN = "再次反映：出警民警态度恶劣，我在玉林北路报警说电动车被邻居拿走，请给个说法。"
FEES = "在芳草街被交警罚款200元没有开票据。"


def test_the_same_complainant_is_linked_whatever_the_matter() -> None:
    links = rules.find_links(
        "p-zhang", "", SubjectKind.UNIT, "WH-YL", FEES, RECEIVED, [earlier(1, phone="p-zhang", text=RUDE)]
    )
    assert [(link.earlier_id, link.reasons, link.repeat) for link in links] == [
        (1, (LinkReason.SAME_COMPLAINANT,), False)
    ]


def test_another_person_on_the_same_subject_with_a_similar_text_is_the_same_matter() -> None:
    links = rules.find_links(
        "p-wang", "", SubjectKind.OFFICER, "officer_li", RUDE_AGAIN, RECEIVED, [earlier(1, text=RUDE)]
    )
    assert links[0].reasons == (LinkReason.SAME_MATTER,) and links[0].repeat
    assert links[0].similarity >= rules.SAME_MATTER_SIMILARITY


def test_the_same_subject_with_an_unrelated_text_is_not_linked() -> None:
    assert (
        rules.find_links(
            "p-wang", "", SubjectKind.OFFICER, "officer_li", FEES, RECEIVED, [earlier(1, text=RUDE)]
        )
        == []
    )


def test_a_similar_text_about_another_subject_by_another_person_is_not_linked() -> None:
    other = earlier(1, subject=(SubjectKind.UNIT, "WH-JTQ"), text=RUDE)
    assert (
        rules.find_links("p-wang", "", SubjectKind.OFFICER, "officer_li", RUDE_AGAIN, RECEIVED, [other]) == []
    )


def test_the_same_id_number_links_a_complainant_who_changed_phones() -> None:
    before = rules.Earlier(
        1, "p-old-phone", "id-zhang", SubjectKind.UNIT, "WH-YL", FEES, RECEIVED - timedelta(days=3)
    )
    links = rules.find_links("p-new-phone", "id-zhang", SubjectKind.UNIT, "WH-YL", FEES, RECEIVED, [before])
    assert links[0].reasons == (LinkReason.SAME_COMPLAINANT, LinkReason.SAME_MATTER)


def test_a_complaint_older_than_the_look_back_is_not_linked() -> None:
    old = rules.Earlier(1, "p-zhang", "", SubjectKind.UNIT, "WH-YL", FEES, RECEIVED - rules.LOOKBACK - SECOND)
    assert rules.find_links("p-zhang", "", SubjectKind.UNIT, "WH-YL", FEES, RECEIVED, [old]) == []


# ------------------------------------------------------------------------------------- satisfaction


def test_wilson_interval_of_half_of_ten() -> None:
    s = rules.wilson(5, 10)
    assert (round(s.low, 4), round(s.high, 4)) == (0.2366, 0.7634)


def test_wilson_interval_of_none_of_ten_is_not_zero_width() -> None:
    s = rules.wilson(0, 10)
    assert s.low == 0.0 and round(s.high, 4) == 0.2775


def test_an_empty_sample_has_no_point_and_the_whole_interval() -> None:
    s = rules.wilson(0, 0)
    assert s.point is None and (s.low, s.high) == (0.0, 1.0)


def test_satisfaction_counts_only_the_complainants_reached() -> None:
    s = rules.satisfaction(
        [
            CallbackResult.SATISFIED,
            CallbackResult.BASICALLY_SATISFIED,
            CallbackResult.DISSATISFIED,
            CallbackResult.UNREACHABLE,
        ]
    )
    assert (s.successes, s.n) == (2, 3)


def test_the_call_back_sample_is_fixed_by_the_complaint_id_and_near_its_rate() -> None:
    picked = [i for i in range(1, 10_001) if rules.in_callback_sample(i, 0.3)]
    assert picked == [i for i in range(1, 10_001) if rules.in_callback_sample(i, 0.3)]
    assert 2800 < len(picked) < 3200
