"""The read side of directives: lists, a directive, a station's inbox, the near-duplicate candidates,
the stations' weekly load and the year-over-year count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session, selectinload

from pingan.core.errors import NotFound
from pingan.core.roles import Actor
from pingan.supervision.directives import rules
from pingan.supervision.directives.model import Directive, DirectiveRecipient


def _in_view(actor: Actor) -> ColumnElement[bool]:
    """Directives in the actor's view: all for the district-wide, those sent to their station otherwise."""
    if actor.district_wide:
        return true()
    return Directive.id.in_(
        select(DirectiveRecipient.directive_id).where(
            DirectiveRecipient.station_code == (actor.station_code or "")
        )
    )


def directive_list(
    session: Session, *, actor: Actor, search: str = "", limit: int = 100, offset: int = 0
) -> list[Directive]:
    """Directives in view, newest first, optionally those whose subject or text contains `search`."""
    q: Select[Directive] = (
        select(Directive).where(_in_view(actor)).options(selectinload(Directive.recipients))
    )
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(Directive.subject.like(pattern, escape="\\") | Directive.text.like(pattern, escape="\\"))
    return list(
        session.execute(
            q.order_by(Directive.issued_at.desc(), Directive.id.desc()).limit(limit).offset(offset)
        ).scalars()
    )


def get_directive(session: Session, directive_id: int, *, actor: Actor) -> Directive:
    """One directive in view; NotFound otherwise (an officer cannot learn of another station's)."""
    found = session.execute(
        select(Directive)
        .where(Directive.id == directive_id, _in_view(actor))
        .options(selectinload(Directive.recipients))
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("no directive", field="id")
    return found


def directives_by_id(session: Session, ids: Sequence[int]) -> dict[int, Directive]:
    """The directives with these ids (to show the near duplicates a check found)."""
    if not ids:
        return {}
    return {d.id: d for d in session.execute(select(Directive).where(Directive.id.in_(list(ids)))).scalars()}


def recipient(session: Session, directive_id: int, station_code: str) -> DirectiveRecipient | None:
    """A station's copy of a directive, with the directive."""
    return session.execute(
        select(DirectiveRecipient)
        .where(
            DirectiveRecipient.directive_id == directive_id, DirectiveRecipient.station_code == station_code
        )
        .options(selectinload(DirectiveRecipient.directive))
    ).scalar_one_or_none()


def inbox(session: Session, station_code: str, *, limit: int = 200) -> list[DirectiveRecipient]:
    """A station's directives: unanswered first (earliest deadline first), then the answered, newest first."""
    rows = session.execute(
        select(DirectiveRecipient)
        .join(Directive)
        .where(DirectiveRecipient.station_code == station_code)
        .options(selectinload(DirectiveRecipient.directive))
        .order_by(DirectiveRecipient.answered_at.is_not(None), Directive.deadline, Directive.id)
        .limit(limit)
    ).scalars()
    return list(rows)


def candidates_since(
    session: Session, since: datetime, *, stations: set[str], until: datetime
) -> list[rules.Candidate]:
    """The directives issued in [since, until] to any of `stations`, as the duplicate check reads them."""
    rows = session.execute(
        select(
            Directive.id,
            Directive.subject,
            Directive.text,
            Directive.issued_at,
            DirectiveRecipient.station_code,
        )
        .join(DirectiveRecipient)
        .where(Directive.issued_at >= since, Directive.issued_at <= until)
        .where(
            Directive.id.in_(
                select(DirectiveRecipient.directive_id).where(
                    DirectiveRecipient.station_code.in_(sorted(stations))
                )
            )
        )
    ).all()
    found: dict[int, tuple[str, str, datetime, set[str]]] = {}
    for id_, subject, text, issued_at, station in rows:
        found.setdefault(id_, (subject, text, issued_at, set()))[3].add(station)
    return [
        rules.Candidate(id_, subject, text, issued_at, frozenset(codes))
        for id_, (subject, text, issued_at, codes) in sorted(found.items())
    ]


@dataclass(frozen=True)
class StationWeek:
    """One station's load in one week: directives received, answered, and minutes spent answering."""

    station_code: str
    week: str  # the Monday, Beijing time, ISO date
    directives: int
    answered: int
    minutes_spent: int


def station_load(session: Session, *, start: datetime, end: datetime) -> list[StationWeek]:
    """Directives per station per week (by issue time, Beijing weeks from Monday) in [start, end), with
    the answers and the minutes the station spent on them."""
    rows = session.execute(
        select(
            DirectiveRecipient.station_code,
            Directive.issued_at,
            DirectiveRecipient.answered_at,
            DirectiveRecipient.minutes_spent,
        )
        .join(Directive)
        .where(Directive.issued_at >= start, Directive.issued_at < end)
    ).all()
    acc: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for station, issued_at, answered_at, minutes in rows:
        cell = acc[(station, rules.week_of(issued_at).isoformat())]
        cell[0] += 1
        if answered_at is not None:
            cell[1] += 1
            cell[2] += minutes or 0
    return [StationWeek(s, w, *acc[(s, w)]) for s, w in sorted(acc)]


def count_issued(session: Session, *, start: datetime, end: datetime) -> int:
    """How many directives were issued in [start, end)."""
    return int(
        session.execute(
            select(func.count(Directive.id)).where(Directive.issued_at >= start, Directive.issued_at < end)
        ).scalar_one()
    )


def year_over_year(session: Session, year: int) -> rules.YearOverYear:
    """Directives issued in the Beijing calendar year against the year before."""
    this = count_issued(session, start=rules.month_bounds(year, 1)[0], end=rules.month_bounds(year + 1, 1)[0])
    last = count_issued(session, start=rules.month_bounds(year - 1, 1)[0], end=rules.month_bounds(year, 1)[0])
    return rules.YearOverYear(this, last)


def monthly_counts(session: Session, year: int) -> list[int]:
    """Directives issued in each Beijing month of `year` (twelve counts)."""
    start, end = rules.month_bounds(year, 1)[0], rules.month_bounds(year + 1, 1)[0]
    counts = [0] * 12
    for (issued_at,) in session.execute(
        select(Directive.issued_at).where(Directive.issued_at >= start, Directive.issued_at < end)
    ):
        counts[issued_at.astimezone(rules.BEIJING).month - 1] += 1
    return counts


@dataclass(frozen=True)
class StationMonth:
    """One station's directives in a month and a year before, and its answering work in the month."""

    station_code: str
    directives: int
    previous_year: int
    answered: int
    on_time: int
    minutes_spent: int


def station_month(session: Session, year: int, month: int) -> list[StationMonth]:
    """Per station: directives received in the Beijing month, in the same month a year before, the
    answers, those on time, and the minutes spent."""
    start, end = rules.month_bounds(year, month)
    before_start, before_end = rules.month_bounds(year - 1, month)
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    rows = session.execute(
        select(
            DirectiveRecipient.station_code,
            Directive.issued_at,
            Directive.deadline,
            DirectiveRecipient.answered_at,
            DirectiveRecipient.minutes_spent,
        )
        .join(Directive)
        .where(
            ((Directive.issued_at >= start) & (Directive.issued_at < end))
            | ((Directive.issued_at >= before_start) & (Directive.issued_at < before_end))
        )
    ).all()
    for station, issued_at, deadline, answered_at, minutes in rows:
        cell = acc[station]
        if issued_at >= start:
            cell[0] += 1
            if answered_at is not None:
                cell[2] += 1
                cell[3] += answered_at <= deadline
                cell[4] += minutes or 0
        else:
            cell[1] += 1
    return [StationMonth(s, *acc[s]) for s in sorted(acc)]
