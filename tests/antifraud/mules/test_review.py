"""The mule-candidate review queue: a score is a lead; only a reviewer's confirmation lists the account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from pingan.antifraud.mules.review import actions
from pingan.antifraud.mules.review.choices import CandidateStatus
from pingan.antifraud.mules.review.model import MuleCandidate
from pingan.antifraud.watchlist.choices import WatchSource
from pingan.antifraud.watchlist.model import WatchlistEntry
from pingan.cli import app
from pingan.core import db
from pingan.core.auth import User
from pingan.core.roles import Actor
from tests.conftest import bearer

DETECTOR = Actor.system("mule-detector")


def queue_zhao_card() -> int:
    with db.transaction() as s:
        c = actions.do_queue_candidate(
            s,
            account_pseudonym="pseudo-zhao-card",
            account_masked="6222 **** 0017",
            bank="ICBC",
            store_account_id=174287,
            score=0.97,
            reasons=(
                "nb_in_score0_over_half=4:+5.66",
                "in_sum=1.2345e+06:+1.30",
                "dwell_hours_median=0.5:+1.20",
            ),
            model_ref="var/mules-model",
            actor=DETECTOR,
        )
        return c.id


def watchlist_rows() -> list[WatchlistEntry]:
    with db.read_transaction() as s:
        return list(s.execute(select(WatchlistEntry)).scalars())


def test_a_queued_candidate_lists_nothing(analyst_zhang: User) -> None:
    queue_zhao_card()
    assert watchlist_rows() == []


def test_the_queue_page_shows_the_candidate_with_its_reasons(client: TestClient, analyst_zhang: User) -> None:
    queue_zhao_card()
    page = client.get("/mules/review", headers=bearer(analyst_zhang))
    assert page.status_code == 200
    assert "6222 **** 0017" in page.text and "Likely-mule payers (round 1)" in page.text


def test_the_queue_page_shows_feature_labels_and_formatted_values_not_raw_names(
    client: TestClient, analyst_zhang: User
) -> None:
    queue_zhao_card()
    page = client.get("/mules/review", headers=bearer(analyst_zhang)).text
    assert "Total received</strong>: ¥12,345.00" in page  # 1,234,500 fen
    assert "Typical dwell time</strong>: 0.5 h" in page
    assert "Payers whose mule score is above one half." in page  # the explanation
    for raw in ("nb_in_score0_over_half", "in_sum", "dwell_hours_median"):
        assert raw not in page


def test_confirming_lists_the_account_as_suspected(client: TestClient, analyst_zhang: User) -> None:
    cid = queue_zhao_card()
    r = client.post(
        f"/mules/review/{cid}/confirm",
        data={"note": "rented card, holder admitted"},
        headers=bearer(analyst_zhang),
        follow_redirects=False,
    )
    assert r.status_code == 303
    [entry] = watchlist_rows()
    assert entry.source == WatchSource.SUSPECTED and entry.account_pseudonym == "pseudo-zhao-card"
    assert "rented card, holder admitted" in entry.evidence
    with db.read_transaction() as s:
        c = s.get(MuleCandidate, cid)
        assert c is not None and c.status == CandidateStatus.CONFIRMED and c.watchlist_entry_id == entry.id


def test_dismissing_lists_nothing(client: TestClient, analyst_zhang: User) -> None:
    cid = queue_zhao_card()
    r = client.post(
        f"/mules/review/{cid}/dismiss",
        data={"note": "payroll agent"},
        headers=bearer(analyst_zhang),
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert watchlist_rows() == []


def test_a_review_without_a_note_is_refused_and_changes_nothing(
    client: TestClient, analyst_zhang: User
) -> None:
    cid = queue_zhao_card()
    r = client.post(f"/mules/review/{cid}/confirm", data={"note": " "}, headers=bearer(analyst_zhang))
    assert r.status_code == 422
    assert watchlist_rows() == []


def test_a_candidate_is_reviewed_once(client: TestClient, analyst_zhang: User) -> None:
    cid = queue_zhao_card()
    client.post(f"/mules/review/{cid}/dismiss", data={"note": "payroll agent"}, headers=bearer(analyst_zhang))
    r = client.post(
        f"/mules/review/{cid}/confirm", data={"note": "changed my mind"}, headers=bearer(analyst_zhang)
    )
    assert r.status_code == 409
    assert watchlist_rows() == []


def test_an_officer_may_not_review(client: TestClient, officer_li: User) -> None:
    cid = queue_zhao_card()
    r = client.post(f"/mules/review/{cid}/confirm", data={"note": "looks bad"}, headers=bearer(officer_li))
    assert r.status_code == 403
    assert watchlist_rows() == []


@pytest.fixture(scope="module")
def trained_on_tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny district and a model trained on its first days (`pingan mules train`)."""
    from pingan.sim import generate

    store = tmp_path_factory.mktemp("mules") / "tiny"
    generate("tiny", 5, store, workers=1)
    model = store.parent / "model"
    out = CliRunner().invoke(app, ["mules", "train", "--store", str(store), "--out", str(model)])
    assert out.exit_code == 0, out.output
    return store, model


def test_scoring_puts_the_candidates_on_the_review_queue_and_lists_nothing(
    database: str, trained_on_tiny: tuple[Path, Path]
) -> None:
    store, model = trained_on_tiny
    out = CliRunner().invoke(
        app, ["mules", "score", "--store", str(store), "--model", str(model), "--limit", "5"]
    )
    assert out.exit_code == 0, out.output
    printed = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert printed, "the tiny district has mules to find"
    with db.read_transaction() as s:
        queued = list(s.execute(select(MuleCandidate)).scalars())
    assert {c.store_account_id for c in queued} == {p["account"] for p in printed}
    assert all(c.status is CandidateStatus.PENDING and c.reasons and "*" in c.account_masked for c in queued)
    assert watchlist_rows() == []
