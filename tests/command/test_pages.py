"""The dispatcher's pages: the landing queue, the call-taker's form with its attach suggestion, an
incident's clock chain in Beijing time, the units and the bulletin."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from pingan.command.choices import UnitState
from pingan.command.model import Unit
from pingan.core import db
from pingan.core.auth import User, issue_token
from tests.command.conftest import T0, YULIN, YULIN_80M_EAST, add_unit, take_call

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_dispatcher_lands_on_the_command_queue_and_sees_the_open_incidents(
    client: TestClient, dispatcher: User
) -> None:
    urgent = take_call(text="有人持刀抢劫", category_code="010201", lat=YULIN[0], lon=YULIN[1])
    routine = take_call(text="楼上装修太吵", category_code="020302", lat=YULIN[0], lon=YULIN[1])
    browser = _browser(client, dispatcher)
    landing = browser.get("/", headers=HTML, follow_redirects=False)
    assert (landing.status_code, landing.headers["location"]) == (303, "/command")
    page = browser.get("/command", headers=HTML).text
    assert page.index(f"/command/incidents/{urgent}") < page.index(f"/command/incidents/{routine}")
    assert 'class="countdown"' in page and 'href="/command/calls/new"' in page


def test_a_call_near_an_open_incident_of_its_type_is_suggested_and_attached_on_confirmation(
    client: TestClient, dispatcher: User
) -> None:
    first = take_call(text="两伙人打架", category_code="020201", lat=YULIN[0], lon=YULIN[1])
    browser = _browser(client, dispatcher)
    token = _csrf(browser.get("/command/calls/new", headers=HTML).text)
    form = {
        "csrf_token": token,
        "text": "路口有人打架",
        "category_code": "020202",
        "lat": str(YULIN_80M_EAST[0]),
        "lon": str(YULIN_80M_EAST[1]),
        "caller_phone": "13900001111",
    }
    suggested = browser.post("/command/calls", data=form, headers=HTML)
    assert suggested.status_code == 200
    assert 'id="attach-suggestion"' in suggested.text and f"#{first}" in suggested.text
    confirmed = browser.post(
        "/command/calls",
        data={**form, "disposition": "attached", "related_incident_id": str(first)},
        headers=HTML,
        follow_redirects=False,
    )
    assert (confirmed.status_code, confirmed.headers["location"]) == (303, f"/command/incidents/{first}")
    page = browser.get(f"/command/incidents/{first}", headers=HTML).text
    assert "139****1111" in page and "13900001111" not in page


def test_the_call_form_refuses_a_call_with_neither_text_nor_category(
    client: TestClient, dispatcher: User
) -> None:
    browser = _browser(client, dispatcher)
    token = _csrf(browser.get("/command/calls/new", headers=HTML).text)
    r = browser.post("/command/calls", data={"csrf_token": token, "address": "玉林北路"}, headers=HTML)
    assert r.status_code == 422 and "text" in r.text


def test_the_incident_page_shows_the_chain_in_beijing_time_with_its_breach(
    client: TestClient, dispatcher: User
) -> None:
    incident = take_call(text="有人打架", category_code="020201", lat=YULIN[0], lon=YULIN[1], received_at=T0)
    page = _browser(client, dispatcher).get(f"/command/incidents/{incident}", headers=HTML).text
    assert "2026-11-30 09:00:00" in page  # 01:00 UTC
    # In words (this client reads English; 签收超时…（时限30秒），仍在计时 in Chinese), with its rule's
    # code kept beside them.
    assert 'id="breaches"' in page and 'data-reason="sign_off:running' in page
    assert re.search(
        r'data-reason="[^"]+">sign-off \d+ d \d+ h over its target of 30 s, still running<', page
    )


def test_the_dispatcher_sends_a_unit_from_the_incident_page(client: TestClient, dispatcher: User) -> None:
    incident = take_call(text="有人打架", category_code="020201", lat=YULIN[0], lon=YULIN[1])
    unit = add_unit("玉林1")
    browser = _browser(client, dispatcher)
    page = browser.get(f"/command/incidents/{incident}", headers=HTML).text
    assert "玉林1" in page
    r = browser.post(
        f"/command/units/{unit}/moves",
        data={"csrf_token": _csrf(page), "move": "assign", "incident_id": str(incident)},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    with db.transaction() as s:
        sent = s.get(Unit, unit)
        assert sent is not None and (sent.state, sent.incident_id) == (UnitState.ASSIGNED, incident)


def test_an_illegal_move_from_a_page_is_refused_with_the_state_named(
    client: TestClient, dispatcher: User
) -> None:
    unit = add_unit("玉林1")
    browser = _browser(client, dispatcher)
    page = browser.get("/command/units", headers=HTML).text
    r = browser.post(
        f"/command/units/{unit}/moves", data={"csrf_token": _csrf(page), "move": "arrive"}, headers=HTML
    )
    assert r.status_code == 409 and "is available cannot arrive" in r.text


def test_an_officer_of_another_station_gets_no_incident_page(
    client: TestClient, dispatcher: User, officer_jtq: User
) -> None:
    incident = take_call(text="家里被盗", lat=YULIN[0], lon=YULIN[1])
    assert (
        _browser(client, officer_jtq).get(f"/command/incidents/{incident}", headers=HTML).status_code == 404
    )


def test_the_bulletin_page_shows_the_station_s_week(client: TestClient, dispatcher: User) -> None:
    take_call(text="有人打架", lat=YULIN[0], lon=YULIN[1], received_at=T0)
    page = _browser(client, dispatcher).get("/command/bulletin?station=WH-YL&week=2026-11-30", headers=HTML)
    assert page.status_code == 200
    assert '<strong id="incidents">1</strong>' in page.text


def test_the_station_officer_acknowledges_from_the_incident_page_and_is_not_offered_release(
    client: TestClient, dispatcher: User, officer_yulin: User
) -> None:
    from tests.command.conftest import move

    incident = take_call(text="有人打架", category_code="020201", lat=YULIN[0], lon=YULIN[1])
    unit = add_unit("玉林1")
    move(unit, "assign", incident_id=incident)
    browser = _browser(client, officer_yulin)
    page = browser.get(f"/command/incidents/{incident}", headers=HTML).text
    assert 'value="acknowledge"' in page and 'value="release"' not in page
    r = browser.post(
        f"/command/units/{unit}/moves",
        data={"csrf_token": _csrf(page), "move": "acknowledge"},
        headers=HTML,
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/command/incidents/{incident}")
