"""The holiday calendar (`holidays.toml`) and the statutory rules that read it. Pure: no database, no
clock.

Two rules use it:

- **A period whose last day is a holiday** ends on the first working day after it: Criminal Procedure
  Law (2018) art. 105 para. 4, "期间的最后一日为节假日的，以节假日后的第一日为期满日期". The same
  paragraph excepts custody: "但犯罪嫌疑人、被告人或者罪犯在押期间，应当至期满之日为止，不得因节假日而
  延长". `shift_last_day(..., custody=True)` never moves.
- **A period counted in working days** skips rest days: Administrative Coercion Law art. 69, "本法中十
  日以内期限的规定是指工作日，不含法定节假日". `add_working_days` counts them.

A rest day (节假日) is a public holiday of the State Council's notice, or a Saturday or Sunday that the
notice does not make a working day (调休上班). Reading weekends as 节假日 is this project's reading of
the term as the procedure laws use it; a Saturday made a working day is a working day.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("holidays.toml")
CITATION_SHIFT = "刑事诉讼法 (2018) 第一百零五条第四款 / CPL art. 105 para. 4"
CITATION_WORKING_DAYS = "行政强制法 第六十九条 / Administrative Coercion Law art. 69"
_LONGEST_REST = 31  # no run of rest days is longer: a guard against a malformed calendar


class CalendarError(ValueError):
    """A malformed calendar file, naming the year and the field."""


@dataclass(frozen=True)
class YearNotice:
    year: int
    notice: str
    number: str
    verified: bool
    published: date


@dataclass(frozen=True)
class Calendar:
    version: str
    holidays: frozenset[date]
    working_days: frozenset[date]
    notices: tuple[YearNotice, ...]

    def is_rest_day(self, day: date) -> bool:
        """A public holiday, or a Saturday or Sunday not made a working day."""
        if day in self.holidays:
            return True
        return day.weekday() >= 5 and day not in self.working_days

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        for _ in range(_LONGEST_REST + 1):
            if not self.is_rest_day(day):
                return day
            day += timedelta(days=1)
        raise CalendarError(f"more than {_LONGEST_REST} rest days in a row from {day}")

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (the start day itself is not counted, CPL art. 105)."""
        if n < 1:
            raise ValueError("count at least one working day")
        day = start
        for _ in range(n):
            day = self.next_working_day(day + timedelta(days=1))
        return day


def shift_last_day(day: date, cal: Calendar, *, custody: bool) -> date:
    """The last day of a period (CPL art. 105 para. 4): moved to the first working day after a holiday,
    except for a period of custody, which ends on its day whatever it is."""
    return day if custody else cal.next_working_day(day)


def _dates(raw: Any, year: int, field: str) -> frozenset[date]:
    if not isinstance(raw, list) or not all(type(d) is date for d in raw):
        raise CalendarError(f"year {year} field {field!r}: a list of dates is expected")
    wrong = [d for d in raw if d.year != year]
    if wrong:
        raise CalendarError(f"year {year} field {field!r}: {wrong[0]} is not in {year}")
    if len(set(raw)) != len(raw):
        raise CalendarError(f"year {year} field {field!r}: a date is listed twice")
    return frozenset(raw)


def parse(text: str) -> Calendar:
    """A calendar from the TOML text, validated; a malformed one is refused naming the year and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(f"not TOML: {exc}") from exc
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise CalendarError("field 'version': a version string is expected")
    holidays: set[date] = set()
    working: set[date] = set()
    notices = []
    for key, table in sorted(data.get("years", {}).items()):
        if not key.isdigit() or not isinstance(table, dict):
            raise CalendarError(f"year {key!r}: a table [years.YYYY] is expected")
        year = int(key)
        hol = _dates(table.get("holidays"), year, "holidays")
        work = _dates(table.get("working_days", []), year, "working_days")
        both = hol & work
        if both:
            raise CalendarError(f"year {year}: {min(both)} is both a holiday and a working day")
        if any(d.weekday() < 5 for d in work):
            raise CalendarError(f"year {year} field 'working_days': a weekday is a working day already")
        published = table.get("published")
        if not isinstance(table.get("notice"), str) or type(published) is not date:
            raise CalendarError(f"year {year}: fields 'notice' and 'published' are required")
        holidays |= hol
        working |= work
        notices.append(
            YearNotice(
                year, table["notice"], str(table.get("number", "")), bool(table.get("verified")), published
            )
        )
    return Calendar(version, frozenset(holidays), frozenset(working), tuple(notices))


@cache
def calendar() -> Calendar:
    """The calendar shipped with the package (read once)."""
    return parse(PATH.read_text(encoding="utf-8"))
