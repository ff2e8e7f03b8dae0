"""The mule review queue as a list: filtered by status and score band, found by account number
through its pseudonym, sorted, paged and exported with accounts masked."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient

from pingan.antifraud.mules.review import actions
from pingan.core import db
from pingan.core.auth import User
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor
from tests.conftest import bearer
from tests.factories import card

DETECTOR = Actor.system("mule-detector")
ROW = re.compile(r'<tr id="candidate-(\d+)">')


def _queue(n: int, score: float) -> int:
    account = protect(PiiKind.CARD, card("622202", n))
    with db.transaction() as s:
        c = actions.do_queue_candidate(
            s,
            account_pseudonym=account.pseudonym,
            account_masked=account.masked,
            bank="ICBC",
            score=score,
            reasons=("triangles:+1.20",),
            actor=DETECTOR,
        )
        return c.id


def _listed(client: TestClient, user: User, **params: str) -> list[int]:
    r = client.get("/mules/review", params=params, headers=bearer(user))
    assert r.status_code == 200, r.text
    return [int(i) for i in ROW.findall(r.text)]


def test_the_queue_filters_by_score_band_best_first(client: TestClient, analyst_zhang: User) -> None:
    high, medium, low = _queue(1, 0.95), _queue(2, 0.8), _queue(3, 0.2)
    assert _listed(client, analyst_zhang) == [high, medium, low]
    assert _listed(client, analyst_zhang, band="medium") == [medium]
    assert _listed(client, analyst_zhang, sort="score") == [low, medium, high]


def test_a_bad_band_is_422_naming_band(client: TestClient, analyst_zhang: User) -> None:
    r = client.get("/mules/review?band=huge", headers=bearer(analyst_zhang))
    assert r.status_code == 422 and r.json()["field"] == "band"


def test_the_queue_finds_a_candidate_by_account_number_through_its_pseudonym(
    client: TestClient, analyst_zhang: User
) -> None:
    _queue(1, 0.95)
    wanted = _queue(2, 0.8)
    assert _listed(client, analyst_zhang, q=card("622202", 2)) == [wanted]


def test_an_empty_status_lists_every_status(client: TestClient, analyst_zhang: User) -> None:
    kept, dismissed = _queue(1, 0.95), _queue(2, 0.8)
    with db.transaction() as s:
        actions.do_dismiss(s, candidate_id=dismissed, note="salary account", actor=Actor.system("t"))
    assert _listed(client, analyst_zhang) == [kept]
    assert _listed(client, analyst_zhang, status="dismissed") == [dismissed]
    assert _listed(client, analyst_zhang, status="") == [kept, dismissed]


def test_the_queue_export_masks_the_account(client: TestClient, analyst_zhang: User) -> None:
    _queue(1, 0.95)
    r = client.get("/mules/review/export?format=csv", headers=bearer(analyst_zhang))
    text = r.content.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 and rows[0][header.index("Account")].startswith("6222 **** ****")
    assert card("622202", 1) not in text
