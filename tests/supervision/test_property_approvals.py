"""Approvals to return or dispose of seized property: valid for `property_approval_valid_days` (a
local policy setting) from the decision, through its last second and not one second more; used once by
the custodian; withdrawn by their requester, with the reason, while pending or approved and unused. A
lapsed or withdrawn request reads as such in the API, on the approvals page and on the case page."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core import audit, clock, db
from pingan.core.auth import User
from pingan.core.errors import Conflict
from pingan.core.roles import Role
from pingan.core.settings import get_settings
from pingan.supervision import approvals, ledger
from pingan.supervision.choices import (
    PropertyState,
    RequestKind,
    RequestStanding,
    RequestState,
)
from pingan.supervision.model import ApprovalRequest, PropertyItem, SupervisionCase
from pingan.supervision.schemas import PropertyStepIn
from tests.conftest import bearer, make_user
from tests.supervision.conftest import NOW, decide
from tests.supervision.test_ledger import ask, close, in_store
from tests.supervision.test_pages import HTML, browser, csrf

SECOND = timedelta(seconds=1)
VALID = timedelta(days=7)  # the default of `property_approval_valid_days`
EXPIRES = NOW + VALID


@pytest.fixture
def keeper_zhao(database: str) -> User:
    """The Yulin station's property custodian (保管员)."""
    return make_user("keeper_zhao", Role.OFFICER, station_code="WH-YL")


def _alert(page: str) -> str:
    found = re.search(r'role="alert">(.*?)</p>', page, re.S)
    assert found is not None, "no refusal shown"
    return html.unescape(found.group(1))


def _approved_release(
    client: TestClient, case: dict[str, Any], officer: User, keeper: User, supervisor: User
) -> tuple[int, int]:
    """An item in the store and its release approved by supervisor Liu at NOW: (item id, request id)."""
    item_id = in_store(client, case, officer, keeper)
    filed = ask(client, item_id, officer, "release")
    assert filed.status_code == 201, filed.text
    decided = decide(client, filed.json()["id"], supervisor)
    assert decided.status_code == 200, decided.text
    return item_id, int(filed.json()["id"])


def _item_state(client: TestClient, case: dict[str, Any], user: User) -> str:
    items = client.get(f"/api/v1/supervision/cases/{case['id']}/property", headers=bearer(user)).json()
    return str(items[0]["state"])


def _withdraw(client: TestClient, request_id: int, user: User, reason: str = "失主已撤回申领") -> Any:
    return client.post(
        f"/api/v1/supervision/requests/{request_id}/withdrawal", json={"reason": reason}, headers=bearer(user)
    )


def _mine(client: TestClient, user: User) -> dict[int, dict[str, Any]]:
    r = client.get("/api/v1/supervision/requests/mine", headers=bearer(user))
    assert r.status_code == 200, r.text
    return {int(x["id"]): x for x in r.json()}


def _audited(action: str) -> list[audit.AuditEntry]:
    with db.transaction() as s:
        rows = list(s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == action)).all())
        s.expunge_all()
        return rows


# ------------------------------------------------------------------------------- the pure reading


def test_an_approval_reads_approved_through_its_expiry_second_and_lapsed_one_second_after() -> None:
    req = ApprovalRequest(kind=RequestKind.RELEASE, state=RequestState.APPROVED, expires_at=EXPIRES)
    assert approvals.standing(req, EXPIRES - SECOND) is RequestStanding.APPROVED
    assert approvals.standing(req, EXPIRES) is RequestStanding.APPROVED
    assert approvals.standing(req, EXPIRES + SECOND) is RequestStanding.LAPSED


def test_pending_used_and_withdrawn_requests_read_as_their_state_whatever_the_time() -> None:
    later = EXPIRES + timedelta(days=365)
    for state in (RequestState.PENDING, RequestState.USED, RequestState.WITHDRAWN, RequestState.REFUSED):
        req = ApprovalRequest(kind=RequestKind.DISPOSAL, state=state, expires_at=EXPIRES)
        assert approvals.standing(req, later).value == state.value


# ----------------------------------------------------------- the custodian's step at the boundary


def _close_check(session: Session, item_id: int, keeper: User, now: datetime) -> ApprovalRequest:
    item = session.get_one(PropertyItem, item_id)
    case = session.get_one(SupervisionCase, item.case_id)
    data = PropertyStepIn(at=NOW, note="发还失主")
    return ledger.check_close(
        session, case, item, data, PropertyState.RELEASED, actor=keeper.actor(), now=now
    )


def test_the_approval_expires_the_stated_days_after_the_decision_and_says_so(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
) -> None:
    _item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    out = _mine(client, officer_li)[req_id]
    assert out["standing"] == "approved"
    assert datetime.fromisoformat(out["expires_at"]) == EXPIRES
    [entry] = [e for e in _audited("supervision.request_approved") if e.object_id == str(req_id)]
    assert json.loads(entry.detail)["expires_at"] == EXPIRES.isoformat()


@pytest.mark.parametrize("offset", [-SECOND, timedelta(0)], ids=["one_second_before", "at_expiry"])
def test_the_custodian_may_act_on_the_approval_up_to_its_expiry_second(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
    session: Session,
    offset: timedelta,
) -> None:
    item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    assert _close_check(session, item_id, keeper_zhao, EXPIRES + offset).id == req_id


def test_one_second_after_expiry_the_custodian_gets_409_saying_the_approval_lapsed(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
    session: Session,
) -> None:
    item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    with pytest.raises(Conflict) as refused:
        _close_check(session, item_id, keeper_zhao, EXPIRES + SECOND)
    assert refused.value.field == "id"
    assert f"request #{req_id}" in str(refused.value) and "lapsed at 2026-03-27 10:00:00" in str(
        refused.value
    )


def test_over_http_the_release_at_the_expiry_second_is_done_and_one_second_later_is_409(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
) -> None:
    item_id, _req = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    with clock.frozen(EXPIRES + SECOND):
        late = close(client, item_id, keeper_zhao, "release")
    assert late.status_code == 409 and "lapsed" in late.json()["message"]
    assert _item_state(client, theft_case, officer_li) == "in_store"
    with clock.frozen(EXPIRES):
        done = close(client, item_id, keeper_zhao, "release")
    assert done.status_code == 200, done.text
    assert _item_state(client, theft_case, officer_li) == "released"


def test_the_validity_follows_the_setting_in_force_when_approved(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = get_settings().model_copy(update={"property_approval_valid_days": 3})
    monkeypatch.setattr(approvals, "get_settings", lambda: settings)
    item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    assert datetime.fromisoformat(_mine(client, officer_li)[req_id]["expires_at"]) == NOW + timedelta(days=3)
    with clock.frozen(NOW + timedelta(days=3) + SECOND):
        assert close(client, item_id, keeper_zhao, "release").status_code == 409


# ------------------------------------------------------------------------------------- used once


def test_a_used_approval_reads_used_and_cannot_be_used_again(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
    session: Session,
) -> None:
    item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    assert close(client, item_id, keeper_zhao, "release").status_code == 200
    assert close(client, item_id, keeper_zhao, "release").status_code == 409
    out = _mine(client, officer_li)[req_id]
    assert (out["state"], out["standing"]) == ("used", "used")
    assert datetime.fromisoformat(out["used_at"]) == NOW
    # The approval itself is spent, whatever the item's state says.
    item = session.get_one(PropertyItem, item_id)
    with pytest.raises(Conflict) as refused:
        approvals.approved_for(session, item, PropertyState.RELEASED, now=NOW)
    assert f"request #{req_id}" in str(refused.value) and "used once" in str(refused.value)
    assert _withdraw(client, req_id, officer_li).status_code == 409


# ---------------------------------------------------------------------------------- after a lapse


def test_after_a_lapse_a_new_request_may_be_filed_and_the_old_one_reads_lapsed(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
) -> None:
    item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    assert ask(client, item_id, officer_li, "release").status_code == 409  # still approved: one at a time
    with clock.frozen(EXPIRES + SECOND):
        assert _mine(client, officer_li)[req_id]["standing"] == "lapsed"
        assert _withdraw(client, req_id, officer_li).status_code == 409  # nothing left to withdraw
        again = ask(client, item_id, officer_li, "release")
        assert again.status_code == 201, again.text
        assert decide(client, again.json()["id"], supervisor_liu).status_code == 200
        assert close(client, item_id, keeper_zhao, "release").status_code == 200


def test_a_lapsed_approval_shows_on_the_case_page_the_approvers_page_and_the_requesters_page(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
) -> None:
    item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    kb = browser(client, keeper_zhao)
    before = kb.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert f'action="/supervision/property/{item_id}/release"' in before
    with clock.frozen(EXPIRES + SECOND):
        kb = browser(client, keeper_zhao)  # a fresh login: a week-old one has expired
        after = kb.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
        assert f'action="/supervision/property/{item_id}/release"' not in after
        assert f"(request #{req_id}) lapsed at" in html.unescape(after)
        assert f'action="/supervision/property/{item_id}/requests"' in after  # ask again
        assert 'class="standing-lapsed"' in after
        asked = browser(client, supervisor_liu).get("/supervision/approvals", headers=HTML).text
        assert 'id="asked-requests"' in asked and 'class="standing-lapsed"' in asked
        mine = browser(client, officer_li).get("/supervision/approvals", headers=HTML).text
        assert 'class="standing-lapsed"' in mine


# ------------------------------------------------------------------------------------ withdrawing


def test_the_requester_withdraws_a_pending_request_with_the_reason_and_it_leaves_the_queue(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
) -> None:
    item_id = in_store(client, theft_case, officer_li, keeper_zhao)
    req_id = ask(client, item_id, officer_li, "disposal").json()["id"]
    queue = client.get("/api/v1/supervision/requests", headers=bearer(supervisor_liu)).json()
    assert [r["id"] for r in queue] == [req_id]
    r = _withdraw(client, req_id, officer_li)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["withdrawal_reason"]) == ("withdrawn", "失主已撤回申领")
    assert client.get("/api/v1/supervision/requests", headers=bearer(supervisor_liu)).json() == []
    assert decide(client, req_id, supervisor_liu).status_code == 409
    [entry] = [e for e in _audited("supervision.request_withdrawn") if e.object_id == str(req_id)]
    detail = json.loads(entry.detail)
    assert (entry.actor, detail["reason"], detail["was"]) == ("officer_li", "失主已撤回申领", "pending")
    assert ask(client, item_id, officer_li, "release").status_code == 201  # the item is free to ask again


def test_a_withdrawn_approval_can_no_longer_be_carried_out(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
) -> None:
    item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    assert _withdraw(client, req_id, officer_li).status_code == 200
    r = close(client, item_id, keeper_zhao, "release")
    assert r.status_code == 409 and "no approved request to release this item" in r.json()["message"]
    assert _item_state(client, theft_case, officer_li) == "in_store"
    assert _mine(client, officer_li)[req_id]["standing"] == "withdrawn"


def test_only_the_requester_withdraws_and_only_with_a_reason(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
) -> None:
    _item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    for other in (keeper_zhao, supervisor_liu):
        r = _withdraw(client, req_id, other)
        assert r.status_code == 403 and r.json()["field"] == "id"
    r = client.post(
        f"/api/v1/supervision/requests/{req_id}/withdrawal", json={"reason": " "}, headers=bearer(officer_li)
    )
    assert r.status_code == 422
    assert _mine(client, officer_li)[req_id]["standing"] == "approved"  # nothing written


def test_withdrawing_on_the_case_page_and_on_the_approvals_page_goes_through_the_same_check(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
) -> None:
    item_id, req_id = _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    b = browser(client, officer_li)
    page = b.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert f'action="/supervision/requests/{req_id}/withdrawal"' in page
    empty = b.post(
        f"/supervision/requests/{req_id}/withdrawal",
        data={"csrf_token": csrf(page), "reason": "", "back": "case"},
        headers=HTML,
        follow_redirects=False,
    )
    assert empty.status_code == 422 and "'reason'" in _alert(empty.text)
    done = b.post(
        f"/supervision/requests/{req_id}/withdrawal",
        data={"csrf_token": csrf(page), "reason": "失主已撤回申领", "back": "case"},
        headers=HTML,
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("#property")
    after = b.get(f"/supervision/cases/{theft_case['id']}", headers=HTML).text
    assert 'class="standing-withdrawn"' in after and "失主已撤回申领" in after
    # Ask again, then withdraw from the approvals page.
    second = ask(client, item_id, officer_li, "disposal").json()["id"]
    mine = b.get("/supervision/approvals", headers=HTML).text
    assert f'action="/supervision/requests/{second}/withdrawal"' in mine
    assert f'action="/supervision/requests/{req_id}/withdrawal"' not in mine  # withdrawn already
    r = b.post(
        f"/supervision/requests/{second}/withdrawal",
        data={"csrf_token": csrf(mine), "reason": "改为发还"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _mine(client, officer_li)[second]["standing"] == "withdrawn"
    asked = browser(client, supervisor_liu).get("/supervision/approvals", headers=HTML).text
    assert asked.count('class="standing-withdrawn"') == 2


def test_the_approval_pages_read_in_chinese(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,
    supervisor_liu: User,
) -> None:
    _approved_release(client, theft_case, officer_li, keeper_zhao, supervisor_liu)
    zh = {**HTML, "Accept-Language": "zh-CN"}
    with clock.frozen(EXPIRES + SECOND):
        page = browser(client, officer_li).get("/supervision/approvals", headers=zh).text
    assert "审批已失效" in page and "撤回" in page
