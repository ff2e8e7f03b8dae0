"""The demo's year of supervised cases: written through the actions, with late and missing steps
that show as breaches, reconciliation lines and deductions."""

from __future__ import annotations

from sqlalchemy import func, select

from pingan.core import db
from pingan.core.org import Station
from pingan.core.roles import Actor, Role
from pingan.supervision import ledger, scores
from pingan.supervision.model import CaseBreach, PropertyItem, QualityEntry, SupervisionCase
from pingan.supervision.seed import seed_supervision
from tests.supervision.conftest import NOW


def test_a_seeded_year_has_cases_property_breaches_and_deductions(station_yulin: Station) -> None:
    assert seed_supervision(now=NOW, cases_per_station=30, seed=7, password="correct horse battery") == 30
    assert (
        seed_supervision(now=NOW, cases_per_station=30, seed=7, password="correct horse battery") == 0
    )  # idempotent
    with db.transaction() as s:
        count = lambda model: s.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
        assert count(SupervisionCase) == 30
        assert count(PropertyItem) > 5
        assert count(CaseBreach) > 0
        assert count(QualityEntry) == len(scores.derive(s, now=NOW))
        months = s.scalars(select(QualityEntry.month).distinct()).all()
        assert len(months) > 1  # spread over the year
        rec = ledger.reconcile(s, Actor("legal", Role.LEGAL_SUPERVISOR), now=NOW)
        assert rec.expected_in_store > 0
