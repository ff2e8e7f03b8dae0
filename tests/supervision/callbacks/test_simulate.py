"""The simulator's 110 call-backs: each ended week drawn once through the draw, each call-back recorded
through the desk's action, and a dissatisfied caller's call-back turned into a complaint through the
complaint intake. The week of Monday 2026-03-09 has three closed incidents a call-back can reach; the
clock stands at 2026-03-20 10:00 Beijing time, so that week has ended and the next has not."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from pingan.core import clock, db
from pingan.core.auth import User
from pingan.supervision.callbacks import simulate
from pingan.supervision.callbacks.choices import CallbackOutcome
from pingan.supervision.callbacks.model import CallbackDraw, CallbackTask
from pingan.supervision.complaints.choices import Channel, ComplaintStatus
from pingan.supervision.complaints.model import Complaint

SINCE = datetime(2026, 3, 8, 16, tzinfo=UTC)  # Monday 2026-03-09 00:00 Beijing


def test_only_the_weeks_that_have_ended_are_drawn() -> None:
    now = datetime(2026, 3, 20, 2, tzinfo=UTC)
    assert simulate.mondays(datetime(2026, 3, 1, tzinfo=UTC), now) == [date(2026, 3, 2), date(2026, 3, 9)]


def test_the_simulator_draws_each_ended_week_once_and_records_its_call_backs(
    staff: dict[str, User], week_incidents: list[int]
) -> None:
    with db.transaction() as s:
        written = simulate.load(s, seed=1, since=SINCE, now=clock.now(), rate=1.0)
    assert (written.weeks, written.drawn, written.called) == (1, 3, 3)
    with db.transaction() as s:
        again = simulate.load(s, seed=1, since=SINCE, now=clock.now(), rate=1.0)
        draws = s.scalars(select(CallbackDraw)).all()
        tasks = s.scalars(select(CallbackTask)).all()
    assert again.weeks == 0 and [d.week_start for d in draws] == [date(2026, 3, 9)]
    assert {t.incident_id for t in tasks} == set(week_incidents)
    assert all(t.outcome is not None and t.called_at is not None for t in tasks)
    assert all(t.called_at is not None and t.called_at >= t.incident_closed_at for t in tasks)


def test_a_dissatisfied_simulated_call_back_becomes_an_accepted_complaint_through_the_intake(
    staff: dict[str, User], week_incidents: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulate, "REACH", 1.0)
    monkeypatch.setattr(simulate, "SATISFIED", -1.0)  # every caller reached is dissatisfied
    with db.transaction() as s:
        written = simulate.load(s, seed=1, since=SINCE, now=clock.now(), rate=1.0)
    assert written.complaints == 3
    with db.transaction() as s:
        tasks = s.scalars(select(CallbackTask)).all()
        complaints = {c.id: c for c in s.scalars(select(Complaint))}
    assert {t.outcome for t in tasks} == {CallbackOutcome.DISSATISFIED}
    for t in tasks:
        assert t.complaint_id is not None
        c = complaints[t.complaint_id]
        assert c.channel is Channel.CALLBACK_110 and c.subject_ref == str(t.incident_id)
        assert c.external_ref == f"110-callback:{t.id}" and c.status is ComplaintStatus.ACCEPTED
