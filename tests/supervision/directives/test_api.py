"""Directives over the API: issuing with its refusals and the near-duplicate warning, answering with
the time spent, and the stations' load and the year-over-year count read from the data."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.org import Station
from pingan.core.roles import Role
from pingan.supervision.directives.model import Directive
from tests.conftest import bearer, make_user
from tests.supervision.directives.conftest import FLOOD_REWORDED, FRAUD_TEXT, NOW, directive_body

URL = "/api/v1/directives"


@pytest.fixture
def sent(client: TestClient, station_yulin: Station, supervisor_liu: User) -> dict[str, Any]:
    """The flood directive, sent to Yulin by supervisor Liu."""
    r = client.post(URL, json=directive_body(), headers=bearer(supervisor_liu))
    assert r.status_code == 201, r.text
    return dict(r.json())


def audit_actions(object_id: int) -> list[str]:
    with db.transaction() as s:
        return list(
            s.execute(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "directive", AuditEntry.object_id == str(object_id))
                .order_by(AuditEntry.id)
            ).scalars()
        )


def test_a_supervisor_sends_a_directive_and_yulin_awaits_it(sent: dict[str, Any]) -> None:
    assert sent["issuer"] == "supervisor_liu"
    assert sent["required_answer"] == "acknowledge"
    assert [(r["station_code"], r["state"]) for r in sent["recipients"]] == [("WH-YL", "pending")]
    assert audit_actions(sent["id"]) == ["directive.issue"]


def test_a_deadline_before_the_issue_time_gets_422_naming_the_deadline(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    r = client.post(
        URL,
        json=directive_body(deadline=(NOW - timedelta(hours=1)).isoformat()),
        headers=bearer(supervisor_liu),
    )
    assert (r.status_code, r.json()["field"]) == (422, "deadline")


def test_a_deadline_at_the_issue_time_gets_422_and_one_second_later_is_sent(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    at_issue = client.post(URL, json=directive_body(deadline=NOW.isoformat()), headers=bearer(supervisor_liu))
    assert (at_issue.status_code, at_issue.json()["field"]) == (422, "deadline")
    later = client.post(
        URL,
        json=directive_body(deadline=(NOW + timedelta(seconds=1)).isoformat()),
        headers=bearer(supervisor_liu),
    )
    assert later.status_code == 201, later.text


def test_an_unknown_station_gets_422_naming_its_place_and_nothing_is_sent(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    r = client.post(URL, json=directive_body(stations=["WH-YL", "WH-NOPE"]), headers=bearer(supervisor_liu))
    assert (r.status_code, r.json()["field"]) == (422, "stations.1")
    assert "WH-NOPE" in r.json()["message"]
    with db.transaction() as s:
        assert s.execute(select(Directive.id)).first() is None


def test_a_deadline_without_a_zone_gets_422_naming_it(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    r = client.post(URL, json=directive_body(deadline="2026-03-25T10:00:00"), headers=bearer(supervisor_liu))
    assert r.status_code == 422 and "deadline" in r.text


def test_an_officer_may_not_issue_a_directive(
    client: TestClient, station_yulin: Station, officer_li: User
) -> None:
    assert client.post(URL, json=directive_body(), headers=bearer(officer_li)).status_code == 403


def test_a_near_duplicate_is_held_back_with_the_earlier_one_and_its_similarity(
    client: TestClient, sent: dict[str, Any], supervisor_liu: User
) -> None:
    r = client.post(
        URL, json=directive_body(subject="防汛安全检查", text=FLOOD_REWORDED), headers=bearer(supervisor_liu)
    )
    assert r.status_code == 409
    body = r.json()
    assert body["field"] == "confirm_duplicate"
    assert [s["directive_id"] for s in body["similar"]] == [sent["id"]]
    assert 0.5 < body["similar"][0]["similarity"] <= 1.0
    with db.transaction() as s:
        assert len(s.execute(select(Directive.id)).all()) == 1


def test_a_confirmed_near_duplicate_is_sent_and_the_override_is_audited(
    client: TestClient, sent: dict[str, Any], supervisor_liu: User
) -> None:
    r = client.post(
        URL,
        json=directive_body(subject="防汛安全检查", text=FLOOD_REWORDED, confirm_duplicate=True),
        headers=bearer(supervisor_liu),
    )
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["similar_to"] == [sent["id"]] and d["duplicate_override"] > 0.5
    assert audit_actions(d["id"]) == ["directive.issue", "directive.duplicate_override"]
    with db.transaction() as s:
        detail = s.execute(
            select(AuditEntry.detail).where(AuditEntry.action == "directive.duplicate_override")
        ).scalar_one()
    assert json.loads(detail)["similar"][0]["id"] == sent["id"]


def test_a_different_directive_is_sent_without_a_warning(
    client: TestClient, sent: dict[str, Any], supervisor_liu: User
) -> None:
    r = client.post(
        URL, json=directive_body(subject="反诈宣传进校园", text=FRAUD_TEXT), headers=bearer(supervisor_liu)
    )
    assert r.status_code == 201 and r.json()["similar_to"] == []


def test_yulins_officer_answers_with_the_minutes_spent(
    client: TestClient, sent: dict[str, Any], officer_li: User
) -> None:
    r = client.post(
        f"{URL}/{sent['id']}/answer",
        json={"text": "已签收并落实。", "minutes_spent": 25},
        headers=bearer(officer_li),
    )
    assert r.status_code == 200, r.text
    (yulin,) = r.json()["recipients"]
    assert (yulin["state"], yulin["answered_by"], yulin["minutes_spent"]) == ("answered", "officer_li", 25)
    assert audit_actions(sent["id"]) == ["directive.issue", "directive.answer"]


def test_a_station_answers_once(client: TestClient, sent: dict[str, Any], officer_li: User) -> None:
    answer = {"text": "已签收。", "minutes_spent": 5}
    assert (
        client.post(f"{URL}/{sent['id']}/answer", json=answer, headers=bearer(officer_li)).status_code == 200
    )
    again = client.post(f"{URL}/{sent['id']}/answer", json=answer, headers=bearer(officer_li))
    assert again.status_code == 409


def test_an_answer_without_minutes_or_with_zero_minutes_gets_422(
    client: TestClient, sent: dict[str, Any], officer_li: User
) -> None:
    for bad in ({"text": "已签收。"}, {"text": "已签收。", "minutes_spent": 0}):
        r = client.post(f"{URL}/{sent['id']}/answer", json=bad, headers=bearer(officer_li))
        assert r.status_code == 422 and "minutes_spent" in r.text


def test_another_stations_officer_neither_sees_nor_answers_yulins_directive(
    client: TestClient, sent: dict[str, Any]
) -> None:
    zhou = make_user("officer_zhou", Role.OFFICER, station_code="WH-XX")
    assert client.get(f"{URL}/{sent['id']}", headers=bearer(zhou)).status_code == 404
    r = client.post(
        f"{URL}/{sent['id']}/answer", json={"text": "x", "minutes_spent": 5}, headers=bearer(zhou)
    )
    assert r.status_code == 404
    assert client.get(URL, headers=bearer(zhou)).json() == []


def test_an_answer_after_the_deadline_reads_late(
    client: TestClient, sent: dict[str, Any], officer_li: User
) -> None:
    with clock.frozen(NOW + timedelta(days=6)):
        r = client.post(
            f"{URL}/{sent['id']}/answer",
            json={"text": "迟报。", "minutes_spent": 30},
            headers=bearer(officer_li),
        )
    assert r.json()["recipients"][0]["state"] == "answered_late"


def test_the_load_counts_directives_per_station_per_week_and_minutes_spent(
    client: TestClient, sent: dict[str, Any], station_huaxi: Station, supervisor_liu: User, officer_li: User
) -> None:
    client.post(
        URL,
        json=directive_body(subject="反诈宣传进校园", text=FRAUD_TEXT, stations=["WH-YL", "WH-HX"]),
        headers=bearer(supervisor_liu),
    )
    client.post(
        f"{URL}/{sent['id']}/answer",
        json={"text": "已签收。", "minutes_spent": 40},
        headers=bearer(officer_li),
    )
    r = client.get(
        f"{URL}/load",
        params={"start": "2026-03-16T00:00:00+08:00", "end": "2026-03-23T00:00:00+08:00"},
        headers=bearer(supervisor_liu),
    )
    assert r.status_code == 200
    assert [
        (w["station_code"], w["week"], w["directives"], w["answered"], w["minutes_spent"]) for w in r.json()
    ] == [
        ("WH-HX", "2026-03-16", 1, 0, 0),
        ("WH-YL", "2026-03-16", 2, 1, 40),
    ]


def test_the_load_refuses_an_end_before_its_start(client: TestClient, supervisor_liu: User) -> None:
    r = client.get(
        f"{URL}/load",
        params={"start": "2026-03-23T00:00:00+08:00", "end": "2026-03-16T00:00:00+08:00"},
        headers=bearer(supervisor_liu),
    )
    assert (r.status_code, r.json()["field"]) == (422, "end")


def test_year_over_year_is_counted_from_the_directives_sent(
    client: TestClient, station_yulin: Station, supervisor_liu: User
) -> None:
    # Four directives in 2025 and two in 2026 (Beijing years): -50%.
    texts = [f"第{i}号：{'请核查辖区出租房屋' * (i + 1)}，并报送情况。" for i in range(6)]
    for i, text in enumerate(texts):
        at = NOW - timedelta(days=365) if i < 4 else NOW
        with clock.frozen(at + timedelta(minutes=i)):
            body = directive_body(
                subject=f"专项工作{i}",
                text=text,
                deadline=(at + timedelta(days=3)).isoformat(),
                confirm_duplicate=True,
            )
            assert client.post(URL, json=body, headers=bearer(supervisor_liu)).status_code == 201
    r = client.get(f"{URL}/year-over-year", params={"year": 2026}, headers=bearer(supervisor_liu))
    assert r.json() == {"year": 2026, "directives": 2, "previous_year": 4, "change_percent": -50.0}
