"""The holder-link feed: an approved finding puts its holders' other accounts on the watchlist."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.antifraud.watchlist.choices import WatchSource
from pingan.antifraud.watchlist.model import WatchlistEntry
from pingan.core import db
from pingan.core.auth import User
from tests.antifraud.orders.conftest import mule_report, register
from tests.conftest import bearer


def _entries() -> list[WatchlistEntry]:
    with db.transaction() as s:
        return list(s.execute(select(WatchlistEntry).order_by(WatchlistEntry.id)).scalars())


def _finding_id() -> int:
    with db.transaction() as s:
        return int(s.execute(select(PoliceFinding.id)).scalar_one())


def _decide(client: TestClient, supervisor: User, *, approve: bool) -> None:
    r = client.post(
        f"/api/v1/findings/{_finding_id()}/decision",
        json={"approve": approve, "note": "reviewed the bank statements"},
        headers=bearer(supervisor),
    )
    assert r.status_code == 200, r.text


def test_approving_the_finding_lists_the_holders_other_cards_as_holder_links(
    client: TestClient, station_yulin: object, supervisor_liu: User, mule_zhao_registered: None
) -> None:
    register(mule_report(1))
    _decide(client, supervisor_liu, approve=True)
    linked = [e for e in _entries() if e.source is WatchSource.HOLDER_LINK]
    assert {e.bank for e in linked} == {"ICBC", "ABC"}
    assert all(json.loads(e.evidence)[0]["finding_id"] == _finding_id() for e in linked)


def test_the_holder_links_listed_are_the_cards_the_robot_stopped(
    client: TestClient, station_yulin: object, supervisor_liu: User, mule_zhao_registered: None
) -> None:
    register(mule_report(1))
    _decide(client, supervisor_liu, approve=True)
    with db.transaction() as s:
        stopped = set(
            s.execute(
                select(RestrictionOrder.account.pseudonym).where(RestrictionOrder.reason == "holder_linked")
            ).scalars()
        )
    linked = {e.account_pseudonym for e in _entries() if e.source is WatchSource.HOLDER_LINK}
    assert linked == stopped and len(linked) == 2


def test_a_rejected_finding_lists_no_holder_links(
    client: TestClient, station_yulin: object, supervisor_liu: User, mule_zhao_registered: None
) -> None:
    register(mule_report(1))
    _decide(client, supervisor_liu, approve=False)
    assert [e.source for e in _entries()] == [WatchSource.REPORTED_PAYEE]
