"""The unit state machine: every legal move of the table works and logs, every illegal one is 409
naming the unit's state and the move tried, and dispatch moves the incident's clock chain."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.command import rules
from pingan.command.choices import UnitMove, UnitState
from pingan.command.model import UnitStatusLog
from pingan.core import db
from pingan.core.auth import User
from pingan.core.errors import Conflict
from tests.command.conftest import YULIN, add_unit, move, take_call
from tests.conftest import bearer

# The legal moves that bring an available unit to each state.
PATH: dict[UnitState, list[str]] = {
    UnitState.AVAILABLE: [],
    UnitState.ASSIGNED: ["assign"],
    UnitState.DISPATCHED: ["assign", "acknowledge"],
    UnitState.EN_ROUTE: ["assign", "acknowledge", "depart"],
    UnitState.ON_SCENE: ["assign", "acknowledge", "depart", "arrive"],
    UnitState.OFF_DUTY: ["go_off_duty"],
}
ILLEGAL = [(s, m) for s in UnitState for m in UnitMove if m not in rules.UNIT_TRANSITIONS[s]]


def _unit_in(state: UnitState) -> tuple[int, int]:
    incident = take_call(text="有人打架", category_code="020201", lat=YULIN[0], lon=YULIN[1])
    unit = add_unit("玉林1")
    for m in PATH[state]:
        move(unit, m, incident_id=incident if m == "assign" else None)
    return unit, incident


@pytest.mark.parametrize(("state", "attempt"), ILLEGAL, ids=[f"{s.value}-{m.value}" for s, m in ILLEGAL])
def test_an_illegal_move_is_a_conflict_naming_the_state_and_the_move(
    district: None, state: UnitState, attempt: UnitMove
) -> None:
    unit, incident = _unit_in(state)
    with pytest.raises(Conflict) as refused:
        move(unit, attempt.value, incident_id=incident if attempt is UnitMove.ASSIGN else None, note="x")
    assert refused.value.status == 409
    assert f"is {state.value} cannot {attempt.value}" in refused.value.message
    with db.transaction() as s:  # nothing half-written: the log holds the legal moves only
        assert len(s.execute(select(UnitStatusLog).where(UnitStatusLog.unit_id == unit)).all()) == 1 + len(
            PATH[state]
        )


def test_the_api_answers_an_illegal_move_with_409_naming_the_state(api: TestClient) -> None:
    unit, _ = _unit_in(UnitState.AVAILABLE)
    r = api.post(f"/api/v1/units/{unit}/moves", json={"move": "arrive"})
    assert r.status_code == 409
    assert "is available cannot arrive" in r.json()["message"]


def test_a_dispatch_runs_the_whole_chain_and_clearing_closes_the_incident(
    api: TestClient, officer_yulin: User
) -> None:
    incident = take_call(text="有人打架", category_code="020201", lat=YULIN[0], lon=YULIN[1])
    unit = add_unit("玉林1")
    assert api.post(f"/api/v1/incidents/{incident}/sign-off").status_code == 200
    assert (
        api.post(f"/api/v1/units/{unit}/moves", json={"move": "assign", "incident_id": incident}).json()[
            "state"
        ]
        == "assigned"
    )
    officer = bearer(officer_yulin)
    for m, state in (("acknowledge", "dispatched"), ("depart", "en_route"), ("arrive", "on_scene")):
        r = api.post(f"/api/v1/units/{unit}/moves", json={"move": m}, headers=officer)
        assert (r.status_code, r.json()["state"]) == (200, state)
    no_feedback = api.post(f"/api/v1/units/{unit}/moves", json={"move": "clear"}, headers=officer)
    assert (no_feedback.status_code, no_feedback.json()["field"]) == (422, "note")
    done = api.post(
        f"/api/v1/units/{unit}/moves", json={"move": "clear", "note": "双方已调解"}, headers=officer
    )
    assert (done.json()["state"], done.json()["incident_id"]) == ("available", None)
    body = api.get(f"/api/v1/incidents/{incident}").json()
    assert body["status"] == "closed"
    assert all(
        body["clock_chain"]["steps"][k] is not None
        for k in ("signed_off", "dispatched", "acknowledged", "en_route", "on_scene", "feedback")
    )


def test_only_a_dispatcher_assigns(api: TestClient, officer_yulin: User) -> None:
    incident = take_call(text="有人打架", lat=YULIN[0], lon=YULIN[1])
    unit = add_unit("玉林1")
    r = api.post(
        f"/api/v1/units/{unit}/moves",
        json={"move": "assign", "incident_id": incident},
        headers=bearer(officer_yulin),
    )
    assert r.status_code == 403


def test_a_unit_is_not_sent_to_a_closed_call(api: TestClient) -> None:
    hoax = take_call(text="骗你的", disposition="hoax", disposition_reason="prank")
    unit = add_unit("玉林1")
    r = api.post(f"/api/v1/units/{unit}/moves", json={"move": "assign", "incident_id": hoax})
    assert (r.status_code, r.json()["field"]) == (409, "incident_id")
