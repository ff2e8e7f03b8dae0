"""Orders, findings and appeals through the API: legal basis, duplicates, holder-linked stops, freezes."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders.choices import BasisKind, FindingStatus, OrderKind, OrderReason, OrderState
from pingan.antifraud.orders.model import OrderAppeal, PoliceFinding, RestrictionOrder
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.pii import PiiKind, Protected, decrypt
from pingan.core.roles import Actor
from tests.antifraud.orders.conftest import mule_report, register
from tests.conftest import bearer


def _orders() -> list[RestrictionOrder]:
    with db.transaction() as s:
        return list(s.execute(select(RestrictionOrder).order_by(RestrictionOrder.id)).scalars())


def _finding_id() -> int:
    with db.transaction() as s:
        return int(s.execute(select(PoliceFinding.id)).scalar_one())


def test_the_robot_stops_each_payee_account_on_the_basis_of_the_report(
    client: TestClient, station_yulin: object
) -> None:
    report_id = register(mule_report(1, banks=("CCB", "ICBC")))
    orders = _orders()
    assert len(orders) == 2
    assert all(o.basis_kind is BasisKind.REPORT and o.report_id == report_id for o in orders)
    assert all(o.kind is OrderKind.STOP_PAYMENT and o.state is OrderState.DRAFTED for o in orders)


def test_the_robot_drafts_a_finding_naming_the_payee_accounts_with_their_traced_amounts(
    client: TestClient, station_yulin: object, analyst_zhang: User
) -> None:
    register(mule_report(1, banks=("CCB",), amount_fen=420_000))
    queue = client.get("/api/v1/findings", headers=bearer(analyst_zhang)).json()
    assert len(queue) == 1
    assert queue[0]["status"] == "draft" and queue[0]["drafted_by"] == "robot"
    assert [a["traced_amount_fen"] for a in queue[0]["accounts"]] == [420_000]
    assert "510107-2026-000001" in queue[0]["evidence"] and queue[0]["waiting_s"] >= 0


def test_a_second_report_on_the_same_mule_account_does_not_duplicate_the_live_order(
    client: TestClient, station_yulin: object
) -> None:
    register(mule_report(1))
    second = mule_report(1)
    second["external_ref"] = "510107-2026-999999"
    register(second)
    assert len(_orders()) == 1


def test_approving_the_finding_stops_every_other_card_of_the_holder(
    client: TestClient, station_yulin: object, supervisor_liu: User, mule_zhao_registered: None
) -> None:
    register(mule_report(1))
    r = client.post(
        f"/api/v1/findings/{_finding_id()}/decision", json={"approve": True}, headers=bearer(supervisor_liu)
    )
    assert r.status_code == 200, r.text
    linked = [o for o in _orders() if o.reason is OrderReason.HOLDER_LINKED]
    assert {o.bank_code for o in linked} == {"ICBC", "ABC"}
    assert all(o.basis_kind is BasisKind.FINDING and o.finding_id == _finding_id() for o in linked)


def test_holder_linked_cards_are_not_stopped_before_the_finding_is_approved(
    client: TestClient, station_yulin: object, mule_zhao_registered: None
) -> None:
    register(mule_report(1))
    assert [o.reason for o in _orders()] == [OrderReason.DIRECT_PAYEE]


def test_an_analyst_cannot_approve_a_finding(
    client: TestClient, station_yulin: object, analyst_zhang: User
) -> None:
    register(mule_report(1))
    r = client.post(
        f"/api/v1/findings/{_finding_id()}/decision", json={"approve": True}, headers=bearer(analyst_zhang)
    )
    assert r.status_code == 403


def test_a_freeze_without_an_approved_finding_is_refused_naming_the_basis(
    client: TestClient, station_yulin: object, analyst_zhang: User
) -> None:
    register(mule_report(1))
    with db.transaction() as s:
        acc_id = s.execute(select(PoliceFinding)).scalar_one().accounts[0].id
    r = client.post(
        "/api/v1/orders/freezes",
        json={"finding_id": _finding_id(), "finding_account_id": acc_id},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "basis" and "finding" in r.json()["message"]


def test_a_second_live_order_on_the_same_account_is_refused_with_409(
    client: TestClient, station_yulin: object, analyst_zhang: User, supervisor_liu: User
) -> None:
    register(mule_report(1))
    fid = _finding_id()
    client.post(f"/api/v1/findings/{fid}/decision", json={"approve": True}, headers=bearer(supervisor_liu))
    with db.transaction() as s:
        acc_id = s.get(PoliceFinding, fid).accounts[0].id  # type: ignore[union-attr]
    r = client.post(
        "/api/v1/orders/freezes",
        json={"finding_id": fid, "finding_account_id": acc_id},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 409
    assert "live order" in r.json()["message"]


def test_a_drafted_order_the_bank_never_had_cannot_be_released(
    client: TestClient, station_yulin: object, supervisor_liu: User
) -> None:
    register(mule_report(1))
    r = client.post(
        f"/api/v1/orders/{_orders()[0].id}/release",
        json={"reason": "no longer needed"},
        headers=bearer(supervisor_liu),
    )
    assert r.status_code == 409


def test_a_freeze_asks_no_more_than_the_traced_amount(
    client: TestClient, station_yulin: object, analyst_zhang: User, supervisor_liu: User, tmp_path: Path
) -> None:
    from pingan.antifraud.orders import actions

    with db.transaction() as s:
        ref = actions.AccountRef("BOC", Protected(PiiKind.CARD, "p" * 64, "v1:x", "6216 **** **** 0001"))
        draft = actions.FindingDraft(
            report_id=None,
            case_ref="C-1",
            evidence={},
            accounts=[(ref, 120_000)],
            actor=Actor.system("robot"),
        )
        finding = actions.do_draft_finding(s, draft)
        fid, acc_id = finding.id, finding.accounts[0].id
    client.post(f"/api/v1/findings/{fid}/decision", json={"approve": True}, headers=bearer(supervisor_liu))
    r = client.post(
        "/api/v1/orders/freezes",
        json={"finding_id": fid, "finding_account_id": acc_id, "amount_fen": 9_000_000},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 201, r.text
    assert r.json()["amount_fen"] == 120_000 and r.json()["kind"] == "freeze"


def test_a_model_score_is_refused_as_the_basis_of_an_order(client: TestClient, analyst_zhang: User) -> None:
    r = client.post("/api/v1/orders/stop-payments", json={"model_score": 0.97}, headers=bearer(analyst_zhang))
    assert r.status_code == 422
    assert "model score" in r.json()["message"]


def test_an_analysts_stop_payment_rests_on_the_approved_finding_not_on_its_report(
    client: TestClient, station_yulin: object, analyst_zhang: User
) -> None:
    register(mule_report(1))
    with db.transaction() as s:
        acc_id = s.execute(select(PoliceFinding)).scalar_one().accounts[0].id
    r = client.post(
        "/api/v1/orders/stop-payments",
        json={"finding_id": _finding_id(), "finding_account_id": acc_id},
        headers=bearer(analyst_zhang),
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "basis" and "approved finding" in r.json()["message"]


def test_an_upheld_appeal_releases_the_order_at_once(
    client: TestClient, station_yulin: object, officer_li: User, supervisor_liu: User
) -> None:
    register(mule_report(1))
    order = _orders()[0]
    from pingan.antifraud.orders import actions

    with db.transaction() as s:
        o = s.get(RestrictionOrder, order.id)
        assert o is not None
        actions.do_transition(s, o, OrderState.SENT, actor=Actor.system("test"))
        actions.do_transition(s, o, OrderState.ACKNOWLEDGED, actor=Actor.system("test"))
    r = client.post(
        f"/api/v1/orders/{order.id}/appeals",
        json={"appellant": "赵六", "statement": "这是我的工资卡，与案件无关。"},
        headers=bearer(officer_li),
    )
    assert r.status_code == 201, r.text
    assert r.json()["decision_due_at"] > r.json()["filed_at"]
    r = client.post(
        f"/api/v1/appeals/{r.json()['id']}/decision",
        json={"upheld": True, "reason": "工资流水核实"},
        headers=bearer(supervisor_liu),
    )
    assert r.status_code == 200
    detail = client.get(f"/api/v1/orders/{order.id}", headers=bearer(supervisor_liu)).json()
    assert detail["state"] == "released"
    assert [e["to_state"] for e in detail["timeline"]][-1] == "released"


def test_an_order_page_shows_its_timeline(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    register(mule_report(1))
    order = _orders()[0]
    page = client.get(f"/orders/{order.id}", headers=bearer(officer_li))
    assert page.status_code == 200 and "drafted" in page.text and order.account.masked in page.text


def test_the_orders_queue_filters_by_state(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    register(mule_report(1))
    row = f'id="order-{_orders()[0].id}"'
    assert row in client.get("/orders?state=drafted", headers=bearer(officer_li)).text
    assert row not in client.get("/orders?state=executed", headers=bearer(officer_li)).text


def test_the_approval_page_shows_drafts_to_a_supervisor(
    client: TestClient, station_yulin: object, supervisor_liu: User
) -> None:
    register(mule_report(1))
    page = client.get("/findings", headers=bearer(supervisor_liu))
    assert page.status_code == 200 and "510107-2026-000001" in page.text
    r = client.post(
        f"/findings/{_finding_id()}/decision",
        data={"decision": "approve"},
        headers=bearer(supervisor_liu),
        follow_redirects=False,
    )
    assert r.status_code == 303
    with db.transaction() as s:
        assert s.execute(select(PoliceFinding.status)).scalar_one() is FindingStatus.APPROVED


def test_the_figures_appear_at_metrics_and_on_the_figures_page(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    register(mule_report(1))
    text = client.get("/metrics").text
    assert 'pingan_orders{state="drafted"} 1.0' in text
    assert "pingan_stop_payment_rate" in text
    assert client.get("/orders-figures", headers=bearer(officer_li)).status_code == 200


def test_an_appeal_with_a_nul_character_is_refused_naming_the_field(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    register(mule_report(1))
    r = client.post(
        f"/api/v1/orders/{_orders()[0].id}/appeals",
        json={"appellant": "赵六", "statement": "这是我的工资卡，\x00与案件无关。"},
        headers=bearer(officer_li),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "statement" and "NUL" in r.json()["message"]


def test_an_appellants_name_is_stored_encrypted_and_shown_masked(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    register(mule_report(1))
    order = _orders()[0]
    r = client.post(
        f"/api/v1/orders/{order.id}/appeals",
        json={"appellant": "欧阳娜娜", "statement": "这是我的工资卡，与案件无关。"},
        headers=bearer(officer_li),
    )
    assert r.status_code == 201, r.text
    assert r.json()["appellant"] == "欧**"
    with db.get_engine().connect() as conn:
        stored = [tuple(map(str, row)) for row in conn.exec_driver_sql("select * from order_appeal")]
    assert "欧阳娜娜" not in repr(stored)
    with db.transaction() as s:
        appeal = s.execute(select(OrderAppeal)).scalar_one()
        assert decrypt(PiiKind.NAME, appeal.appellant.cipher) == "欧阳娜娜"


def test_every_read_of_the_orders_list_is_audited_with_its_filter_and_count(
    client: TestClient, station_yulin: object, supervisor_liu: User
) -> None:
    register(mule_report(1, banks=("CCB", "ICBC")))
    client.get("/api/v1/orders", params={"state": "drafted"}, headers=bearer(supervisor_liu))
    client.get("/orders", headers=bearer(supervisor_liu))
    with db.transaction() as s:
        reads = list(
            s.execute(
                select(AuditEntry)
                .where(AuditEntry.action == "restriction_order.list")
                .order_by(AuditEntry.id)
            ).scalars()
        )
    details = [json.loads(e.detail) for e in reads]
    assert [(e.actor, d["filters"], d["returned"]) for e, d in zip(reads, details, strict=True)] == [
        ("supervisor_liu", {"state": "drafted"}, 2),
        ("supervisor_liu", {}, 2),
    ]
