"""The call-back pages: the list with the month's figures and the draw form, a task with the caller's
phone to dial (shown to the call-back desk, audited, masked for an auditor), and the outcome form."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from tests.conftest import bearer
from tests.supervision.callbacks.conftest import CALLER_PHONE, WEEK

HTML = {"Accept": "text/html"}


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def first_task(client: TestClient, user: User, incident: int) -> int:
    tasks = client.get("/api/v1/supervision/callbacks", headers=bearer(user)).json()
    return next(t["id"] for t in tasks if t["incident_id"] == incident)


def test_a_supervisor_draws_the_week_from_the_list_page(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    client.headers.update(bearer(staff["liu"]))
    page = client.get("/callbacks", headers=HTML)
    assert page.status_code == 200 and 'action="/callbacks/draws"' in page.text
    r = client.post(
        "/callbacks/draws",
        data={"csrf_token": csrf(page.text), "week_start": WEEK, "rate": "1", "seed": "110"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    listing = client.get("/callbacks?month=2026-03", headers=HTML).text
    assert all(f"#{i}" in listing for i in week_incidents)
    assert re.search(r"<td>2026-03-09</td><td>100%</td><td>110</td><td>3</td><td>3</td>", listing)


def test_the_call_back_desk_sees_no_draw_form(client: TestClient, staff: dict[str, User]) -> None:
    page = client.get("/callbacks", headers={**HTML, **bearer(staff["chen"])})
    assert page.status_code == 200 and 'action="/callbacks/draws"' not in page.text


def test_the_task_page_shows_the_desk_the_phone_to_dial_and_audits_the_read(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    client.post(
        "/api/v1/supervision/callbacks/draws",
        json={"week_start": WEEK, "rate": 1.0},
        headers=bearer(staff["liu"]),
    )
    task = first_task(client, staff["chen"], week_incidents[0])
    page = client.get(f"/callbacks/{task}", headers={**HTML, **bearer(staff["chen"])}).text
    assert f'href="tel:{CALLER_PHONE}"' in page
    audited = client.get(f"/callbacks/{task}", headers={**HTML, **bearer(staff["auditor"])}).text
    assert CALLER_PHONE not in audited and "tel:" not in audited
    with db.read_transaction() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "supervision.callback_read")).all()
    assert [(e.actor, json.loads(e.detail)["phone_revealed"]) for e in reads] == [
        ("dispatcher_chen", True),
        ("auditor_wu", False),
    ]


def test_the_outcome_form_records_the_call_back(
    client: TestClient, staff: dict[str, User], week_incidents: list[int]
) -> None:
    client.post(
        "/api/v1/supervision/callbacks/draws",
        json={"week_start": WEEK, "rate": 1.0},
        headers=bearer(staff["liu"]),
    )
    task = first_task(client, staff["chen"], week_incidents[0])
    client.headers.update(bearer(staff["chen"]))
    page = client.get(f"/callbacks/{task}", headers=HTML).text
    r = client.post(
        f"/callbacks/{task}/outcome",
        data={
            "csrf_token": csrf(page),
            "outcome": "not_reached",
            "at": "2026-03-18T10:00",
            "note": "无人接听",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    shown = client.get(f"/callbacks/{task}", headers=HTML).text
    assert "not reached" in shown and "无人接听" in shown and 'action="/callbacks/' not in shown
