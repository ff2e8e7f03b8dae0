"""The demo's year of supervised cases: written through the actions, with late and missing steps
that show as breaches, reconciliation lines and deductions; every step that needs approval requested
by one user and approved by another in the queue."""

from __future__ import annotations

from sqlalchemy import func, select

from pingan.core import db
from pingan.core.org import Station
from pingan.core.roles import Actor, Role
from pingan.supervision import actions, ledger, queries, scores
from pingan.supervision.choices import PropertyState, RequestKind, RequestState
from pingan.supervision.model import (
    ApprovalRequest,
    CaseBreach,
    CaseDeadline,
    CaseEventRow,
    DigestLineRow,
    PropertyItem,
    QualityEntry,
    SupervisionCase,
)
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
        # As after the daily sweep: no deadline of an open case has passed unmet without a breach on record.
        assert actions.cases_to_sweep(s, now=NOW) == []
        # What stays overdue is only what the seed leaves undone on purpose (a family never told, an
        # item never registered): custody ends at the transfer, a seizure with the decision, a
        # detention with the release when the arrest is not approved.
        overdue = s.scalars(
            select(CaseDeadline.rule_id).where(CaseDeadline.met_at.is_(None), CaseDeadline.due_at < NOW)
        ).all()
        assert set(overdue) <= {"property.registration", "cpl.detention_family_notice"}, overdue
        # And as after the morning's digest: each recipient has today's lines, those of their cases.
        sent = s.execute(
            select(DigestLineRow.recipient, func.count()).group_by(DigestLineRow.recipient)
        ).all()
        assert dict(sent) == {who: len(lines) for who, lines in queries.digest(s, now=NOW).items()}
        assert {who for who, _n in sent} <= {"case_supervisor", "case_wh-yl"}


def test_every_seeded_step_needing_approval_was_approved_in_the_queue_by_another_user(
    station_yulin: Station,
) -> None:
    seed_supervision(now=NOW, cases_per_station=30, seed=7, password="correct horse battery")
    with db.transaction() as s:
        steps = s.scalars(select(CaseEventRow).where(CaseEventRow.kind.in_(actions.NEEDS_APPROVAL))).all()
        approved = {
            r.result_event_id: r
            for r in s.scalars(select(ApprovalRequest).where(ApprovalRequest.state == RequestState.APPROVED))
        }
        assert steps
        for step in steps:
            req = approved[step.id]
            assert step.requested_by == req.requested_by != req.decided_by == step.approved_by
        released = s.scalars(select(PropertyItem).where(PropertyItem.state == PropertyState.RELEASED)).all()
        assert released
        for item in released:
            [req] = s.scalars(
                select(ApprovalRequest).where(
                    ApprovalRequest.item_id == item.id, ApprovalRequest.kind == RequestKind.RELEASE
                )
            ).all()
            assert req.state is RequestState.USED and req.decided_by != item.custodian  # carried out once
