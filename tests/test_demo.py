"""The demo is a generated district: stations, users, registry and most reports at seeding, the rest live."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pingan.antifraud.orders.model import RestrictionOrder
from pingan.antifraud.reports import queries
from pingan.antifraud.reports.choices import ReportIntake
from pingan.antifraud.reports.model import FraudReport
from pingan.core import db
from pingan.core.audit import verify_chain
from pingan.core.auth import User
from pingan.core.org import Station
from pingan.demo import DEMO_USERS, feed_reports, seed_demo, seed_people
from pingan.web import reactions


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "district"


def _reports() -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(FraudReport)).scalar_one())


def test_the_demo_seed_brings_about_fifty_reports_in_linked_clusters_and_one_user_per_role(
    database: str, demo_dir: Path
) -> None:
    result = seed_demo(demo_dir, max_accounts=300)
    assert 30 <= result.reports_created <= 70
    assert result.held_back > 0
    with db.transaction() as s:
        users = {u for (u,) in s.execute(select(User.username))}
        codes = {c.lower() for (c,) in s.execute(select(Station.code))}
        # One user per role, and the supervised cases' officer and keeper of each station (docs/supervision.md).
        case_staff = {f"{who}_{code}" for code in codes for who in ("case", "keeper")} | {"case_supervisor"}
        assert users == {name for name, _, _ in DEMO_USERS} | case_staff
        clusters = queries.largest_clusters(s, limit=50)
    assert len(clusters) >= 2


def test_seeded_and_fed_reports_are_registered_once_by_the_demo_officer_and_their_payees_stopped(
    database: str, demo_dir: Path
) -> None:
    # One seeding for these specifications: each seeding takes a minute or more.
    reactions.install()  # as `pingan demo seed` does: the robot reacts to each registration
    result = seed_demo(demo_dir, max_accounts=50)
    assert _reports() == result.reports_total

    again = seed_demo(demo_dir, max_accounts=50)
    assert (again.users_created, again.reports_created) == (0, 0)  # seeding twice adds nothing
    assert _reports() == result.reports_total

    fed = feed_reports(demo_dir / "demo-feed-reports.jsonl", every_s=0.0, stop=threading.Event())
    assert fed == result.held_back > 0  # the live feed registers the held-back reports
    assert _reports() == result.reports_total + fed
    with db.transaction() as s:
        intakes = set(s.execute(select(FraudReport.intake, FraudReport.officer)).all())
        orders = int(s.execute(select(func.count()).select_from(RestrictionOrder)).scalar_one())
        waiting = queries.awaiting_officer(s)
        chain = verify_chain(s)
    assert intakes == {(ReportIntake.REGISTERED, "officer")} and waiting == []
    assert orders > 0
    assert chain.ok


def test_the_demo_dispatcher_gets_road_recommendations_for_a_seeded_incident(database: str) -> None:
    from pingan.command import recommend
    from pingan.command.model import Incident
    from pingan.command.seed import seed_command
    from pingan.core import clock
    from pingan.core.roles import Actor
    from pingan.demo import seed_roads

    seed_people()
    seed_command(now=clock.now())
    assert seed_roads() is True and seed_roads() is False  # stored once
    with db.transaction() as s:
        incident = s.execute(select(Incident).where(Incident.lat.is_not(None)).limit(1)).scalar_one()
        ranking = recommend.recommendations(s, incident, Actor.system("test"), now=clock.now())
    assert ranking.recommended and ranking.recommended[0].reasons == ("fastest",)
    assert ranking.recommended[0].travel_s > 0 and ranking.notes == ()


def test_the_demo_seed_calls_back_the_weeks_before_and_seeds_complaints_once(database: str) -> None:
    from pingan.command.seed import HISTORY_WEEKS, seed_command
    from pingan.core import clock
    from pingan.demo import seed_complaints
    from pingan.sim.geography import district_stations

    now = clock.now()
    seed_people()
    seed_command(now=now)
    complaints, called, _ = seed_complaints(now=now, per_station_year=2)
    # Each station's one call-back a week, for the weeks that ended since the history began.
    assert complaints > 0 and called >= len(district_stations()) * (HISTORY_WEEKS - 2)
    assert seed_complaints(now=now, per_station_year=2) == (0, 0, 0)
