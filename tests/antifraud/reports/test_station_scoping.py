"""Station scoping (辖区) of fraud reports: an officer sees their own station's reports; analysts,
supervisors and auditors see the district by role, an officer only by grant; every list read is audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from pingan.cli import app as cli_app
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.org import Station, do_upsert_station
from pingan.core.roles import Role
from tests.conftest import SYSTEM, bearer, make_user
from tests.factories import report_payload

pytestmark = pytest.mark.usefixtures("station_yulin")

YULIN_REF = "510107-2026-000001"
JIANGXI_REF = "510107-2026-000002"


@pytest.fixture
def station_jiangxi(database: str) -> Station:
    with db.transaction() as s:
        return do_upsert_station(
            s, code="WH-JX", name="浆洗街派出所", lat=30.64, lon=104.05, area_geojson=None, actor=SYSTEM
        )


@pytest.fixture
def officer_zhao(station_jiangxi: Station) -> User:
    """An officer of the Jiangxi street station (WH-JX)."""
    return make_user("officer_zhao", Role.OFFICER, station_code="WH-JX")


@pytest.fixture
def officer_sun(database: str) -> User:
    """An officer whose account has no station yet."""
    return make_user("officer_sun", Role.OFFICER)


@pytest.fixture
def reports(
    client: TestClient, station_jiangxi: Station, officer_li: User, analyst_zhang: User
) -> dict[str, int]:
    """One report at Yulin (WH-YL) and one at Jiangxi street (WH-JX), by report reference."""
    yulin = client.post("/api/v1/fraud-reports", json=report_payload(), headers=bearer(officer_li))
    jiangxi = client.post(
        "/api/v1/fraud-reports",
        json=report_payload(external_ref=JIANGXI_REF, station_code="WH-JX"),
        headers=bearer(analyst_zhang),
    )
    assert yulin.status_code == 201 and jiangxi.status_code == 201, (yulin.text, jiangxi.text)
    return {YULIN_REF: yulin.json()["id"], JIANGXI_REF: jiangxi.json()["id"]}


def _listed(client: TestClient, user: User, **params: Any) -> set[str]:
    r = client.get("/api/v1/fraud-reports", params=params, headers=bearer(user))
    assert r.status_code == 200, r.text
    return {item["external_ref"] for item in r.json()["items"]}


def _list_reads() -> list[AuditEntry]:
    with db.transaction() as s:
        q = select(AuditEntry).where(AuditEntry.action == "fraud_report.list").order_by(AuditEntry.id)
        return list(s.execute(q).scalars())


def _set_grant(name: str, command: str) -> None:
    result = CliRunner().invoke(cli_app, ["users", command, name])
    assert result.exit_code == 0, result.output


def test_an_officer_lists_only_the_reports_of_their_own_station(
    client: TestClient, reports: dict[str, int], officer_li: User, officer_zhao: User
) -> None:
    assert _listed(client, officer_li) == {YULIN_REF}
    assert _listed(client, officer_zhao) == {JIANGXI_REF}


def test_asking_for_another_station_by_filter_lists_nothing_to_an_officer(
    client: TestClient, reports: dict[str, int], officer_li: User
) -> None:
    assert _listed(client, officer_li, station="WH-JX") == set()


def test_an_analyst_lists_the_reports_of_every_station(
    client: TestClient, reports: dict[str, int], analyst_zhang: User
) -> None:
    assert _listed(client, analyst_zhang) == {YULIN_REF, JIANGXI_REF}


def test_a_report_of_another_station_is_404_to_an_officer_not_403(
    client: TestClient, reports: dict[str, int], officer_li: User
) -> None:
    other = reports[JIANGXI_REF]
    assert client.get(f"/api/v1/fraud-reports/{other}", headers=bearer(officer_li)).status_code == 404
    assert client.get(f"/reports/{other}", headers=bearer(officer_li)).status_code == 404
    own = reports[YULIN_REF]
    assert client.get(f"/api/v1/fraud-reports/{own}", headers=bearer(officer_li)).status_code == 200


def test_the_report_list_page_shows_an_officer_their_station_only(
    client: TestClient, reports: dict[str, int], officer_li: User
) -> None:
    page = client.get("/reports", headers=bearer(officer_li))
    assert page.status_code == 200
    assert YULIN_REF in page.text and JIANGXI_REF not in page.text


def test_a_cluster_with_no_report_of_the_officers_station_is_404(
    client: TestClient, station_jiangxi: Station, officer_li: User, analyst_zhang: User
) -> None:
    r = client.post(
        "/api/v1/fraud-reports",
        json=report_payload(external_ref=JIANGXI_REF, station_code="WH-JX"),
        headers=bearer(analyst_zhang),
    )
    cluster_id = r.json()["cluster"]["id"]
    assert client.get(f"/api/v1/fraud-clusters/{cluster_id}", headers=bearer(officer_li)).status_code == 404
    assert client.get(f"/clusters/{cluster_id}", headers=bearer(officer_li)).status_code == 404
    assert (
        client.get(f"/api/v1/fraud-clusters/{cluster_id}", headers=bearer(analyst_zhang)).status_code == 200
    )


def test_a_shared_cluster_shows_an_officer_only_their_stations_reports(
    client: TestClient, reports: dict[str, int], officer_li: User
) -> None:
    own = client.get(f"/api/v1/fraud-reports/{reports[YULIN_REF]}", headers=bearer(officer_li)).json()
    cluster = client.get(f"/api/v1/fraud-clusters/{own['cluster']['id']}", headers=bearer(officer_li)).json()
    assert [r["external_ref"] for r in cluster["reports"]] == [YULIN_REF]


def test_an_officer_without_a_station_sees_no_reports_and_the_page_says_why(
    client: TestClient, reports: dict[str, int], officer_sun: User
) -> None:
    assert _listed(client, officer_sun) == set()
    page = client.get("/reports", headers=bearer(officer_sun))
    assert page.status_code == 200 and "no station" in page.text
    assert (
        client.get(f"/api/v1/fraud-reports/{reports[YULIN_REF]}", headers=bearer(officer_sun)).status_code
        == 404
    )


def test_an_officer_with_the_district_grant_sees_every_station(
    client: TestClient, reports: dict[str, int], officer_li: User
) -> None:
    _set_grant("officer_li", "grant-district")
    assert _listed(client, officer_li) == {YULIN_REF, JIANGXI_REF}
    other = reports[JIANGXI_REF]
    assert client.get(f"/api/v1/fraud-reports/{other}", headers=bearer(officer_li)).status_code == 200


def test_a_revoked_grant_takes_the_district_view_away(
    client: TestClient, reports: dict[str, int], officer_li: User
) -> None:
    _set_grant("officer_li", "grant-district")
    _set_grant("officer_li", "revoke-district")
    assert _listed(client, officer_li) == {YULIN_REF}


def test_granting_and_revoking_the_district_view_is_audited(officer_li: User) -> None:
    _set_grant("officer_li", "grant-district")
    _set_grant("officer_li", "revoke-district")
    with db.transaction() as s:
        actions = s.execute(
            select(AuditEntry.action, AuditEntry.object_id)
            .where(AuditEntry.action.like("user.%_district"))
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(a) for a in actions] == [
        ("user.grant_district", str(officer_li.id)),
        ("user.revoke_district", str(officer_li.id)),
    ]


def test_the_district_grant_is_refused_to_a_role_that_is_not_an_officer(analyst_zhang: User) -> None:
    result = CliRunner().invoke(cli_app, ["users", "grant-district", "analyst_zhang"])
    assert result.exit_code == 2 and "officers" in result.output


def test_a_district_wide_list_read_by_grant_is_audited_as_such(
    client: TestClient, reports: dict[str, int], officer_li: User
) -> None:
    _set_grant("officer_li", "grant-district")
    _listed(client, officer_li)
    (entry,) = _list_reads()
    assert entry.actor == "officer_li"
    assert json.loads(entry.detail)["scope"] == "district_grant"


def test_every_read_of_the_report_list_is_audited_with_its_filters_and_count(
    client: TestClient, reports: dict[str, int], officer_li: User, analyst_zhang: User
) -> None:
    _listed(client, officer_li, typology="刷单返利")
    client.get("/reports", headers=bearer(analyst_zhang))
    first, second = _list_reads()
    assert (first.actor, first.role) == ("officer_li", "officer")
    assert json.loads(first.detail) == {
        "filters": {"typology": "刷单返利"},
        "returned": 1,
        "scope": "station:WH-YL",
    }
    assert (second.actor, json.loads(second.detail)["returned"], json.loads(second.detail)["scope"]) == (
        "analyst_zhang",
        2,
        "district",
    )


def test_the_overview_counts_an_officers_station_only(
    client: TestClient, reports: dict[str, int], officer_zhao: User, analyst_zhang: User
) -> None:
    officer = client.get("/antifraud", headers=bearer(officer_zhao)).text
    analyst = client.get("/antifraud", headers=bearer(analyst_zhang)).text
    assert "¥10,000.00" in analyst and "¥10,000.00" not in officer
