"""Fixtures of the complaint tests: the Yulin station, officer Li (complained of), supervisor Liu who
handles complaints, supervisor Zhao who approves extensions, the legal-supervision office's Sun,
and a complainant, Ms Zhang. The platform's clock stands at 2026-03-20 10:00 Beijing time (the
supervision tests' `frozen_now`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingan.command import actions as command_actions
from pingan.command.schemas import IncidentIn
from pingan.core import db
from pingan.core.auth import User
from pingan.core.org import Station
from pingan.core.roles import Role
from pingan.core.settings import get_settings
from pingan.supervision.complaints import actions
from tests.conftest import SYSTEM, bearer, make_user

RECEIVED = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 Beijing
ZHANG_PHONE = "13800138000"
ZHANG_ID = "11010519491231002X"


@pytest.fixture(autouse=True)
def attachment_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Attachments go to a folder of the test's own."""
    settings = get_settings().model_copy(update={"data_dir": tmp_path})
    monkeypatch.setattr(actions, "get_settings", lambda: settings)
    return tmp_path / "complaint_attachments"


@pytest.fixture
def supervisor_zhao(database: str) -> User:
    return make_user("supervisor_zhao", Role.SUPERVISOR)


@pytest.fixture
def handlers(
    station_yulin: Station, officer_li: User, supervisor_liu: User, supervisor_zhao: User, legal_sun: User
) -> dict[str, User]:
    return {"li": officer_li, "liu": supervisor_liu, "zhao": supervisor_zhao, "sun": legal_sun}


def complaint_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "counter",
        "received_at": RECEIVED.isoformat(),
        "complainant_name": "张秀英",
        "complainant_phone": ZHANG_PHONE,
        "subject_kind": "officer",
        "subject_ref": "officer_li",
        "text": "我在玉林北路报警说电动车被邻居拿走，出警民警态度恶劣，对我大声呵斥。",
    }
    body.update(changes)
    return body


def register(client: TestClient, user: User, **changes: Any) -> dict[str, Any]:
    r = client.post("/api/v1/supervision/complaints", json=complaint_body(**changes), headers=bearer(user))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def step(client: TestClient, user: User, complaint_id: int, name: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/supervision/complaints/{complaint_id}/{name}", json=body, headers=bearer(user)
    )


def take_call(**fields: Any) -> int:
    """A 110 call recorded by the system's feed; returns the incident id."""
    with db.transaction() as s:
        item = command_actions.NewCall(call=IncidentIn(**fields), actor=SYSTEM)
        related = command_actions.check_take_call(s, item)
        incident = command_actions.do_take_call(s, item, related=related)
        s.flush()
        return incident.id


@pytest.fixture
def accepted(client: TestClient, handlers: dict[str, User]) -> dict[str, Any]:
    """Ms Zhang's complaint about officer Li, accepted on 2026-03-11 10:00 Beijing time."""
    c = register(client, handlers["liu"])
    r = step(client, handlers["liu"], c["id"], "accept", accept=True, at="2026-03-11T02:00:00Z")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out
