"""The dispute simulator: deterministic, drawn from the 110 calls, with repeats, grades and breaches."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from pingan.core import db
from pingan.core.auth import User
from pingan.sim.disputes import DisputeParams, generate, seed
from tests.community.conftest import HTML
from tests.community.test_pages import _browser

PARAMS = DisputeParams(seed=7, until=date(2026, 11, 30), days=45)
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def test_the_same_params_give_the_same_disputes_drawn_from_the_110_calls() -> None:
    first = [(d.body.kind, d.body.taken_in_at, d.call_seq) for d in generate(PARAMS)]
    assert first == [(d.body.kind, d.body.taken_in_at, d.call_seq) for d in generate(PARAMS)]
    assert sum(1 for _, _, seq in first if seq is not None) > len(first) / 2
    assert len(Counter(k for k, _, _ in first)) == 7


def test_a_seeded_period_has_repeats_grades_and_breaches_on_its_pages(
    api: TestClient, mediator_wang: User
) -> None:
    written = seed(PARAMS, now=NOW)
    assert written > 50
    assert seed(PARAMS, now=NOW) == 0  # idempotent
    from pingan.community import queries
    from pingan.core.roles import Actor

    supervisor = Actor.system("test")
    with db.read_transaction() as s:
        months = queries.monthly(s, supervisor)
        assert sum(m.taken_in for m in months) == written
        assert sum(m.repeats for m in months) > 0
        cases, employers = queries.wage_cases(s, supervisor)
        assert employers and all(c.owed_fen > c.recovered_fen or c.status.value == "open" for c in cases)
        # The station did a red dispute's tasks within hours: none is left open but today's.
        left = queries.open_tasks(s, supervisor)
        assert all(NOW - t.due_at.replace(tzinfo=UTC) < timedelta(hours=12) for t in left), left
    page = _browser(api, mediator_wang).get("/community/monthly", headers=HTML).text
    assert "2026-11" in page
