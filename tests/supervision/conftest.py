"""Fixtures of the supervision tests: the Yulin station, its case officer Li, his supervisor Liu, the
legal-supervision office's Sun, and a criminal case opened on 2026-03-10 09:00 Beijing time. A step
that needs approval is taken as the bureau takes it: requested by one user, approved by another in the
queue (`approved_step`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import db
from pingan.core.auth import User
from pingan.core.org import Station
from pingan.core.roles import Role
from tests.conftest import bearer, make_user

OPENED = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 Beijing
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def legal_sun(database: str) -> User:
    return make_user("legal_sun", Role.LEGAL_SUPERVISOR)


@pytest.fixture
def officer_zhou_elsewhere(database: str) -> User:
    """An officer of another station, who may not see Yulin's cases."""
    return make_user("officer_zhou", Role.OFFICER, station_code="WH-XX")


def case_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": "A5101072026030001",
        "kind": "criminal",
        "title": "盗窃电动车案",
        "station_code": "WH-YL",
        "officer": "officer_li",
        "supervisor": "supervisor_liu",
        "opened_at": OPENED.isoformat(),
    }
    body.update(changes)
    return body


@pytest.fixture
def theft_case(
    client: TestClient, station_yulin: Station, officer_li: User, supervisor_liu: User, legal_sun: User
) -> dict[str, Any]:
    """A criminal case with one suspect, Wang Wu, opened by officer Li."""
    r = client.post("/api/v1/supervision/cases", json=case_body(), headers=bearer(officer_li))
    assert r.status_code == 201, r.text
    case = r.json()
    p = client.post(
        f"/api/v1/supervision/cases/{case['id']}/parties",
        json={"role": "suspect", "name": "王五", "national_id": "11010519491231002X"},
        headers=bearer(officer_li),
    )
    assert p.status_code == 201, p.text
    case["suspect_id"] = p.json()["id"]
    return case


@pytest.fixture(autouse=True)
def frozen_now() -> Any:
    """The platform's clock stands at 2026-03-20 10:00 Beijing time, ten days after the case opened."""
    from pingan.core import clock

    with clock.frozen(NOW):
        yield NOW


def user_named(username: str) -> User:
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        s.expunge(user)
        return user


def request_step(client: TestClient, case: dict[str, Any], user: User, **body: Any) -> httpx.Response:
    """File a step that needs approval (its `approver` in the body)."""
    return client.post(f"/api/v1/supervision/cases/{case['id']}/requests", json=body, headers=bearer(user))


def decide(
    client: TestClient, request_id: int, user: User, *, approve: bool = True, reason: str = ""
) -> httpx.Response:
    return client.post(
        f"/api/v1/supervision/requests/{request_id}/decision",
        json={"approve": approve, "reason": reason},
        headers=bearer(user),
    )


def approved_step(
    client: TestClient, case: dict[str, Any], requester: User, approver: str, **body: Any
) -> httpx.Response:
    """Request the step as `requester`, approve it as `approver`: the case as it then stands (200), or
    the first refusal."""
    filed = request_step(client, case, requester, approver=approver, **body)
    if filed.status_code != 201:
        return filed
    decided = decide(client, filed.json()["id"], user_named(approver))
    if decided.status_code != 200:
        return decided
    return client.get(f"/api/v1/supervision/cases/{case['id']}", headers=bearer(requester))


def detain(
    client: TestClient, case: dict[str, Any], user: User, at: datetime, **extra: Any
) -> httpx.Response:
    """The case's suspect detained at `at`, requested by `user`, approved by supervisor Liu."""
    return approved_step(
        client,
        case,
        user,
        "supervisor_liu",
        kind="detention",
        at=at.isoformat(),
        party_id=case["suspect_id"],
        **extra,
    )
