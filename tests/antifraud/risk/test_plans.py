"""Risk events and warning plans: one plan per person per day unless new evidence, the step ladder,
the outbox the channels drain, and everything audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.antifraud.outcomes.actions import do_note_report, do_record_outcomes
from pingan.antifraud.risk.actions import FlagIn, do_claim_pending_plans, do_mark_plan_step, do_record_flags
from pingan.antifraud.risk.choices import PlanStatus, StepChannel, StepState
from pingan.antifraud.risk.model import RiskEvent, WarningPlan
from pingan.core import db
from pingan.core.audit import AuditEntry, verify_chain
from pingan.core.auth import User
from pingan.core.errors import Conflict
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor
from tests.conftest import bearer

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
SCREENING = Actor.system("screening")
CHANNELS = Actor.system("channels")


def flag(tx_id: int, *, at: datetime = T0, payee: str = "card-mule-1", reasons: list[str] | None = None,
         amount: int = 800_000, elderly: bool = False, person: str = "victim-wang") -> FlagIn:  # fmt: skip
    return FlagIn(
        tx_id=tx_id, occurred_at=at, person_key=person, payer_account="card-wang", payee_account=payee,
        payer_bank="ICBC", payee_bank="CCB", amount_fen=amount, amount_at_risk_fen=amount,
        reasons=reasons or ["WL-PAYEE:reported_payee"], typology_guess="冒充公检法", elderly=elderly,
        phone=protect(PiiKind.PHONE, "13800000000"), home_station="WH-YL",
    )  # fmt: skip


def record(*flags: FlagIn) -> None:
    with db.transaction() as s:
        do_record_flags(s, list(flags), engine="test", rules_version="t", actor=SCREENING, now=T0)


def plans() -> list[WarningPlan]:
    with db.transaction() as s:
        found = list(s.execute(select(WarningPlan).order_by(WarningPlan.id)).scalars())
        for p in found:
            _ = p.steps  # loaded while the session is open
        return found


def test_a_flag_becomes_a_risk_event_and_a_plan_of_sms_then_voice(database: str) -> None:
    record(flag(1))
    with db.transaction() as s:
        plan = s.execute(select(WarningPlan)).scalar_one()
        assert [(st.channel, st.state) for st in plan.steps] == [
            (StepChannel.SMS, StepState.DUE), (StepChannel.VOICE, StepState.DUE)
        ]  # fmt: skip
        assert s.execute(select(RiskEvent.plan_id)).scalar_one() == plan.id


def test_the_same_evidence_within_24_hours_joins_the_existing_plan(database: str) -> None:
    record(flag(1), flag(2, at=T0 + timedelta(hours=3)))
    assert len(plans()) == 1


def test_new_evidence_within_24_hours_opens_a_new_plan(database: str) -> None:
    record(flag(1), flag(2, at=T0 + timedelta(hours=3), payee="card-mule-2"))
    assert len(plans()) == 2


def test_the_same_evidence_after_24_hours_opens_a_new_plan(database: str) -> None:
    record(flag(1), flag(2, at=T0 + timedelta(hours=25)))
    assert len(plans()) == 2


def test_recording_the_same_transaction_twice_changes_nothing(database: str) -> None:
    record(flag(1))
    record(flag(1))
    with db.transaction() as s:
        assert s.execute(select(func.count(RiskEvent.id))).scalar_one() == 1


def test_a_large_amount_or_an_elderly_payer_adds_a_home_visit_after_the_call(database: str) -> None:
    record(flag(1, amount=6_000_000), flag(2, person="grandma-li", amount=50_000, elderly=True),
           flag(3, person="young-zhao", amount=50_000))  # fmt: skip
    ladders = [[st.channel for st in p.steps] for p in plans()]
    assert ladders == [
        [StepChannel.SMS, StepChannel.VOICE, StepChannel.HOME_VISIT],
        [StepChannel.SMS, StepChannel.VOICE, StepChannel.HOME_VISIT],
        [StepChannel.SMS, StepChannel.VOICE],
    ]


def test_an_unanswered_call_makes_the_home_visit_due(database: str) -> None:
    record(flag(1, elderly=True))
    with db.transaction() as s:
        [plan] = do_claim_pending_plans(s, limit=10, worker="voice-1", now=T0)
        do_mark_plan_step(
            s, plan_id=plan.id, channel=StepChannel.SMS, state=StepState.DELIVERED, actor=CHANNELS, now=T0
        )
        do_mark_plan_step(
            s, plan_id=plan.id, channel=StepChannel.VOICE, state=StepState.UNANSWERED, actor=CHANNELS, now=T0
        )
    [plan] = plans()
    assert plan.status == PlanStatus.PENDING
    assert plan.steps[2].state == StepState.DUE


def test_an_answered_call_skips_the_home_visit_and_ends_the_plan(database: str) -> None:
    record(flag(1, elderly=True))
    [plan] = plans()
    with db.transaction() as s:
        do_mark_plan_step(
            s, plan_id=plan.id, channel=StepChannel.SMS, state=StepState.DELIVERED, actor=CHANNELS, now=T0
        )
        done = do_mark_plan_step(
            s, plan_id=plan.id, channel=StepChannel.VOICE, state=StepState.ANSWERED, actor=CHANNELS, now=T0
        )
        assert done.status == PlanStatus.DONE and done.steps[2].state == StepState.SKIPPED
        assert done.first_contact_at == T0


def test_a_claimed_plan_is_not_claimed_again_until_its_lease_runs_out(database: str) -> None:
    record(flag(1))
    with db.transaction() as s:
        assert len(do_claim_pending_plans(s, limit=10, worker="a", now=T0)) == 1
    with db.transaction() as s:
        assert do_claim_pending_plans(s, limit=10, worker="b", now=T0 + timedelta(minutes=1)) == []
    with db.transaction() as s:
        assert len(do_claim_pending_plans(s, limit=10, worker="b", now=T0 + timedelta(minutes=6))) == 1


def test_a_step_that_ended_cannot_be_reported_again(database: str) -> None:
    record(flag(1))
    [plan] = plans()
    with db.transaction() as s:
        do_mark_plan_step(
            s, plan_id=plan.id, channel=StepChannel.SMS, state=StepState.DELIVERED, actor=CHANNELS
        )
    with pytest.raises(Conflict), db.transaction() as s:
        do_mark_plan_step(s, plan_id=plan.id, channel=StepChannel.SMS, state=StepState.FAILED, actor=CHANNELS)


def test_every_event_and_plan_is_audited_and_the_chain_verifies(database: str) -> None:
    record(flag(1), flag(2, payee="card-mule-2"))
    with db.transaction() as s:
        actions = list(s.execute(select(AuditEntry.action)).scalars())
        assert actions.count("risk.record_event") == 2 and actions.count("risk.create_plan") == 2
        assert verify_chain(s).ok


def test_a_later_report_by_a_warned_person_is_recorded_as_the_plans_outcome(database: str) -> None:
    record(flag(1))
    with db.transaction() as s:
        assert (
            do_note_report(
                s, person_key="victim-wang", reported_at=T0 + timedelta(days=3), report_id=7, actor=SCREENING
            )
            == 1
        )
        assert do_record_outcomes(s, actor=SCREENING, now=T0 + timedelta(days=31)) == 1


def test_the_queue_timeline_monthly_and_rule_pages_render(client: TestClient, analyst_zhang: User) -> None:
    record(flag(1))
    h = bearer(analyst_zhang)
    assert "victim-wang"[:12] in client.get("/risk/events", headers=h).text
    timeline = client.get("/risk/persons/victim-wang", headers=h).text
    assert "warning plan" in timeline and "phone 138****0000" in timeline
    monthly = client.get("/risk/monthly?month=2026-03", headers=h).text
    assert "2026-03" in monthly and 'id="monthly-charts"' in monthly
    assert "WL-PAYEE" in client.get("/risk/rules", headers=h).text


def test_the_queue_page_listens_for_new_risk_events_on_the_live_stream(
    client: TestClient, analyst_zhang: User
) -> None:
    record(flag(1))
    page = client.get("/risk/events", headers=bearer(analyst_zhang)).text
    assert 'sse-connect="/live/stream?topics=risk"' in page
    assert 'id="risk-rows" sse-swap="risk" hx-swap="afterbegin"' in page
    assert "victim-wang"[:12] in page  # the latest events, rendered with the page


def test_an_analyst_lists_and_delists_an_account_with_reasons(
    client: TestClient, analyst_zhang: User
) -> None:
    h = bearer(analyst_zhang)
    made = client.post("/api/v1/watchlist", headers=h, json={
        "card_number": "6222020200112233446", "bank": "ICBC", "source": "traced", "evidence": {"trace": "report 7"}})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["account_masked"] == "6222 **** **** 3446"
    gone = client.post(
        f"/api/v1/watchlist/{made.json()['id']}/delist", headers=h, json={"reason": "appeal upheld"}
    )
    assert gone.json()["status"] == "delisted"
