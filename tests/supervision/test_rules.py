"""The deadline engine: every rule at, just before and just after its boundary, with the due times
written out by hand (Beijing is UTC+8: 24:00 Beijing of day D is 16:00 UTC of day D)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.supervision.choices import CaseKind, DeadlineStatus, EventKind
from pingan.supervision.pack import in_force
from pingan.supervision.rules import CaseEvent, Deadline, evaluate, evaluate_naive

SECOND = timedelta(seconds=1)
CRIMINAL, ADMIN = CaseKind.CRIMINAL, CaseKind.ADMINISTRATIVE
# 2026-03-10 14:00 Beijing time, and the same a year earlier (the 2012 PSAPL text still in force).
T = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
T_2025 = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# rule id: (case kind, trigger event, trigger time, trigger flags, satisfying event, due (UTC), warning lead)
BOUNDARIES = {
    "cpl.detention_family_notice": (
        CRIMINAL,
        EventKind.DETENTION,
        T,
        (),
        EventKind.FAMILY_NOTIFIED,
        utc(2026, 3, 11, 6),
        timedelta(hours=6),
    ),
    "cpl.arrest_request": (
        CRIMINAL,
        EventKind.DETENTION,
        T,
        (),
        EventKind.ARREST_REQUESTED,
        utc(2026, 3, 13, 16),
        timedelta(hours=12),
    ),
    "cpl.procuratorate_decision": (
        CRIMINAL,
        EventKind.ARREST_REQUESTED,
        T,
        (),
        EventKind.ARREST_DECIDED,
        utc(2026, 3, 17, 16),
        timedelta(days=1),
    ),
    "cpl.arrest_family_notice": (
        CRIMINAL,
        EventKind.ARREST,
        T,
        (),
        EventKind.FAMILY_NOTIFIED,
        utc(2026, 3, 11, 6),
        timedelta(hours=6),
    ),
    "cpl.custody_after_arrest": (
        CRIMINAL,
        EventKind.ARREST,
        T,
        (),
        EventKind.TRANSFER_FOR_PROSECUTION,
        utc(2026, 5, 10, 16),
        timedelta(days=7),
    ),
    "cpl.bail_limit": (
        CRIMINAL,
        EventKind.BAIL,
        T,
        (),
        EventKind.BAIL_ENDED,
        utc(2027, 3, 10, 16),
        timedelta(days=15),
    ),
    "cpl.residential_surveillance_limit": (
        CRIMINAL,
        EventKind.RESIDENTIAL_SURVEILLANCE,
        T,
        (),
        EventKind.SURVEILLANCE_ENDED,
        utc(2026, 9, 10, 16),
        timedelta(days=10),
    ),
    "cpl.unrelated_property_return": (
        CRIMINAL,
        EventKind.PROPERTY_FOUND_UNRELATED,
        T,
        (),
        EventKind.SEIZURE_LIFTED,
        utc(2026, 3, 13, 16),
        timedelta(days=1),
    ),
    "psapl2012.questioning": (
        ADMIN,
        EventKind.QUESTIONING_STARTED,
        T_2025,
        (),
        EventKind.QUESTIONING_ENDED,
        utc(2025, 3, 10, 14),
        timedelta(hours=1),
    ),
    "psapl2012.questioning_complex": (
        ADMIN,
        EventKind.QUESTIONING_STARTED,
        T_2025,
        ("complex",),
        EventKind.QUESTIONING_ENDED,
        utc(2025, 3, 11, 6),
        timedelta(hours=2),
    ),
    "psapl2025.questioning": (
        ADMIN,
        EventKind.QUESTIONING_STARTED,
        T,
        (),
        EventKind.QUESTIONING_ENDED,
        utc(2026, 3, 10, 14),
        timedelta(hours=1),
    ),
    "psapl2025.questioning_many_parties": (
        ADMIN,
        EventKind.QUESTIONING_STARTED,
        T,
        ("many_parties",),
        EventKind.QUESTIONING_ENDED,
        utc(2026, 3, 10, 18),
        timedelta(hours=1),
    ),
    "psapl2025.questioning_complex": (
        ADMIN,
        EventKind.QUESTIONING_STARTED,
        T,
        ("complex",),
        EventKind.QUESTIONING_ENDED,
        utc(2026, 3, 11, 6),
        timedelta(hours=2),
    ),
    "psapl2012.case_handling": (
        ADMIN,
        EventKind.CASE_OPENED,
        T_2025,
        (),
        EventKind.CASE_DECIDED,
        utc(2025, 4, 9, 16),
        timedelta(days=5),
    ),
    "psapl2025.case_handling": (
        ADMIN,
        EventKind.CASE_OPENED,
        T,
        (),
        EventKind.CASE_DECIDED,
        utc(2026, 4, 9, 16),
        timedelta(days=5),
    ),
    "acl.seizure_limit": (
        ADMIN,
        EventKind.SEIZURE,
        T,
        (),
        EventKind.SEIZURE_LIFTED,
        utc(2026, 4, 9, 16),
        timedelta(days=3),
    ),
    "admin.unrelated_property_return": (
        ADMIN,
        EventKind.PROPERTY_FOUND_UNRELATED,
        T,
        (),
        EventKind.SEIZURE_LIFTED,
        utc(2026, 3, 13, 16),
        timedelta(days=1),
    ),
    "property.registration": (
        CRIMINAL,
        EventKind.SEIZURE,
        T,
        (),
        EventKind.PROPERTY_REGISTERED,
        utc(2026, 3, 11, 6),
        timedelta(hours=4),
    ),
}
RULE_IDS = sorted(BOUNDARIES)


def clock_of(rule_id: str, events: list[CaseEvent], at: datetime) -> Deadline:
    kind = BOUNDARIES[rule_id][0]
    found = [d for d in evaluate(kind, events, in_force(), at=at).deadlines if d.rule.id == rule_id]
    assert len(found) == 1, f"{rule_id}: {found}"
    return found[0]


def trigger(rule_id: str) -> CaseEvent:
    _, event, at, flags, _, _, _ = BOUNDARIES[rule_id]
    return CaseEvent(event, at, "p1", frozenset(flags))


def test_every_rule_of_the_pack_has_its_boundary_written_here() -> None:
    assert sorted(r.id for r in in_force().rules) == RULE_IDS


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_the_due_time_is_the_one_the_law_counts(rule_id: str) -> None:
    due = BOUNDARIES[rule_id][5]
    assert clock_of(rule_id, [trigger(rule_id)], BOUNDARIES[rule_id][2]).due_at == due


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_met_exactly_at_the_boundary_is_on_time(rule_id: str) -> None:
    _, _, _, _, satisfier, due, _ = BOUNDARIES[rule_id]
    d = clock_of(rule_id, [trigger(rule_id), CaseEvent(satisfier, due, "p1")], due + timedelta(days=400))
    assert d.status is DeadlineStatus.MET


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_met_one_second_before_the_boundary_is_on_time(rule_id: str) -> None:
    _, _, _, _, satisfier, due, _ = BOUNDARIES[rule_id]
    d = clock_of(
        rule_id, [trigger(rule_id), CaseEvent(satisfier, due - SECOND, "p1")], due + timedelta(days=400)
    )
    assert d.status is DeadlineStatus.MET


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_met_one_second_after_the_boundary_is_a_breach(rule_id: str) -> None:
    _, _, _, _, satisfier, due, _ = BOUNDARIES[rule_id]
    d = clock_of(
        rule_id, [trigger(rule_id), CaseEvent(satisfier, due + SECOND, "p1")], due + timedelta(days=400)
    )
    assert d.status is DeadlineStatus.BREACHED
    assert "met late" in d.reasons[-1]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_unmet_at_the_boundary_is_a_warning_and_one_second_later_a_breach(rule_id: str) -> None:
    due = BOUNDARIES[rule_id][5]
    assert clock_of(rule_id, [trigger(rule_id)], due).status is DeadlineStatus.WARNING
    assert clock_of(rule_id, [trigger(rule_id)], due + SECOND).status is DeadlineStatus.BREACHED


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_the_warning_starts_its_lead_time_before_the_boundary(rule_id: str) -> None:
    due, lead = BOUNDARIES[rule_id][5], BOUNDARIES[rule_id][6]
    assert clock_of(rule_id, [trigger(rule_id)], due - lead - SECOND).status is DeadlineStatus.RUNNING
    assert clock_of(rule_id, [trigger(rule_id)], due - lead).status is DeadlineStatus.WARNING


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_reason_cites_the_rule_and_its_law(rule_id: str) -> None:
    d = clock_of(rule_id, [trigger(rule_id)], BOUNDARIES[rule_id][5] + SECOND)
    law = in_force().by_id[rule_id].citation.law
    assert d.reasons[0].startswith(rule_id) and law in d.reasons[0]


def test_a_satisfying_event_of_another_person_does_not_meet_the_clock() -> None:
    events = [
        CaseEvent(EventKind.DETENTION, T, "p1"),
        CaseEvent(EventKind.FAMILY_NOTIFIED, T + timedelta(hours=1), "p2"),
    ]
    assert clock_of("cpl.detention_family_notice", events, utc(2026, 3, 12)).status is DeadlineStatus.BREACHED


def test_a_step_of_the_case_itself_meets_the_clocks_of_every_person_and_item() -> None:
    # A decision ends the seizure of each item; a transfer for prosecution ends each arrested
    # person's custody. A step about one person still meets only that person's clocks (above).
    later = T + timedelta(days=90)
    for case_kind, starts, step, rule_id in (
        (ADMIN, EventKind.SEIZURE, EventKind.CASE_DECIDED, "acl.seizure_limit"),
        (CRIMINAL, EventKind.ARREST, EventKind.TRANSFER_FOR_PROSECUTION, "cpl.custody_after_arrest"),
    ):
        events = [
            CaseEvent(starts, T, "a"),
            CaseEvent(starts, T + SECOND, "b"),
            CaseEvent(step, T + timedelta(days=10)),
        ]
        for engine in (evaluate, evaluate_naive):
            clocks = [
                d for d in engine(case_kind, events, in_force(), at=later).deadlines if d.rule.id == rule_id
            ]
            assert [(d.subject, d.status) for d in clocks] == [
                ("a", DeadlineStatus.MET),
                ("b", DeadlineStatus.MET),
            ], (engine.__name__, rule_id)


def test_detention_at_beijing_midnight_still_counts_from_the_next_day() -> None:
    midnight = utc(2026, 3, 9, 16)  # 2026-03-10 00:00 Beijing
    d = clock_of("cpl.arrest_request", [CaseEvent(EventKind.DETENTION, midnight, "p1")], midnight)
    assert d.due_at == utc(2026, 3, 13, 16)


def test_detention_one_second_before_beijing_midnight_falls_due_a_day_earlier() -> None:
    before = utc(2026, 3, 9, 15, 59, 59)  # 2026-03-09 23:59:59 Beijing
    d = clock_of("cpl.arrest_request", [CaseEvent(EventKind.DETENTION, before, "p1")], before)
    assert d.due_at == utc(2026, 3, 12, 16)


def test_custody_from_a_months_last_day_ends_on_the_last_day_of_the_target_month() -> None:
    arrest = utc(2026, 1, 31, 2)  # 2026-01-31 10:00 Beijing
    assert clock_of(
        "cpl.custody_after_arrest", [CaseEvent(EventKind.ARREST, arrest, "p1")], arrest
    ).due_at == utc(2026, 3, 31, 16)


def test_custody_from_a_date_the_target_month_lacks_ends_on_its_last_day() -> None:
    arrest = utc(2025, 12, 30, 2)  # 2025-12-30 Beijing; February 2026 has no 30th
    assert clock_of(
        "cpl.custody_after_arrest", [CaseEvent(EventKind.ARREST, arrest, "p1")], arrest
    ).due_at == utc(2026, 2, 28, 16)


def extension(
    rule_id: str, ext: str, at: datetime, *, amount: int | None = None, flags: tuple[str, ...] = ()
) -> CaseEvent:
    return CaseEvent(
        EventKind.EXTENSION,
        at,
        "p1",
        frozenset(flags),
        rule_id=rule_id,
        extension_id=ext,
        amount=amount,
        approved_by="chief_zhao",
    )


def test_the_special_extension_adds_four_days_to_the_arrest_request() -> None:
    events = [
        trigger("cpl.arrest_request"),
        extension("cpl.arrest_request", "special", T + timedelta(days=1)),
    ]
    assert clock_of("cpl.arrest_request", events, T).due_at == utc(2026, 3, 13, 16)  # not yet extended at T
    assert clock_of("cpl.arrest_request", events, utc(2026, 3, 12)).due_at == utc(2026, 3, 17, 16)


def test_the_special_extension_may_add_a_single_day() -> None:
    events = [trigger("cpl.arrest_request"), extension("cpl.arrest_request", "special", T, amount=1)]
    assert clock_of("cpl.arrest_request", events, utc(2026, 3, 12)).due_at == utc(2026, 3, 14, 16)


def test_a_special_extension_of_five_days_is_ignored() -> None:
    events = [trigger("cpl.arrest_request"), extension("cpl.arrest_request", "special", T, amount=5)]
    result = evaluate(CRIMINAL, events, in_force(), at=utc(2026, 3, 12))
    assert [d.due_at for d in result.deadlines if d.rule.id == "cpl.arrest_request"] == [utc(2026, 3, 13, 16)]
    assert "adds 1 to 4 days" in result.ignored[0]


def test_roving_serial_or_gang_crime_runs_the_arrest_request_to_thirty_days() -> None:
    events = [
        trigger("cpl.arrest_request"),
        extension("cpl.arrest_request", "roving_serial_gang", T, flags=("roving_serial_gang",)),
    ]
    assert clock_of("cpl.arrest_request", events, utc(2026, 3, 12)).due_at == utc(2026, 4, 9, 16)


def test_the_thirty_days_need_the_roving_serial_or_gang_ground() -> None:
    events = [trigger("cpl.arrest_request"), extension("cpl.arrest_request", "roving_serial_gang", T)]
    result = evaluate(CRIMINAL, events, in_force(), at=utc(2026, 3, 12))
    assert "needs the ground 'roving_serial_gang'" in result.ignored[0]


def test_an_extension_without_approval_is_ignored() -> None:
    unapproved = CaseEvent(
        EventKind.EXTENSION, T, "p1", rule_id="cpl.arrest_request", extension_id="special", approved_by=None
    )
    result = evaluate(CRIMINAL, [trigger("cpl.arrest_request"), unapproved], in_force(), at=utc(2026, 3, 12))
    assert "has no approval" in result.ignored[0]


def test_custody_extends_by_one_two_and_two_months_in_order() -> None:
    later = T + timedelta(days=50)
    events = [
        trigger("cpl.custody_after_arrest"),
        extension("cpl.custody_after_arrest", "complex", later),
        extension("cpl.custody_after_arrest", "major_case", later + SECOND),
        extension("cpl.custody_after_arrest", "ten_years_or_more", later + 2 * SECOND),
    ]
    d = clock_of("cpl.custody_after_arrest", events, later + timedelta(days=1))
    assert d.due_at == utc(2026, 10, 10, 16)
    assert d.extensions == ("complex", "major_case", "ten_years_or_more")


def test_the_two_month_custody_extension_needs_the_one_month_first() -> None:
    events = [trigger("cpl.custody_after_arrest"), extension("cpl.custody_after_arrest", "major_case", T)]
    result = evaluate(CRIMINAL, events, in_force(), at=T + SECOND)
    assert "needs extension complex first" in result.ignored[0]


def test_an_extension_cannot_be_granted_twice() -> None:
    events = [trigger("cpl.custody_after_arrest")] + [
        extension("cpl.custody_after_arrest", "complex", T + n * SECOND) for n in (1, 2)
    ]
    result = evaluate(CRIMINAL, events, in_force(), at=T + timedelta(days=1))
    assert "already granted" in result.ignored[0]


def test_an_administrative_case_extended_by_thirty_days() -> None:
    events = [
        CaseEvent(EventKind.CASE_OPENED, T),
        CaseEvent(
            EventKind.EXTENSION,
            T,
            rule_id="psapl2025.case_handling",
            extension_id="major_complex",
            approved_by="x",
        ),
    ]
    d = [
        x
        for x in evaluate(ADMIN, events, in_force(), at=T).deadlines
        if x.rule.id == "psapl2025.case_handling"
    ]
    assert d[0].due_at == utc(2026, 5, 9, 16)


def test_questioning_begun_on_new_years_eve_keeps_the_2012_limits() -> None:
    eve = utc(2025, 12, 31, 15, 59, 59)  # 2025-12-31 23:59:59 Beijing
    result = evaluate(ADMIN, [CaseEvent(EventKind.QUESTIONING_STARTED, eve, "p1")], in_force(), at=eve)
    assert [d.rule.id for d in result.deadlines] == ["psapl2012.questioning"]


def test_questioning_begun_at_new_year_follows_the_2025_revision() -> None:
    new_year = utc(2025, 12, 31, 16)  # 2026-01-01 00:00 Beijing
    result = evaluate(
        ADMIN, [CaseEvent(EventKind.QUESTIONING_STARTED, new_year, "p1")], in_force(), at=new_year
    )
    assert [d.rule.id for d in result.deadlines] == ["psapl2025.questioning"]


def test_the_twelve_hour_tier_does_not_exist_before_the_revision() -> None:
    events = [CaseEvent(EventKind.QUESTIONING_STARTED, T_2025, "p1", frozenset({"many_parties"}))]
    result = evaluate(ADMIN, events, in_force(), at=T_2025)
    assert [(d.rule.id, d.due_at) for d in result.deadlines] == [
        ("psapl2012.questioning", utc(2025, 3, 10, 14))
    ]


def test_the_administrative_3_day_return_starts_with_the_2015_property_provisions() -> None:
    eve = utc(2015, 8, 31, 15, 59, 59)  # 2015-08-31 23:59:59 Beijing
    first = utc(2015, 8, 31, 16)  # 2015-09-01 00:00 Beijing: MPS property provisions art. 6 in force
    for at, expected in ((eve, []), (first, ["admin.unrelated_property_return"])):
        events = [CaseEvent(EventKind.PROPERTY_FOUND_UNRELATED, at, "item:car")]
        result = evaluate(ADMIN, events, in_force(), at=at)
        assert [d.rule.id for d in result.deadlines] == expected


def test_criminal_rules_do_not_run_on_an_administrative_case() -> None:
    result = evaluate(ADMIN, [CaseEvent(EventKind.DETENTION, T, "p1")], in_force(), at=T)
    assert result.deadlines == ()


def test_events_after_the_evaluation_time_are_not_read() -> None:
    events = [
        trigger("cpl.detention_family_notice"),
        CaseEvent(EventKind.FAMILY_NOTIFIED, T + timedelta(hours=2), "p1"),
    ]
    assert clock_of("cpl.detention_family_notice", events, T + timedelta(hours=1)).met_at is None


def test_the_unindexed_baseline_agrees_with_the_engine() -> None:
    events = [
        CaseEvent(EventKind.DETENTION, T, "p1"),
        CaseEvent(EventKind.SEIZURE, T, "item1"),
        CaseEvent(EventKind.ARREST_REQUESTED, T + timedelta(days=2), "p1"),
        CaseEvent(EventKind.ARREST, T + timedelta(days=6), "p1"),
    ]
    at = T + timedelta(days=80)
    assert evaluate(CRIMINAL, events, in_force(), at=at) == evaluate_naive(
        CRIMINAL, events, in_force(), at=at
    )


SUBJECTS = ("p1", "p2", "item:phone", "")
STEP_KINDS = [k for k in EventKind if k is not EventKind.EXTENSION]
EXTENSIONS = [(r.id, e.id) for r in in_force().rules for e in r.extensions]


@st.composite
def case_logs(draw: st.DrawFn) -> tuple[CaseKind, list[CaseEvent]]:
    kind = draw(st.sampled_from(list(CaseKind)))
    events = []
    for _ in range(draw(st.integers(0, 14))):
        at = T_2025 + timedelta(hours=draw(st.integers(0, 24 * 400)), seconds=draw(st.integers(0, 3599)))
        subject = draw(st.sampled_from(SUBJECTS))
        flags = frozenset(
            draw(st.sets(st.sampled_from(("complex", "many_parties", "roving_serial_gang")), max_size=2))
        )
        if draw(st.integers(0, 5)) == 0:
            rule_id, ext = draw(st.sampled_from(EXTENSIONS))
            events.append(
                CaseEvent(
                    EventKind.EXTENSION,
                    at,
                    subject,
                    flags,
                    rule_id=rule_id,
                    extension_id=ext,
                    amount=draw(st.none() | st.integers(1, 5)),
                    approved_by=draw(st.sampled_from((None, "chief_zhao"))),
                )
            )
        else:
            events.append(CaseEvent(draw(st.sampled_from(STEP_KINDS)), at, subject, flags))
    return kind, events


@given(case_logs(), st.integers(0, 24 * 450))
@settings(max_examples=300, deadline=None)
def test_the_indexed_engine_agrees_with_the_plain_scan_on_any_log(
    log: tuple[CaseKind, list[CaseEvent]], hours: int
) -> None:
    kind, events = log
    at = T_2025 + timedelta(hours=hours)
    assert evaluate(kind, events, in_force(), at=at) == evaluate_naive(kind, events, in_force(), at=at)
