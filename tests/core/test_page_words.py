"""Words pages use: lengths of time as a person says them, live clocks that read right before they
tick, and who acted (a robot by what it is)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pingan.core.pages import clock_text, countdown, duration, who

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (45, "45秒"),
        (300, "5分钟"),
        (362, "6分02秒"),
        (7_500, "2小时05分"),
        (3 * 86_400 + 4 * 3_600 + 5, "3天4小时"),
        (None, ""),
    ],
)
def test_a_length_of_time_is_said_in_the_largest_units_that_matter(seconds: int | None, said: str) -> None:
    assert duration(seconds) == said


def test_a_clock_shows_minutes_then_hours_then_days() -> None:
    assert [clock_text(s) for s in (252, 3_723, 3 * 86_400 + 9 * 3_600 + 29 * 60 + 7)] == [
        "4:12",
        "1:02:03",
        "3天 09:29:07",
    ]


def test_a_countdown_shows_the_time_left_and_once_passed_how_late_with_the_pages_word() -> None:
    ahead = str(countdown(NOW + timedelta(seconds=252), now=NOW))
    assert 'class="countdown"' in ahead and ">4:12</span>" in ahead
    assert f'data-due="{(NOW + timedelta(seconds=252)).isoformat()}"' in ahead
    late = str(countdown(NOW - timedelta(seconds=363), "超时", now=NOW))
    assert 'class="countdown late"' in late and ">超时 6:03</span>" in late and 'data-late="超时"' in late
    overdue = str(countdown(NOW - timedelta(days=6, hours=14), now=NOW))
    assert ">已超期 6天 14:00:00</span>" in overdue  # the default word


def test_a_robot_is_named_by_what_it_is_and_a_person_by_username() -> None:
    assert [who("robot"), who("screening"), who("wang.lei"), who(None)] == [
        "止付机器人",
        "交易筛查",
        "wang.lei",
        "",
    ]
