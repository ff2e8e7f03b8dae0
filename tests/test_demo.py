"""The demo district seeds a plausible set of reports with clusters, idempotently, on an intact audit chain."""

from __future__ import annotations

from sqlalchemy import func, select

from pingan.antifraud import queries
from pingan.antifraud.model import FraudReport
from pingan.core import db
from pingan.core.audit import verify_chain
from pingan.demo import seed_demo


def test_the_demo_seed_creates_about_fifty_reports_in_several_clusters(database: str) -> None:
    result = seed_demo(reports=50)
    assert result.reports_created == 50
    with db.transaction() as s:
        clusters = queries.largest_clusters(s, limit=50)
    assert len(clusters) >= 3
    assert max(size for _, size in clusters) < 25


def test_seeding_twice_adds_nothing_and_the_audit_chain_verifies(database: str) -> None:
    seed_demo(reports=20)
    again = seed_demo(reports=20)
    assert (again.users_created, again.reports_created) == (0, 0)
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(FraudReport)).scalar_one() == 20
        assert verify_chain(s).ok
