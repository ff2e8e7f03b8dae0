"""Writes the simulator's directives (`sim.generate`) into the database through the actions: each
directive issued at its time by its office (a re-issue that the check flags is sent with the override,
as it was before the check existed), and each station's answer at its time with its minutes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from pingan.core.org import all_stations
from pingan.core.roles import Actor, Role
from pingan.supervision.directives import actions, sim
from pingan.supervision.directives.schemas import AnswerIn, DirectiveIn


def write_history(
    session: Session,
    *,
    seed: int,
    first_year: int = 900,
    end: datetime = datetime(2027, 1, 1, tzinfo=UTC),
    stations: Sequence[str] | None = None,
) -> sim.History:
    """Generate and write two years of directives and answers; the caller commits. Returns the history
    (with its ground truth of duplicates, which is not written)."""
    codes = list(stations) if stations is not None else [s.code for s in all_stations(session)]
    history = sim.generate(seed, first_year=first_year, end=end, stations=codes or sim.DEFAULT_STATIONS)
    for d in history.directives:
        issuer = Actor(username=d.issuer, role=Role.SUPERVISOR)
        draft = DirectiveIn(
            subject=d.subject,
            text=d.text,
            stations=list(d.stations),
            deadline=d.deadline,
            required_answer=d.required_answer,
            confirm_duplicate=True,
        )
        checked = actions.check_issue_directive(session, draft, actor=issuer, now=d.issued_at)
        directive = actions.do_issue_directive(session, draft, checked, actor=issuer, now=d.issued_at)
        copies = {r.station_code: r for r in directive.recipients}
        for a in d.answers:
            officer = Actor(
                username=f"officer_{a.station_code.lower()}", role=Role.OFFICER, station_code=a.station_code
            )
            body = AnswerIn(text=a.text, minutes_spent=a.minutes_spent)
            actions.check_answer(copies[a.station_code], body, actor=officer, now=a.answered_at)
            actions.do_answer(session, copies[a.station_code], body, actor=officer, now=a.answered_at)
    return history
