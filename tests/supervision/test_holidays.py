"""The holiday calendar of 2026 (the State Council's notice of 2025-11-04) and the rules that read it:
CPL art. 105 para. 4 moves a period's last day off a holiday, except in custody; ACL art. 69 counts
short periods in working days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pingan.supervision.choices import CaseKind, EventKind
from pingan.supervision.holidays import Calendar, CalendarError, calendar, parse, shift_last_day
from pingan.supervision.pack import Rule, in_force
from pingan.supervision.rules import CaseEvent, evaluate, evaluate_naive


@pytest.fixture
def cal() -> Calendar:
    return calendar()


def test_the_2026_calendar_holds_the_notice_33_holidays_and_6_adjusted_working_days(cal: Calendar) -> None:
    # 元旦 3 + 春节 9 + 清明 3 + 劳动节 5 + 端午 3 + 中秋 3 + 国庆 7
    assert len(cal.holidays) == 33
    assert sorted(cal.working_days) == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    [notice] = cal.notices
    assert notice.published == date(2026 - 1, 11, 4) and notice.verified is False


def test_a_deadline_on_national_day_moves_to_the_first_working_day_after_the_holiday(cal: Calendar) -> None:
    assert shift_last_day(date(2026, 10, 1), cal, custody=False) == date(2026, 10, 8)
    assert shift_last_day(date(2026, 10, 7), cal, custody=False) == date(2026, 10, 8)


def test_a_custody_deadline_on_national_day_does_not_move(cal: Calendar) -> None:
    assert shift_last_day(date(2026, 10, 1), cal, custody=True) == date(2026, 10, 1)


def test_the_working_days_either_side_of_the_holiday_do_not_move(cal: Calendar) -> None:
    assert shift_last_day(date(2026, 9, 30), cal, custody=False) == date(2026, 9, 30)
    assert shift_last_day(date(2026, 10, 8), cal, custody=False) == date(2026, 10, 8)


def test_an_adjusted_working_saturday_does_not_move_but_an_ordinary_sunday_does(cal: Calendar) -> None:
    assert shift_last_day(date(2026, 10, 10), cal, custody=False) == date(2026, 10, 10)  # 调休上班
    assert shift_last_day(date(2026, 10, 11), cal, custody=False) == date(2026, 10, 12)
    assert shift_last_day(date(2026, 2, 14), cal, custody=False) == date(2026, 2, 14)


def test_spring_festival_moves_a_deadline_past_all_nine_days(cal: Calendar) -> None:
    assert shift_last_day(date(2026, 2, 15), cal, custody=False) == date(2026, 2, 24)
    assert shift_last_day(date(2026, 2, 23), cal, custody=False) == date(2026, 2, 24)


def test_three_working_days_from_the_eve_of_national_day_end_on_the_adjusted_saturday(cal: Calendar) -> None:
    # ACL art. 69: 10-08, 10-09, then Saturday 10-10, a working day by the notice
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert cal.add_working_days(date(2026, 9, 29), 1) == date(2026, 9, 30)
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_a_year_without_a_notice_rests_on_weekends_only(cal: Calendar) -> None:
    assert shift_last_day(date(2027, 1, 2), cal, custody=False) == date(2027, 1, 4)  # a Saturday
    assert shift_last_day(date(2027, 1, 1), cal, custody=False) == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (
            'version = "x"\n[years.2027]\nnotice = "n"\npublished = 2026-11-01\nholidays = [2026-10-01]\n',
            "holidays",
        ),
        (
            'version = "x"\n[years.2027]\nnotice = "n"\npublished = 2026-11-01\nholidays = [2027-01-01]\n'
            "working_days = [2027-01-01]\n",
            "both a holiday and a working day",
        ),
        (
            'version = "x"\n[years.2027]\nnotice = "n"\npublished = 2026-11-01\nholidays = []\n'
            "working_days = [2027-01-05]\n",
            "working_days",
        ),
        ("[years.2027]\nholidays = []\n", "version"),
    ],
)
def test_a_malformed_calendar_is_refused_naming_the_year_and_field(body: str, named: str) -> None:
    with pytest.raises(CalendarError, match=named):
        parse(body)


# ------------------------------------------------------------------------ the rule pack's engine


def _due(rule_id: str, kind: EventKind, at: datetime) -> datetime:
    events = [CaseEvent(kind, at, "item:EB-1" if "property" in rule_id else "p1")]
    for engine in (evaluate, evaluate_naive):
        found = [
            d for d in engine(CaseKind.CRIMINAL, events, in_force(), at=at).deadlines if d.rule.id == rule_id
        ]
        assert len(found) == 1
    return found[0].due_at


def test_unrelated_property_due_on_national_day_is_due_at_the_end_of_october_8() -> None:
    # found unrelated 2026-09-28 10:00 Beijing: 3 days from the next day end on 10-01, a holiday
    due = _due(
        "cpl.unrelated_property_return",
        EventKind.PROPERTY_FOUND_UNRELATED,
        datetime(2026, 9, 28, 2, tzinfo=UTC),
    )
    assert due == datetime(2026, 10, 8, 16, tzinfo=UTC)  # 24:00 Beijing of Thursday 10-08


def test_unrelated_property_due_on_the_eve_of_the_holiday_does_not_move() -> None:
    due = _due(
        "cpl.unrelated_property_return",
        EventKind.PROPERTY_FOUND_UNRELATED,
        datetime(2026, 9, 27, 2, tzinfo=UTC),
    )
    assert due == datetime(2026, 9, 30, 16, tzinfo=UTC)


def test_custody_after_arrest_due_on_national_day_does_not_move() -> None:
    # arrest 2026-08-01: two months end at 24:00 on 10-01; custody is not lengthened by a holiday
    due = _due("cpl.custody_after_arrest", EventKind.ARREST, datetime(2026, 8, 1, 2, tzinfo=UTC))
    assert due == datetime(2026, 10, 1, 16, tzinfo=UTC)


def test_the_arrest_request_of_a_detained_suspect_due_on_a_holiday_does_not_move() -> None:
    due = _due("cpl.arrest_request", EventKind.DETENTION, datetime(2026, 9, 28, 2, tzinfo=UTC))
    assert due == datetime(2026, 10, 1, 16, tzinfo=UTC)


def test_a_rule_shifting_hours_by_holiday_is_refused_at_load() -> None:
    pack = in_force()
    rule = pack.by_id["cpl.detention_family_notice"]
    with pytest.raises(ValueError, match="holiday_shift"):
        Rule.model_validate({**rule.model_dump(), "holiday_shift": True})
