"""A direct stop rests on a report an authenticated station officer registered or confirmed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders import robot
from pingan.antifraud.orders.choices import BasisKind
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.antifraud.reports.imports import import_reports
from pingan.core import db
from pingan.core.auth import User
from pingan.core.roles import Actor
from tests.antifraud.orders.conftest import mule_report
from tests.conftest import bearer


def _orders() -> list[RestrictionOrder]:
    with db.read_transaction() as s:
        return list(s.execute(select(RestrictionOrder).order_by(RestrictionOrder.id)).scalars())


def _findings() -> int:
    with db.read_transaction() as s:
        return len(s.execute(select(PoliceFinding.id)).all())


def _post(client: TestClient, user: User, body: dict[str, Any]) -> int:
    r = client.post("/api/v1/fraud-reports", json=body, headers=bearer(user))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_an_officers_report_is_stopped_at_once(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    report_id = _post(client, officer_li, mule_report(1))
    [order] = _orders()
    assert (order.basis_kind, order.report_id) == (BasisKind.REPORT, report_id)


def test_an_analysts_report_gets_no_stop_until_an_officer_confirms_it(
    client: TestClient, station_yulin: object, analyst_zhang: User, officer_li: User
) -> None:
    report_id = _post(client, analyst_zhang, mule_report(1))
    assert (_orders(), _findings()) == ([], 0)
    r = client.post(f"/api/v1/fraud-reports/{report_id}/confirm", headers=bearer(officer_li))
    assert r.status_code == 200, r.text
    [order] = _orders()
    assert order.report_id == report_id
    assert _findings() == 1


def test_an_imported_report_gets_no_stop_until_an_officer_confirms_it(
    tmp_path: Path, client: TestClient, station_yulin: object, officer_li: User
) -> None:
    src = tmp_path / "reports.jsonl"
    src.write_text(json.dumps(mule_report(1), ensure_ascii=False) + "\n")
    [report_id] = import_reports(src, actor=Actor.system("import")).report_ids
    assert _orders() == []
    client.post(f"/api/v1/fraud-reports/{report_id}/confirm", headers=bearer(officer_li))
    assert [o.report_id for o in _orders()] == [report_id]


def test_the_sweep_leaves_a_waiting_report_alone(
    client: TestClient, station_yulin: object, analyst_zhang: User, monkeypatch: Any
) -> None:
    _post(client, analyst_zhang, mule_report(1))
    monkeypatch.setattr(robot, "SWEEP_GRACE", robot.SWEEP_GRACE * -1000)  # every report is old enough
    assert robot.sweep_reports() == 0
    assert _orders() == []
