"""Station scoping of warnings and home visits: an officer works the queue of their own station, and
every read of a warnings list or a visit queue is audited."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.warnings.visits.actions import do_open_visit
from pingan.antifraud.warnings.visits.choices import VisitKind
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.org import do_upsert_station
from pingan.core.roles import Role
from tests.antifraud.warnings.conftest import ANALYST, accept, wang_request
from tests.conftest import SYSTEM, bearer, make_user

pytestmark = pytest.mark.usefixtures("station_yulin")


@pytest.fixture
def officer_zhao(database: str) -> User:
    """An officer of the Jiangxi street station (WH-JX)."""
    with db.transaction() as s:
        do_upsert_station(
            s, code="WH-JX", name="浆洗街派出所", lat=30.64, lon=104.05, area_geojson=None, actor=SYSTEM
        )
    return make_user("officer_zhao", Role.OFFICER, station_code="WH-JX")


@pytest.fixture
def yulin_visit(database: str) -> int:
    """A dissuasion visit for Wang, who lives in the Yulin station's area (WH-YL)."""
    delivery = accept(wang_request())
    with db.transaction() as s:
        d = s.merge(delivery)
        return do_open_visit(s, d, kind=VisitKind.DISSUASION, reasons=("elderly_payer",), actor=ANALYST).id


def _reads(action: str) -> list[dict[str, object]]:
    with db.transaction() as s:
        q = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return [{"actor": e.actor} | json.loads(e.detail) for e in s.execute(q).scalars()]


def test_an_officer_lists_the_visits_of_their_own_station_only(
    client: TestClient, yulin_visit: int, officer_li: User, officer_zhao: User
) -> None:
    own = client.get("/api/v1/warnings/visits", headers=bearer(officer_li)).json()
    other = client.get("/api/v1/warnings/visits", headers=bearer(officer_zhao)).json()
    assert [t["id"] for t in own] == [yulin_visit]
    assert other == []


def test_a_visit_of_another_station_is_404_to_an_officer(
    client: TestClient, yulin_visit: int, officer_zhao: User
) -> None:
    r = client.post(f"/api/v1/warnings/visits/{yulin_visit}/accept", headers=bearer(officer_zhao))
    assert r.status_code == 404


def test_a_plan_of_another_station_is_404_to_an_officer(
    client: TestClient, yulin_visit: int, officer_li: User, officer_zhao: User
) -> None:
    assert client.get("/api/v1/warnings/plans/plan-wang-1", headers=bearer(officer_zhao)).status_code == 404
    assert client.get("/api/v1/warnings/plans/plan-wang-1", headers=bearer(officer_li)).status_code == 200


def test_the_visit_queue_page_shows_an_officer_their_station_only(
    client: TestClient, yulin_visit: int, officer_li: User, officer_zhao: User
) -> None:
    own = client.get("/warnings/visits", headers=bearer(officer_li))
    other = client.get("/warnings/visits", headers=bearer(officer_zhao))
    assert f"/warnings/visits/{yulin_visit}/accept" in own.text
    assert f"/warnings/visits/{yulin_visit}/accept" not in other.text


def test_the_warnings_pages_show_an_officer_their_stations_people_only(
    client: TestClient, yulin_visit: int, officer_li: User, officer_zhao: User
) -> None:
    assert "person:wang" in client.get("/warnings", headers=bearer(officer_li)).text
    assert "person:wang" not in client.get("/warnings", headers=bearer(officer_zhao)).text
    own = client.get("/warnings/persons/person:wang", headers=bearer(officer_li))
    other = client.get("/warnings/persons/person:wang", headers=bearer(officer_zhao))
    assert "plan-wang-1" in own.text
    assert other.status_code == 200 and "plan-wang-1" not in other.text


def test_an_officer_without_a_station_sees_no_visits_and_the_page_says_why(
    client: TestClient, yulin_visit: int
) -> None:
    officer_sun = make_user("officer_sun", Role.OFFICER)
    page = client.get("/warnings/visits", headers=bearer(officer_sun))
    assert page.status_code == 200 and "no station" in page.text
    assert client.get("/api/v1/warnings/visits", headers=bearer(officer_sun)).json() == []


def test_every_read_of_the_visit_queue_is_audited_with_its_count(
    client: TestClient, yulin_visit: int, officer_li: User
) -> None:
    client.get("/api/v1/warnings/visits", headers=bearer(officer_li))
    client.get("/warnings/visits", headers=bearer(officer_li))
    reads = _reads("home_visit.list")
    assert [(r["actor"], r["returned"], r["scope"]) for r in reads] == [
        ("officer_li", 1, "station:WH-YL"),
        ("officer_li", 1, "station:WH-YL"),
    ]


def test_reads_of_the_warnings_list_and_a_persons_timeline_are_audited(
    client: TestClient, yulin_visit: int, analyst_zhang: User
) -> None:
    client.get("/warnings", headers=bearer(analyst_zhang))
    client.get("/warnings/persons/person:wang", headers=bearer(analyst_zhang))
    (deliveries,) = _reads("warning_delivery.list")
    (person,) = _reads("warning_person.list")
    assert (deliveries["actor"], deliveries["returned"], deliveries["scope"]) == (
        "analyst_zhang",
        1,
        "district",
    )
    assert person["filters"] == {"person": "person:wang"} and person["returned"] == 2
