"""The demo's street weeks (`pingan.sim.street`): noise levels through the noise ingest, racing reports,
night operations, violations and a campaign, written once through their write paths, so that the
racing and campaign pages have substance, and what they show is what the simulator planted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from pingan.command.roads import do_store_roads
from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.roles import Actor, Role
from pingan.sim.roads import generate_roads
from pingan.sim.street import StreetParams, seed
from pingan.traffic import queries
from pingan.traffic.model import NoiseReading, RacingReport, Violation

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
SUN = Actor("officer_sun", Role.TRAFFIC_POLICE)
PARAMS = StreetParams(sensors=5, hot=2, noise_days=14, violation_days=60)


def count(model: type) -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_the_street_weeks_are_written_once_through_the_write_paths(database: str) -> None:
    roads = generate_roads(3, size=30)
    with db.transaction() as s:
        do_store_roads(s, roads)
    with clock.frozen(NOW):
        done = seed(roads, now=NOW, actor=SUN, params=PARAMS)
        again = seed(roads, now=NOW, actor=SUN, params=PARAMS)

    assert done.readings == count(NoiseReading) == 5 * 14 * 24, "every sensor's every hour, ingested"
    assert again.readings == again.reports == again.violations == 0, "once"
    with db.transaction() as s:
        audited = dict(
            s.execute(select(AuditEntry.action, func.count()).group_by(AuditEntry.action)).tuples().all()
        )
    assert audited["racing.report"] == done.reports == count(RacingReport) > 0
    assert audited["violation.record"] == done.violations == count(Violation) > 0
    assert audited["racing.enforcement"] == done.operations == 2

    with db.transaction() as s:
        picture = queries.racing_picture(s, end=NOW, days=30)
        hot_places = {p.place for p in picture.patrols[:2]}
        enforced = {f"segment:{e.edge_id}" for e in queries.enforcements(s, limit=10)}
        campaign = queries.campaigns(s)[0]
        figures = queries.campaign_figures(s, campaign, now=NOW)
    # The racing avenues are the two hottest places (the brigade's operations are on the first), and
    # their patrols are at night.
    assert len(hot_places) == 2 and enforced <= hot_places
    assert all(p.start_hour >= 22 or p.start_hour < 2 for p in picture.patrols[:2])
    # The campaign's patrols find more of its target on its streets than before it.
    assert figures.during > figures.before
