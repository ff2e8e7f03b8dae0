"""110 call-backs over the API: the week's draw, the outcome of each call, a dissatisfied call turned
into a complaint through the complaint intake, and the month's figures."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.supervision.callbacks import rules
from tests.conftest import bearer
from tests.supervision.callbacks.conftest import WEEK

API = "/api/v1/supervision/callbacks"


def draw(client: TestClient, user: User, **changes: Any) -> Any:
    return client.post(f"{API}/draws", json={"week_start": WEEK, **changes}, headers=bearer(user))


def tasks_by_incident(client: TestClient, user: User) -> dict[int, dict[str, Any]]:
    r = client.get(API, headers=bearer(user))
    assert r.status_code == 200, r.text
    return {t["incident_id"]: t for t in r.json()}


def record(client: TestClient, user: User, task_id: int, outcome: str, **body: Any) -> Any:
    return client.post(
        f"{API}/{task_id}/outcome",
        json={"outcome": outcome, "at": "2026-03-18T02:00:00Z", **body},
        headers=bearer(user),
    )


def test_a_week_is_sampled_at_the_stated_rate_from_the_incidents_a_call_back_can_reach(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    r = draw(client, staff["liu"], rate=0.5, seed=7)
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in ("rate", "seed", "eligible", "drawn")} == {
        "rate": 0.5,
        "seed": 7,
        "eligible": 3,
        "drawn": 2,
    }
    tasks = tasks_by_incident(client, staff["chen"])
    expected = rules.draw_sample(
        {"WH-YL": week_incidents}, week_start=date.fromisoformat(WEEK), rate=0.5, seed=7
    )
    assert sorted(tasks) == expected["WH-YL"] and set(tasks) <= set(week_incidents)
    assert {t["state"] for t in tasks.values()} == {"pending"}


def test_a_week_is_drawn_once(client: TestClient, staff: dict[str, User], week_incidents: list[int]) -> None:
    assert draw(client, staff["liu"]).status_code == 201
    again = draw(client, staff["sun"])
    assert (again.status_code, again.json()["field"]) == (409, "week_start")


def test_a_week_not_ended_or_not_named_by_its_monday_is_refused_naming_week_start(
    client: TestClient, staff: dict[str, User]
) -> None:
    for week in ("2026-03-16", "2026-03-10"):
        r = draw(client, staff["liu"], week_start=week)
        assert (r.status_code, r.json()["field"]) == (422, "week_start"), week


def test_the_call_back_desk_does_not_draw_the_sample(client: TestClient, staff: dict[str, User]) -> None:
    assert draw(client, staff["chen"]).status_code == 403


def test_an_officer_neither_reads_nor_makes_call_backs(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    assert draw(client, staff["liu"], rate=1.0).status_code == 201
    assert client.get(API, headers=bearer(staff["li"])).status_code == 403
    task = tasks_by_incident(client, staff["chen"])[week_incidents[0]]
    assert record(client, staff["li"], task["id"], "satisfied").status_code == 403


def test_a_call_back_is_recorded_once(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    draw(client, staff["liu"], rate=1.0)
    task = tasks_by_incident(client, staff["chen"])[week_incidents[0]]
    r = record(client, staff["chen"], task["id"], "satisfied", note="对处理结果满意")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["outcome"], r.json()["called_by"]) == (
        "done",
        "satisfied",
        "dispatcher_chen",
    )
    again = record(client, staff["chen"], task["id"], "dissatisfied")
    assert (again.status_code, again.json()["field"]) == (409, "outcome")


def test_a_call_back_dated_before_the_incident_closed_is_refused_naming_at(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    draw(client, staff["liu"], rate=1.0)
    task = tasks_by_incident(client, staff["chen"])[week_incidents[0]]  # closed 2026-03-10 04:00 UTC
    r = record(client, staff["chen"], task["id"], "satisfied", at="2026-03-10T03:00:00Z")
    assert (r.status_code, r.json()["field"]) == (422, "at")


def test_a_dissatisfied_call_back_becomes_a_complaint_about_the_incident(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    draw(client, staff["liu"], rate=1.0)
    task = tasks_by_incident(client, staff["chen"])[week_incidents[2]]  # the caller's name is on record
    note = "报警人反映出警民警态度冷淡，丢失的电动车至今没有下文。"
    assert record(client, staff["chen"], task["id"], "dissatisfied", note=note).status_code == 200
    r = client.post(f"{API}/{task['id']}/complaint", json={}, headers=bearer(staff["chen"]))
    assert r.status_code == 201, r.text
    complaint_id = r.json()["complaint_id"]
    c = client.get(f"/api/v1/supervision/complaints/{complaint_id}", headers=bearer(staff["sun"])).json()
    assert (c["channel"], c["subject_kind"], c["subject_ref"], c["station_code"]) == (
        "callback_110",
        "incident",
        str(week_incidents[2]),
        "WH-YL",
    )
    assert c["text"] == note and c["external_ref"] == f"110-callback:{task['id']}"
    assert (
        c["received_at"].startswith("2026-03-18T02:00:00") and c["complainant_phone_masked"] != "13700137000"
    )
    again = client.post(f"{API}/{task['id']}/complaint", json={}, headers=bearer(staff["chen"]))
    assert (again.status_code, again.json()["field"]) == (409, "complaint_id")


def test_a_satisfied_call_back_does_not_become_a_complaint(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    draw(client, staff["liu"], rate=1.0)
    task = tasks_by_incident(client, staff["chen"])[week_incidents[2]]
    record(client, staff["chen"], task["id"], "satisfied")
    r = client.post(f"{API}/{task['id']}/complaint", json={}, headers=bearer(staff["chen"]))
    assert (r.status_code, r.json()["field"]) == (409, "outcome")


def test_a_caller_without_a_name_on_record_is_asked_for_it_and_nothing_is_written(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    draw(client, staff["liu"], rate=1.0)
    task = tasks_by_incident(client, staff["chen"])[week_incidents[0]]
    record(client, staff["chen"], task["id"], "dissatisfied", note="等了一个多小时才出警，很不满意。")
    r = client.post(f"{API}/{task['id']}/complaint", json={}, headers=bearer(staff["chen"]))
    assert (r.status_code, r.json()["field"]) == (422, "complainant_name")
    assert client.get("/api/v1/supervision/complaints", headers=bearer(staff["sun"])).json() == []
    ok = client.post(
        f"{API}/{task['id']}/complaint", json={"complainant_name": "李强"}, headers=bearer(staff["chen"])
    )
    assert ok.status_code == 201, ok.text


def test_the_month_s_figures_count_calls_made_callers_reached_and_satisfied(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    draw(client, staff["liu"], rate=1.0)
    tasks = tasks_by_incident(client, staff["chen"])
    for incident, outcome in zip(week_incidents, ("satisfied", "not_reached", "dissatisfied"), strict=True):
        assert record(client, staff["chen"], tasks[incident]["id"], outcome).status_code == 200
    r = client.get(f"{API}/figures?month=2026-03", headers=bearer(staff["auditor"]))
    assert r.status_code == 200, r.text
    f = r.json()
    assert (f["weeks_drawn"], f["eligible"], f["drawn"]) == (1, 3, 3)
    assert (f["callback_rate"]["count"], f["callback_rate"]["n"]) == (3, 3)
    assert (f["reach_rate"]["count"], f["reach_rate"]["n"]) == (2, 3)
    # 1 of 2 reached: the 95% Wilson interval is 0.0945-0.9055, worked out by hand.
    assert f["satisfaction"] == {"count": 1, "n": 2, "low": 0.0945, "high": 0.9055}
    assert [(s["station_code"], s["drawn"], s["called"]) for s in f["by_station"]] == [("WH-YL", 3, 3)]


def test_a_draw_and_each_outcome_are_audited(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    draw(client, staff["liu"], rate=1.0, seed=3)
    task = tasks_by_incident(client, staff["chen"])[week_incidents[1]]
    record(client, staff["chen"], task["id"], "not_reached")
    with db.read_transaction() as s:
        actions = dict(
            s.execute(
                select(AuditEntry.action, func.count())
                .where(AuditEntry.action.like("supervision.callback_%"))
                .group_by(AuditEntry.action)
            ).all()
        )
    assert actions == {"supervision.callback_drawn": 1, "supervision.callback_recorded": 1}
