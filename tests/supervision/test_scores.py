"""Quality scores (执法质量考评): deductions derived from breaches and late check-outs, rebuilt from
scratch to the same totals, appeals as new entries, and the monthly leaderboard with its exports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from pingan.core import clock, db
from pingan.core.auth import User
from pingan.supervision import scores
from pingan.supervision.model import QualityEntry
from tests.conftest import bearer
from tests.supervision.conftest import NOW, decide
from tests.supervision.conftest import detain as approved_detention
from tests.supervision.test_ledger import confirm, hand, keeper_zhao, register, seize  # noqa: F401
from tests.supervision.test_pages import HTML, browser


def detain(client: TestClient, case: dict[str, Any], user: User, at: Any) -> None:
    """The suspect detained at `at`: requested by `user`, approved by supervisor Liu in the queue."""
    r = approved_detention(client, case, user, at)
    assert r.status_code == 200, r.text


def stored() -> list[QualityEntry]:
    with db.transaction() as s:
        rows = list(s.scalars(select(QualityEntry).order_by(QualityEntry.id)).all())
        s.expunge_all()
        return rows


def sync(now: Any = NOW) -> int:
    with db.transaction() as s:
        return scores.sync(s, now=now)


@pytest.fixture
def breached_case(
    client: TestClient,
    theft_case: dict[str, Any],
    officer_li: User,
    keeper_zhao: User,  # noqa: F811
) -> dict[str, Any]:
    """Li's case: a detention without family notice, an item never registered, and one checked out
    and returned 3 hours late."""
    detain(client, theft_case, officer_li, NOW - timedelta(hours=30))
    seize(client, theft_case, officer_li, "PH-2", NOW - timedelta(hours=30))
    seize(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=30))
    item = register(client, theft_case, officer_li, "EB-1", NOW - timedelta(hours=29)).json()
    with clock.frozen(NOW - timedelta(hours=28)):
        m = hand(client, item["id"], officer_li, kind="custody", to_user="keeper_zhao").json()
        confirm(client, m["id"], keeper_zhao)
        out = hand(
            client,
            item["id"],
            keeper_zhao,
            kind="check_out",
            to_user="officer_li",
            due_at=(NOW - timedelta(hours=5)).isoformat(),
        ).json()
        confirm(client, out["id"], officer_li)
    with clock.frozen(NOW - timedelta(hours=2)):
        back = hand(client, item["id"], officer_li, kind="return", to_user="keeper_zhao").json()
        confirm(client, back["id"], keeper_zhao)
    return theft_case


def test_each_deduction_cites_its_rule_and_event_and_a_rebuild_gives_the_same_scores(
    breached_case: dict[str, Any],
) -> None:
    assert sync() > 0
    entries = stored()
    by_rule = {e.rule_id: e for e in entries}
    assert by_rule["cpl.detention_family_notice"].points == -5
    assert by_rule["property.registration"].points == -2
    assert by_rule["property.registration"].source.startswith(
        f"breach:{breached_case['id']}:property.registration:item:PH-2:"
    )
    late = by_rule[scores.LATE_CHECKOUT_RULE]
    assert late.points == -2 and late.officer == "officer_li" and "returned" in late.reason
    assert sync() == 0  # nothing is added twice
    with db.transaction() as s:
        rebuilt = scores.derive(s, now=NOW)
    for by in ("station_code", "officer"):
        assert scores.totals(rebuilt, by) == scores.totals(entries, by)
    assert sorted(d.source for d in rebuilt) == sorted(e.source for e in entries)


def test_an_appeal_is_a_new_audited_entry_and_the_deduction_stays(
    client: TestClient, breached_case: dict[str, Any], legal_sun: User, officer_li: User
) -> None:
    sync()
    target = next(e for e in stored() if e.rule_id == "property.registration")
    url = f"/api/v1/supervision/quality/{target.id}/appeals"
    too_much = client.post(url, json={"points": 3, "grounds": "次日上班即登记"}, headers=bearer(officer_li))
    assert too_much.status_code == 422 and too_much.json()["field"] == "points"
    req = client.post(
        url, json={"points": 2, "grounds": "物品系当日夜间扣押，次日上班即登记"}, headers=bearer(officer_li)
    )
    assert req.status_code == 201, req.text
    assert decide(client, req.json()["id"], officer_li).status_code == 403  # not by its filer
    r = decide(client, req.json()["id"], legal_sun, reason="夜间扣押属实")
    assert r.status_code == 200 and r.json()["result_entry_id"] is not None
    again = client.post(url, json={"points": 1, "grounds": "再次申诉，补充证据"}, headers=bearer(officer_li))
    assert again.status_code == 409
    entries = stored()
    decision = next(e for e in entries if e.appeal_of == target.id)
    assert (decision.points, decision.recorded_by) == (2, "legal_sun")
    assert next(e for e in entries if e.id == target.id).points == -2  # unchanged
    board = client.get("/api/v1/supervision/leaderboard?month=2026-03", headers=bearer(legal_sun)).json()
    yulin = next(u for u in board if u["key"] == "WH-YL")
    assert yulin["score"] == 100 + sum(e.points for e in entries if e.station_code == "WH-YL")


def test_an_appeal_is_decided_only_through_a_request(
    client: TestClient, breached_case: dict[str, Any], legal_sun: User
) -> None:
    sync()
    target = next(e for e in stored() if e.rule_id == "property.registration")
    r = client.post(
        f"/api/v1/supervision/quality/{target.id}/appeal",
        json={"points": 2, "reason": "物品系当日夜间扣押"},
        headers=bearer(legal_sun),
    )
    assert r.status_code in (404, 405)
    assert not [e for e in stored() if e.appeal_of == target.id]


def test_the_quality_ledger_refuses_an_update_by_trigger(
    breached_case: dict[str, Any], database: str
) -> None:
    if database != "postgres":
        pytest.skip("SQLite has no trigger; nothing in the code updates an entry")
    sync()
    with pytest.raises(DBAPIError), db.transaction() as s:
        s.execute(update(QualityEntry).values(points=0))
    with db.transaction() as s:
        assert (
            s.execute(text("select count(*) from supervision_quality_entry where points = 0")).scalar() == 0
        )


def test_the_leaderboard_page_ranks_stations_with_reasons_and_exports(
    client: TestClient, breached_case: dict[str, Any], legal_sun: User
) -> None:
    sync()
    b = browser(client, legal_sun)
    page = b.get("/supervision/leaderboard?month=2026-03", headers=HTML)
    assert page.status_code == 200
    assert 'href="/supervision/leaderboard"' in page.text
    assert "Family notified within 24 hours of criminal detention (-5)" in page.text
    assert 'data-chart="scores"' in page.text and '"type": "bar"' in page.text
    total = 100 + sum(e.points for e in stored())
    csv_text = b.get("/supervision/leaderboard?month=2026-03&format=csv").text
    assert "WH-YL" in csv_text and f",{total}," in csv_text
    xlsx = b.get("/supervision/leaderboard?month=2026-03&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = b.get("/supervision/leaderboard?month=March", headers=HTML)
    assert bad.status_code == 422 and "month" in bad.text
