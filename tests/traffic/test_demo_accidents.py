"""The demo's traffic years: the simulator's crashes on the stored road graph, written once through the
accident write path, so that the brigade's list, black spots and monthly report have substance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from pingan.command.roads import do_store_roads
from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.roles import Actor, Role
from pingan.sim.accidents import seed, simulate_accidents
from pingan.sim.roads import generate_roads
from pingan.traffic.choices import Severity
from pingan.traffic.model import Accident

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
SUN = Actor("officer_sun", Role.TRAFFIC_POLICE)


def test_every_simulated_crash_is_recorded_once_on_its_segment_in_the_years_before(database: str) -> None:
    roads = generate_roads(3, size=30)
    with db.transaction() as s:
        do_store_roads(s, roads)
    truth = simulate_accidents(roads, 2026, years=2, years_after=1)

    with clock.frozen(NOW):
        written = seed(roads, now=NOW, years=2, share=1.0, actor=SUN)
        again = seed(roads, now=NOW, years=2, share=1.0, actor=SUN)

    assert written == int(truth.before.sum()) > 100
    assert again == 0  # once
    with db.transaction() as s:
        accidents = s.scalars(select(Accident)).all()
        logged = s.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "accident.record")
        ).scalar_one()
    assert len(accidents) == logged == written  # each through the write path, audited
    assert all(a.edge_id is not None and a.created_by == "officer_sun" for a in accidents)
    assert all(NOW - timedelta(days=730) <= a.occurred_at.replace(tzinfo=UTC) < NOW for a in accidents)
    ksi = sum(a.severity in (Severity.FATAL, Severity.SERIOUS) for a in accidents)
    assert ksi == int(truth.before_ksi.sum())  # all kept: the simulator's own killed-or-seriously-injured
    # Per segment, the simulator's counts: the black spots are where it planted them.
    per_edge: dict[int, int] = {}
    for a in accidents:
        per_edge[a.edge_id] = per_edge.get(a.edge_id, 0) + 1  # type: ignore[index]
    edge_ids = roads.edge_id.tolist()
    assert per_edge == {edge_ids[k]: int(n) for k, n in enumerate(truth.before.sum(axis=0)) if n}


def test_a_share_keeps_that_share_of_the_crashes(database: str) -> None:
    roads = generate_roads(3, size=30)
    with db.transaction() as s:
        do_store_roads(s, roads)
    total = int(simulate_accidents(roads, 2026, years=1, years_after=1).before.sum())
    with clock.frozen(NOW):
        written = seed(roads, now=NOW, years=1, share=0.3, actor=SUN)
    assert 0.2 * total < written < 0.4 * total


def test_the_seeded_findings_were_issued_in_time_but_for_a_few_late_ones_and_the_recent_ones(
    database: str,
) -> None:
    roads = generate_roads(3, size=30)
    with db.transaction() as s:
        do_store_roads(s, roads)
    with clock.frozen(NOW):
        seed(roads, now=NOW, years=2, share=1.0, actor=SUN)
    with db.transaction() as s:
        accidents = s.scalars(select(Accident)).all()
    occurred = {a.id: a.occurred_at.replace(tzinfo=UTC) for a in accidents}
    issued = [a for a in accidents if a.finding_issued_at is not None]
    old = [a for a in accidents if occurred[a.id] < NOW - timedelta(days=30)]
    assert all(a.finding_issued_at is not None for a in old), "a month on, every finding is issued"
    assert all(a.finding_issued_at.replace(tzinfo=UTC) <= NOW for a in issued), "none issued in the future"  # type: ignore[union-attr]
    late = [a for a in issued if a.finding_issued_at - a.scene_investigated_at > timedelta(days=10)]  # type: ignore[operator]
    assert 0 < len(late) < 0.06 * len(issued), "a few late, against the 10-day rule"
    recent = [a for a in accidents if occurred[a.id] > NOW - timedelta(days=1)]
    assert all(a.finding_issued_at is None for a in recent), "yesterday's accidents await their finding"
