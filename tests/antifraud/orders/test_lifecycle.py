"""After the first 48 hours: conversion of a stop into a freeze, freeze terms and renewals, trace
findings that issue their freezes, appeals decided by someone other than their filer, and releases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders import actions
from pingan.antifraud.orders.choices import AlertKind, FindingKind, OrderKind, OrderState
from pingan.antifraud.orders.jobs import RobotWorker
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder, RobotAlert
from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor
from pingan.core.settings import BankSettings
from tests.antifraud.orders.conftest import NoBank, execute_at_bank, mule_report, register
from tests.conftest import bearer
from tests.factories import card

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _order(order_id: int) -> RestrictionOrder:
    with db.read_transaction() as s:
        order = actions.get_order(s, order_id)
        assert order.events is not None  # loaded while the session is open
        return order


def _finding_id() -> int:
    with db.read_transaction() as s:
        return int(s.execute(select(PoliceFinding.id).order_by(PoliceFinding.id)).scalars().first() or 0)


def _audit_actions() -> list[str]:
    with db.read_transaction() as s:
        return list(s.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


def _approve(client: TestClient, supervisor: User, finding_id: int) -> None:
    r = client.post(
        f"/api/v1/findings/{finding_id}/decision", json={"approve": True}, headers=bearer(supervisor)
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def stopped_mule(client: TestClient, station_yulin: object) -> int:
    """The robot's stop-payment on mule card CCB, issued at T0 and executed by the bank; its finding drafted."""
    with clock.frozen(T0):
        register(mule_report(1))
        with db.read_transaction() as s:
            order_id = s.execute(select(RestrictionOrder.id)).scalar_one()
        execute_at_bank(order_id)
    return order_id


@pytest.fixture
def approved_finding(client: TestClient, stopped_mule: int, supervisor_liu: User) -> int:
    with clock.frozen(T0 + timedelta(hours=1)):
        _approve(client, supervisor_liu, _finding_id())
    return _finding_id()


def _convert(
    client: TestClient, analyst: User, order_id: int, finding_id: int, **extra: object
) -> dict[str, object]:
    r = client.post(
        f"/api/v1/orders/{order_id}/convert",
        json={"finding_id": finding_id, **extra},
        headers=bearer(analyst),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


# ---- stop → freeze -------------------------------------------------------------------------


def test_an_approved_finding_converts_the_live_stop_payment_into_a_freeze(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    freeze = _convert(client, analyst_zhang, stopped_mule, approved_finding)
    assert freeze["kind"] == "freeze" and freeze["state"] == "drafted"
    assert freeze["renews_order_id"] == stopped_mule
    assert freeze["amount_fen"] == 300_000  # the amount the report traced into the card
    stop = _order(stopped_mule)
    assert stop.state is OrderState.CONVERTED and stop.live_key is None
    assert [e.to_state for e in stop.events][-1] == "converted"


def test_a_conversion_audits_the_stop_ending_and_the_freeze_starting(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    _convert(client, analyst_zhang, stopped_mule, approved_finding)
    assert _audit_actions()[-2:] == ["order.converted", "order.issue"]


def test_a_freeze_asked_for_on_a_stopped_account_converts_the_stop_instead_of_refusing(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    with db.read_transaction() as s:
        acc_id = actions.get_finding(s, approved_finding).accounts[0].id
    r = client.post(
        "/api/v1/orders/freezes",
        json={"finding_id": approved_finding, "finding_account_id": acc_id},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 201, r.text
    assert r.json()["renews_order_id"] == stopped_mule
    assert _order(stopped_mule).state is OrderState.CONVERTED


def test_a_stop_payment_not_yet_at_its_bank_is_not_converted(
    client: TestClient, station_yulin: object, analyst_zhang: User, supervisor_liu: User
) -> None:
    register(mule_report(1))
    _approve(client, supervisor_liu, _finding_id())
    with db.read_transaction() as s:
        order_id = s.execute(select(RestrictionOrder.id)).scalar_one()
    r = client.post(
        f"/api/v1/orders/{order_id}/convert",
        json={"finding_id": _finding_id()},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 409
    assert "once its bank has taken it" in r.json()["message"]
    assert _order(order_id).state is OrderState.DRAFTED


def test_a_conversion_without_an_approved_finding_is_refused_naming_the_finding(
    client: TestClient, stopped_mule: int, analyst_zhang: User
) -> None:
    r = client.post(
        f"/api/v1/orders/{stopped_mule}/convert",
        json={"finding_id": _finding_id()},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "finding_id" and "approved" in r.json()["message"]
    assert _order(stopped_mule).state is OrderState.EXECUTED


def test_an_officer_may_not_convert_a_stop_payment(
    client: TestClient, stopped_mule: int, approved_finding: int, officer_li: User
) -> None:
    r = client.post(
        f"/api/v1/orders/{stopped_mule}/convert",
        json={"finding_id": approved_finding},
        headers=bearer(officer_li),
    )
    assert r.status_code == 403


def test_the_renewals_exhausted_alert_leads_to_a_convert_action_that_exists(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    worker = RobotWorker(NoBank(), BankSettings())  # type: ignore[arg-type]
    at, order_id = T0, stopped_mule
    for _ in range(3):
        at += timedelta(hours=44)
        with clock.frozen(at):
            worker.maintain()
        with db.read_transaction() as s:
            order_id = s.execute(
                select(RestrictionOrder.id).where(RestrictionOrder.live_key.is_not(None))
            ).scalar_one()
        if _order(order_id).state is not OrderState.EXECUTED:
            with clock.frozen(at):
                execute_at_bank(order_id)
    with db.read_transaction() as s:
        alert = s.execute(
            select(RobotAlert).where(RobotAlert.kind == AlertKind.RENEWALS_EXHAUSTED)
        ).scalar_one()
    found = re.search(r"POST (/api/v1/orders/\d+/convert)", alert.message)
    assert found is not None, alert.message
    r = client.post(found.group(1), json={"finding_id": approved_finding}, headers=bearer(analyst_zhang))
    assert r.status_code == 201, r.text


# ---- freeze terms --------------------------------------------------------------------------


def test_a_freeze_runs_six_months(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    with clock.frozen(T0 + timedelta(days=1)):
        freeze = _convert(client, analyst_zhang, stopped_mule, approved_finding)
    assert _order(int(str(freeze["id"]))).expires_at == T0 + timedelta(days=1 + 183)


def test_a_freeze_in_a_major_case_runs_one_year(
    client: TestClient, stopped_mule: int, analyst_zhang: User, supervisor_liu: User
) -> None:
    fid = _finding_id()
    r = client.post(
        f"/api/v1/findings/{fid}/major-case",
        json={"major_case": True, "major_case_reason": "涉案金额特别巨大 amount over ¥5m"},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 200, r.text
    _approve(client, supervisor_liu, fid)
    with clock.frozen(T0 + timedelta(days=1)):
        freeze = _convert(client, analyst_zhang, stopped_mule, fid)
    assert freeze["major_case"] is True
    assert _order(int(str(freeze["id"]))).expires_at == T0 + timedelta(days=1 + 365)


def test_a_major_case_without_its_reason_is_refused_naming_the_field(
    client: TestClient, stopped_mule: int, analyst_zhang: User
) -> None:
    r = client.post(
        f"/api/v1/findings/{_finding_id()}/major-case",
        json={"major_case": True},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "major_case_reason"


def test_a_decided_finding_is_no_longer_marked_major(
    client: TestClient, approved_finding: int, analyst_zhang: User
) -> None:
    r = client.post(
        f"/api/v1/findings/{approved_finding}/major-case",
        json={"major_case": True, "major_case_reason": "organised ring"},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 409


def test_the_approver_sees_the_major_case_and_its_reason(
    client: TestClient, stopped_mule: int, analyst_zhang: User, supervisor_liu: User
) -> None:
    fid = _finding_id()
    client.post(
        f"/api/v1/findings/{fid}/major-case",
        json={"major_case": True, "major_case_reason": "跨境团伙 cross-border ring"},
        headers=bearer(analyst_zhang),
    )
    (item,) = client.get("/api/v1/findings", headers=bearer(supervisor_liu)).json()
    assert item["major_case"] is True and item["major_case_reason"] == "跨境团伙 cross-border ring"
    page = client.get("/findings", headers=bearer(supervisor_liu)).text
    assert "Major case" in page and "跨境团伙 cross-border ring" in page


def test_a_renewed_freeze_runs_a_new_term_from_the_renewal(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    with clock.frozen(T0 + timedelta(days=1)):
        freeze_id = int(str(_convert(client, analyst_zhang, stopped_mule, approved_finding)["id"]))
        execute_at_bank(freeze_id)
    renewed_at = T0 + timedelta(days=178)
    with clock.frozen(renewed_at):
        r = client.post(
            f"/api/v1/orders/{freeze_id}/renew",
            json={"reason": "案件仍在侦查 still under investigation"},
            headers=bearer(analyst_zhang),
        )
    assert r.status_code == 201, r.text
    renewal = _order(r.json()["id"])
    assert renewal.kind is OrderKind.FREEZE and renewal.renews_order_id == freeze_id and renewal.renewals == 1
    assert renewal.expires_at == renewed_at + timedelta(days=183)
    assert _order(freeze_id).state is OrderState.RENEWED
    assert "order.renewed" in _audit_actions()


def test_a_freeze_is_renewed_again_and_again_each_renewal_audited(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    order_id = int(str(_convert(client, analyst_zhang, stopped_mule, approved_finding)["id"]))
    for n in (1, 2, 3):
        execute_at_bank(order_id)
        r = client.post(
            f"/api/v1/orders/{order_id}/renew", json={"reason": "still needed"}, headers=bearer(analyst_zhang)
        )
        assert r.status_code == 201, r.text
        order_id = r.json()["id"]
        assert r.json()["renewals"] == n
    assert _audit_actions().count("order.renewed") == 3


def test_a_stop_payment_is_not_renewed_a_third_time_through_the_api(
    client: TestClient, stopped_mule: int, analyst_zhang: User
) -> None:
    order_id = stopped_mule
    for _ in range(2):
        r = client.post(
            f"/api/v1/orders/{order_id}/renew", json={"reason": "still needed"}, headers=bearer(analyst_zhang)
        )
        assert r.status_code == 201, r.text
        order_id = r.json()["id"]
        execute_at_bank(order_id)
    r = client.post(
        f"/api/v1/orders/{order_id}/renew", json={"reason": "still needed"}, headers=bearer(analyst_zhang)
    )
    assert r.status_code == 409
    assert "convert it to a freeze" in r.json()["message"]


def test_an_order_the_bank_has_not_executed_is_not_renewed(
    client: TestClient, station_yulin: object, analyst_zhang: User
) -> None:
    register(mule_report(1))
    with db.read_transaction() as s:
        order_id = s.execute(select(RestrictionOrder.id)).scalar_one()
    r = client.post(
        f"/api/v1/orders/{order_id}/renew", json={"reason": "still needed"}, headers=bearer(analyst_zhang)
    )
    assert r.status_code == 409 and r.json()["field"] == "state"


def test_a_converted_freeze_raises_an_alert_seven_days_before_it_expires(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    worker = RobotWorker(NoBank(), BankSettings())  # type: ignore[arg-type]
    with clock.frozen(T0):
        freeze_id = int(str(_convert(client, analyst_zhang, stopped_mule, approved_finding)["id"]))
        execute_at_bank(freeze_id)
    with clock.frozen(T0 + timedelta(days=175)):
        worker.maintain()
    with db.read_transaction() as s:
        assert (
            s.execute(select(RobotAlert).where(RobotAlert.kind == AlertKind.FREEZE_EXPIRING)).first() is None
        )
    with clock.frozen(T0 + timedelta(days=177)):
        worker.maintain()
    with db.read_transaction() as s:
        (alert,) = s.execute(select(RobotAlert).where(RobotAlert.kind == AlertKind.FREEZE_EXPIRING)).scalars()
    assert alert.subject == f"order:{freeze_id}" and "renew it or let it lapse" in alert.message


def test_renewing_a_freeze_resolves_its_expiry_alert(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    worker = RobotWorker(NoBank(), BankSettings())  # type: ignore[arg-type]
    with clock.frozen(T0):
        freeze_id = int(str(_convert(client, analyst_zhang, stopped_mule, approved_finding)["id"]))
        execute_at_bank(freeze_id)
    with clock.frozen(T0 + timedelta(days=177)):
        worker.maintain()
        client.post(
            f"/api/v1/orders/{freeze_id}/renew",
            json={"reason": "still needed"},
            headers=bearer(analyst_zhang),
        )
    with db.read_transaction() as s:
        (alert,) = s.execute(select(RobotAlert).where(RobotAlert.kind == AlertKind.FREEZE_EXPIRING)).scalars()
    assert alert.resolved_at is not None


# ---- trace findings ------------------------------------------------------------------------


def test_an_approved_trace_finding_freezes_each_account_capped_at_its_traced_amount(
    client: TestClient, stopped_mule: int, supervisor_liu: User
) -> None:
    second_layer = protect(PiiKind.CARD, card("621661", 42), field="account")
    with db.transaction() as s:
        stop = actions.get_order(s, stopped_mule)
        draft = actions.FindingDraft(
            report_id=stop.report_id,
            case_ref="510107-2026-000001",
            evidence={"trace": {"method": "fifo"}},
            accounts=[
                (actions.AccountRef("CCB", stop.account), 120_000),
                (actions.AccountRef("BOC", second_layer), 80_000),
            ],
            actor=Actor.system("robot"),
            kind=FindingKind.TRACE,
        )
        fid = actions.do_draft_finding(s, draft).id
    _approve(client, supervisor_liu, fid)
    with db.read_transaction() as s:
        freezes = list(
            s.execute(
                select(RestrictionOrder)
                .where(RestrictionOrder.kind == OrderKind.FREEZE)
                .order_by(RestrictionOrder.id)
            ).scalars()
        )
    assert [(f.bank_code, f.amount_fen, f.finding_id) for f in freezes] == [
        ("CCB", 120_000, fid),
        ("BOC", 80_000, fid),
    ]
    assert freezes[0].renews_order_id == stopped_mule
    assert _order(stopped_mule).state is OrderState.CONVERTED


def test_the_robots_finding_on_a_report_is_a_report_finding_that_issues_no_freeze(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    assert _order(stopped_mule).state is OrderState.EXECUTED
    item = client.get(f"/api/v1/findings/{approved_finding}", headers=bearer(analyst_zhang)).json()
    assert item["kind"] == "report"


# ---- appeals and releases ------------------------------------------------------------------


def _appeal(client: TestClient, filer: User, order_id: int) -> int:
    r = client.post(
        f"/api/v1/orders/{order_id}/appeals",
        json={"appellant": "赵六", "statement": "这是我的工资卡，与案件无关。"},
        headers=bearer(filer),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_the_filer_of_an_appeal_never_decides_it(
    client: TestClient, stopped_mule: int, supervisor_liu: User
) -> None:
    appeal_id = _appeal(client, supervisor_liu, stopped_mule)
    r = client.post(
        f"/api/v1/appeals/{appeal_id}/decision",
        json={"upheld": True, "reason": "工资流水核实"},
        headers=bearer(supervisor_liu),
    )
    assert r.status_code == 403
    assert "never its filer" in r.json()["message"]
    assert _order(stopped_mule).state is OrderState.EXECUTED


def test_pending_appeals_are_listed_with_their_filer(
    client: TestClient, stopped_mule: int, officer_li: User, supervisor_liu: User
) -> None:
    appeal_id = _appeal(client, officer_li, stopped_mule)
    (item,) = client.get("/api/v1/appeals?pending=true", headers=bearer(supervisor_liu)).json()
    assert item["id"] == appeal_id and item["filed_by"] == officer_li.username and item["status"] == "pending"


def test_marking_an_order_unrelated_twice_keeps_the_first_release_deadline(
    client: TestClient, stopped_mule: int, analyst_zhang: User
) -> None:
    with clock.frozen(T0 + timedelta(hours=2)):
        first = client.post(f"/api/v1/orders/{stopped_mule}/unrelated", headers=bearer(analyst_zhang))
    with clock.frozen(T0 + timedelta(hours=30)):
        second = client.post(f"/api/v1/orders/{stopped_mule}/unrelated", headers=bearer(analyst_zhang))
    assert first.status_code == second.status_code == 200
    assert second.json()["release_due_at"] == first.json()["release_due_at"]
    assert _order(stopped_mule).release_due_at == T0 + timedelta(hours=2, days=3)


def test_a_supervisor_releases_a_freeze_through_the_api(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User, supervisor_liu: User
) -> None:
    freeze_id = int(str(_convert(client, analyst_zhang, stopped_mule, approved_finding)["id"]))
    execute_at_bank(freeze_id)
    assert (
        client.post(
            f"/api/v1/orders/{freeze_id}/release", json={"reason": "案件撤销"}, headers=bearer(analyst_zhang)
        ).status_code
        == 403
    )
    r = client.post(
        f"/api/v1/orders/{freeze_id}/release", json={"reason": "案件撤销"}, headers=bearer(supervisor_liu)
    )
    assert r.status_code == 200 and r.json()["state"] == "released"


def test_an_analyst_converts_a_stop_payment_from_its_order_page(
    client: TestClient, stopped_mule: int, approved_finding: int, analyst_zhang: User
) -> None:
    page = client.get(f"/orders/{stopped_mule}", headers=bearer(analyst_zhang))
    assert 'id="convert-to-freeze"' in page.text
    r = client.post(
        f"/orders/{stopped_mule}/convert",
        data={"finding_id": str(approved_finding)},
        headers=bearer(analyst_zhang),
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _order(stopped_mule).state is OrderState.CONVERTED


def test_a_refused_renewal_from_the_order_page_says_why(
    client: TestClient, station_yulin: object, analyst_zhang: User
) -> None:
    register(mule_report(1))
    with db.read_transaction() as s:
        order_id = s.execute(select(RestrictionOrder.id)).scalar_one()
    r = client.post(
        f"/orders/{order_id}/renew", data={"reason": "still needed"}, headers=bearer(analyst_zhang)
    )
    assert r.status_code == 409 and "only an executed order is renewed" in r.text
