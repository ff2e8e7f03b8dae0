"""Disputes over the API: intake with grade, repeats, red-grade tasks, agreement, steps and breaches."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from pingan.community import actions
from pingan.core import db
from tests.command.conftest import YULIN, take_call
from tests.community.conftest import T0, dispute_body


def test_a_dispute_is_taken_in_graded_with_every_factor_and_its_parties_masked(api: TestClient) -> None:
    r = api.post("/api/v1/disputes", json=dispute_body(risk={"threats": True, "alcohol_or_drugs": True}))
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["grade"], d["score"], d["factor_version"]) == ("yellow", 5, "2026.12-1")
    assert {c["name"]: c["points"] for c in d["contributions"]}["threats"] == 3
    assert len(d["contributions"]) == 9
    assert [p["name_masked"] for p in d["parties"]] == ["张**", "李**"]
    assert d["parties"][0]["phone_masked"] == "138****1111"
    assert "13800001111" not in r.text and "张伟" not in r.text
    assert [m["side"] for m in d["mediators"]] == ["station", "community"]
    assert [e["kind"] for e in d["events"]] == ["taken_in", "graded"]
    assert d["tasks"] == []


def test_an_agreement_dated_before_the_intake_is_refused_naming_the_field(api: TestClient) -> None:
    early = (T0 - timedelta(days=1)).isoformat()
    r = api.post("/api/v1/disputes", json=dispute_body(agreed_at=early, agreement_terms="赔偿500元"))
    assert r.status_code == 422
    assert r.json()["field"] == "agreed_at"
    made = api.post("/api/v1/disputes", json=dispute_body()).json()
    r = api.post(f"/api/v1/disputes/{made['id']}/agreement", json={"agreed_at": early, "terms": "赔偿500元"})
    assert (r.status_code, r.json()["field"]) == (422, "agreed_at")
    again = api.get(f"/api/v1/disputes/{made['id']}").json()
    assert (again["status"], again["agreed_at"]) == ("open", None)


def test_an_agreement_on_the_day_of_intake_is_accepted_with_its_terms(api: TestClient) -> None:
    made = api.post("/api/v1/disputes", json=dispute_body()).json()
    r = api.post(
        f"/api/v1/disputes/{made['id']}/agreement",
        json={"agreed_at": T0.isoformat(), "terms": "修复漏水，赔偿500元"},
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert (d["status"], d["agreement_terms"]) == ("agreed", "修复漏水，赔偿500元")
    assert {c["kind"] for c in d["clocks"]} == {"mediation", "follow_up", "confirmation"}
    assert next(c for c in d["clocks"] if c["kind"] == "mediation")["state"] == "met"


def test_a_red_grade_creates_the_home_visit_and_the_art25_report_within_hours(api: TestClient) -> None:
    r = api.post(
        "/api/v1/disputes",
        json=dispute_body(kind="family", domestic_violence=True, risk={"threats": True, "weapons": True}),
    )
    d = r.json()
    assert d["grade"] == "red"
    assert sorted(t["kind"] for t in d["tasks"]) == ["art25_notification", "home_visit"]
    due = {t["due_at"] for t in d["tasks"]}
    assert due == {(T0 + actions.RED_VISIT).isoformat().replace("+00:00", "Z")} or due == {
        (T0 + actions.RED_VISIT).isoformat()
    }
    assert "dv_warning" in {c["kind"] for c in d["clocks"]}


def test_the_same_party_again_is_a_repeat_and_raises_the_grade(api: TestClient) -> None:
    first = api.post("/api/v1/disputes", json=dispute_body()).json()
    second = api.post(
        "/api/v1/disputes",
        json=dispute_body(
            taken_in_at=(T0 + timedelta(days=20)).isoformat(),
            address="芳草街8号",
            parties=[
                {"role": "applicant", "name": "张伟", "phone": "138 0000 1111"},
                {"role": "respondent", "name": "赵强"},
            ],
        ),
    ).json()
    assert second["repeat_count"] == 1 and second["earlier_dispute_ids"] == [first["id"]]
    assert {c["name"]: c["value"] for c in second["contributions"]}["repeat_count"] == 1
    assert second["score"] == first["score"] + 1


def test_a_dispute_links_to_the_110_incident_it_came_from(api: TestClient) -> None:
    incident = take_call(text="邻居吵架", category_code="020302", lat=YULIN[0], lon=YULIN[1])
    d = api.post("/api/v1/disputes", json=dispute_body(incident_id=incident)).json()
    assert d["incident_id"] == incident
    r = api.post("/api/v1/disputes", json=dispute_body(incident_id=incident + 999))
    assert (r.status_code, r.json()["field"]) == (422, "incident_id")


def test_a_bad_phone_of_a_party_is_refused_naming_the_party(api: TestClient) -> None:
    r = api.post(
        "/api/v1/disputes",
        json=dispute_body(
            parties=[
                {"role": "applicant", "name": "张伟", "phone": "12"},
                {"role": "respondent", "name": "李娜"},
            ]
        ),
    )
    assert (r.status_code, r.json()["field"]) == (422, "parties.0.phone")


def test_wages_recovered_cannot_exceed_those_owed(api: TestClient) -> None:
    d = api.post(
        "/api/v1/disputes",
        json=dispute_body(
            kind="wage_arrears",
            employer="蓉城建筑劳务公司",
            owed_fen=1_200_000,
            risk={"economic_stress": True},
        ),
    ).json()
    r = api.post(
        f"/api/v1/disputes/{d['id']}/steps",
        json={"kind": "recovered", "recovered_fen": 1_200_001, "at": T0.isoformat()},
    )
    assert (r.status_code, r.json()["field"]) == (422, "recovered_fen")
    r = api.post(
        f"/api/v1/disputes/{d['id']}/steps",
        json={"kind": "recovered", "recovered_fen": 500_000, "at": T0.isoformat()},
    )
    assert r.json()["recovered_fen"] == 500_000


def test_a_missed_deadline_is_recorded_once_and_kept(api: TestClient) -> None:
    d = api.post("/api/v1/disputes", json=dispute_body()).json()
    late = T0 + timedelta(days=30, seconds=1)
    with db.transaction() as s:
        assert actions.do_sweep_breaches(s, actions.Actor.system("test"), now=T0 + timedelta(days=30)) == 0
    with db.transaction() as s:
        assert actions.do_sweep_breaches(s, actions.Actor.system("test"), now=late) == 1
    with db.transaction() as s:
        assert actions.do_sweep_breaches(s, actions.Actor.system("test"), now=late + timedelta(days=1)) == 0
    api.post(
        f"/api/v1/disputes/{d['id']}/agreement",
        json={"agreed_at": (late + timedelta(days=1)).isoformat(), "terms": "和解"},
    )
    # Agreed a day after the deadline: the mediation clock stays breached whatever the time now.
    got = api.get(f"/api/v1/disputes/{d['id']}").json()
    assert [e["kind"] for e in got["events"]].count("clock_breached") == 1
    assert next(c for c in got["clocks"] if c["kind"] == "mediation")["state"] == "breached"


def test_a_follow_up_before_any_agreement_is_a_conflict(api: TestClient) -> None:
    d = api.post("/api/v1/disputes", json=dispute_body()).json()
    r = api.post(f"/api/v1/disputes/{d['id']}/steps", json={"kind": "follow_up_visit"})
    assert (r.status_code, r.json()["field"]) == (409, "kind")


def test_another_stations_officer_does_not_see_the_dispute(api: TestClient, client: TestClient) -> None:
    from pingan.core.roles import Role
    from tests.conftest import bearer, make_user

    d = api.post("/api/v1/disputes", json=dispute_body()).json()
    other = make_user("officer_zhou", Role.OFFICER, station_code="WH-JTQ")
    r = client.get(f"/api/v1/disputes/{d['id']}", headers=bearer(other))
    assert r.status_code == 404
