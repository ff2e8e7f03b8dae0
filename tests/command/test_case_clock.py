"""The 24-hour case clock (24小时破案) of property crime and its loot-recovery record (追赃挽损):
the clock runs from the call and stops when the case is solved; loot is recorded and recovered, never
more than was lost."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from pingan.command import rules
from pingan.command.choices import IncidentEventKind
from pingan.core import clock
from pingan.core.auth import User, issue_token
from tests.command.conftest import T0, YULIN, take_call
from tests.conftest import bearer

HTML = {"Accept": "text/html,application/xhtml+xml"}
CALL = IncidentEventKind.CALL_RECEIVED
SOLVED = IncidentEventKind.CASE_SOLVED


def test_a_theft_a_robbery_and_face_to_face_fraud_start_the_clock_and_telecom_fraud_does_not() -> None:
    assert rules.is_property_crime("010103")  # e-bike theft
    assert rules.is_property_crime("0102")  # robbery and snatching
    assert rules.is_property_crime("010302")  # face-to-face fraud
    assert not rules.is_property_crime("010301")  # telecom fraud: the anti-fraud loop's
    assert not rules.is_property_crime("0104") and not rules.is_property_crime(None)


def test_the_clock_is_met_at_exactly_24_hours_and_breached_one_second_later() -> None:
    at_24h = rules.case_clock("0101", [(CALL, T0), (SOLVED, T0 + timedelta(hours=24))], now=T0)
    late = rules.case_clock("0101", [(CALL, T0), (SOLVED, T0 + timedelta(hours=24, seconds=1))], now=T0)
    assert at_24h is not None and not at_24h.breached and at_24h.reason == "solved_in:24.0h"
    assert late is not None and late.breached and late.reason == "solved_in:24.0h>24h"
    assert at_24h.due_at == T0 + timedelta(hours=24)


def test_an_unsolved_case_runs_against_now_and_is_breached_once_past_due() -> None:
    running = rules.case_clock("0101", [(CALL, T0)], now=T0 + timedelta(hours=23))
    over = rules.case_clock("0101", [(CALL, T0)], now=T0 + timedelta(hours=25))
    assert running is not None and running.running and not running.breached
    assert over is not None and over.running and over.breached and over.reason == "running:25.0h>24h"


def test_the_officer_records_loot_recovers_part_and_solves_the_case_through_the_api(
    client: TestClient, officer_yulin: User
) -> None:
    with clock.frozen(T0):
        incident = take_call(text="电动车被偷了", category_code="010103", lat=YULIN[0], lon=YULIN[1])
    client.headers.update(bearer(officer_yulin))

    taken = client.post(
        f"/api/v1/incidents/{incident}/loot", json={"item": "电动车", "value_lost_fen": 320000}
    )
    assert taken.status_code == 201, taken.text
    loot_id = taken.json()["loot"][0]["id"]
    part = client.post(
        f"/api/v1/incidents/{incident}/loot/{loot_id}/recoveries", json={"value_recovered_fen": 300000}
    )
    assert part.status_code == 200 and part.json()["value_recovered_fen"] == 300000
    too_much = client.post(
        f"/api/v1/incidents/{incident}/loot/{loot_id}/recoveries", json={"value_recovered_fen": 20001}
    )
    assert too_much.status_code == 422 and "value_recovered_fen" in too_much.text
    solved = client.post(f"/api/v1/incidents/{incident}/case-solved", json={"note": "监控追踪，嫌疑人落网"})
    assert solved.status_code == 200
    body = solved.json()
    assert (
        body["solved_at"] is not None and body["running"] is False and body["breached"] is True
    )  # days late
    again = client.post(f"/api/v1/incidents/{incident}/case-solved", json={"note": "again"})
    assert again.status_code == 409


def test_an_assault_has_no_case_clock_and_says_why(client: TestClient, officer_yulin: User) -> None:
    incident = take_call(text="有人打架", category_code="0104", lat=YULIN[0], lon=YULIN[1])
    client.headers.update(bearer(officer_yulin))
    answer = client.get(f"/api/v1/incidents/{incident}/case-clock")
    assert answer.status_code == 409 and "category_code" in answer.text
    refused = client.post(f"/api/v1/incidents/{incident}/loot", json={"item": "x", "value_lost_fen": 1})
    assert refused.status_code == 409


def test_a_dispatcher_reads_the_clock_but_may_not_mark_the_case_solved(
    client: TestClient, dispatcher: User
) -> None:
    incident = take_call(text="包被抢了", category_code="0102", lat=YULIN[0], lon=YULIN[1])
    client.headers.update(bearer(dispatcher))
    assert client.get(f"/api/v1/incidents/{incident}/case-clock").status_code == 200
    assert client.post(f"/api/v1/incidents/{incident}/case-solved", json={"note": "x"}).status_code == 403


def test_the_incident_page_shows_the_clock_and_its_forms_refuse_an_amount_naming_the_field(
    client: TestClient, officer_yulin: User
) -> None:
    incident = take_call(text="家里被盗", category_code="010101", lat=YULIN[0], lon=YULIN[1])
    client.cookies.set("pingan_token", issue_token(officer_yulin))
    page = client.get(f"/command/incidents/{incident}", headers=HTML).text
    assert 'id="case-clock"' in page and 'id="loot-form"' in page and 'id="case-solved-form"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    bad = client.post(
        f"/command/incidents/{incident}/loot",
        data={"csrf_token": token.group(1), "item": "金项链", "value_lost_yuan": "12.345"},
        headers=HTML,
    )
    assert bad.status_code == 422 and "value_lost_yuan" in bad.text
    good = client.post(
        f"/command/incidents/{incident}/loot",
        data={"csrf_token": token.group(1), "item": "金项链", "value_lost_yuan": "8,800.50"},
        headers=HTML,
        follow_redirects=True,
    )
    assert good.status_code == 200 and "金项链" in good.text and "8,800.50" in good.text
