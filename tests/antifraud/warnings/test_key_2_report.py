"""Key 2 on a warning call ("I have already transferred"), end to end against a real SIPp UAS that
sends RFC 2833 digit 2: a fraud report of the flagged transfers is opened through the reports
domain's write path, waits for the receiving officer (no stop-payment on a key press alone), and the
officer's confirmation starts the stop-payment robot on the payees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders import robot
from pingan.antifraud.orders.choices import OrderKind, OrderReason
from pingan.antifraud.orders.model import RestrictionOrder
from pingan.antifraud.registry.actions import KycRecord, do_upsert_account
from pingan.antifraud.registry.choices import AccountKind, AccountStatus
from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports.choices import ReportIntake
from pingan.antifraud.reports.model import FraudReport
from pingan.antifraud.risk.actions import FlagIn, do_record_flags
from pingan.antifraud.warnings import actions
from pingan.antifraud.warnings.channels import SendResult
from pingan.antifraud.warnings.choices import ChannelKind, MessageState, Priority
from pingan.antifraud.warnings.jobs import WarningSender, drain_risk_outbox
from pingan.antifraud.warnings.outbox import OutboxSmsChannel
from pingan.antifraud.warnings.visits.choices import VisitKind
from pingan.antifraud.warnings.visits.model import HomeVisitTask
from pingan.antifraud.warnings.voice_sip import SipTimers, SipVoiceChannel
from pingan.core import audit, clock, db
from pingan.core.auth import User
from pingan.core.errors import Conflict, Forbidden
from pingan.core.pii import PiiKind, protect, pseudonym
from pingan.core.roles import Actor, Role
from tests.antifraud.warnings.conftest import load_delivery
from tests.conftest import bearer
from tests.factories import MULE_CARD_CCB, VICTIM_WANG, WANG_CARD, national_id
from tests.peers import SippUas

pytestmark = pytest.mark.services
FAST = SipTimers(invite_timeout=1.0, ring_timeout=0.8, digit_timeout=2.0)
REGISTRY = Actor.system("test-kyc")
SCREENING = Actor.system("screening")
OFFICER_LI = Actor(username="officer_li", role=Role.OFFICER)


@pytest.fixture(autouse=True)
def _robot_installed() -> None:
    """The reactions every writing process installs (pingan.web.reactions): the robot among them."""
    robot.install()


@pytest.fixture
def wang_paying_a_mule(station_yulin: object) -> int:
    """Wang (in the bank registry with her card) flagged paying 8,000 yuan to a registered mule card at
    CCB; returns the risk plan id."""
    with db.transaction() as s:
        for number, bank, nid, name in (
            (WANG_CARD, "CMB", VICTIM_WANG["national_id"], VICTIM_WANG["name"]),
            (MULE_CARD_CCB, "CCB", national_id("51010719900101003"), "赵六"),
        ):
            do_upsert_account(
                s,
                KycRecord(nid, name, bank, number, AccountKind.DEBIT, date(2020, 1, 1), AccountStatus.ACTIVE),
                actor=REGISTRY,
            )
        phone = protect(PiiKind.PHONE, VICTIM_WANG["phone"])
        flag = FlagIn(
            tx_id=7001,
            occurred_at=clock.now() - timedelta(seconds=30),
            person_key=pseudonym(PiiKind.NATIONAL_ID, VICTIM_WANG["national_id"]),
            payer_account=pseudonym(PiiKind.CARD, WANG_CARD),
            payee_account=pseudonym(PiiKind.CARD, MULE_CARD_CCB),
            payer_bank="CMB",
            payee_bank="CCB",
            amount_fen=800_000,
            amount_at_risk_fen=800_000,
            reasons=["WL-PAYEE:reported_payee"],
            typology_guess="冒充公检法",
            elderly=False,
            phone=phone,
            home_station="WH-YL",
        )
        result = do_record_flags(s, [flag], engine="test", rules_version="t", actor=SCREENING)
        return result.plans_created[0].id


def call_wang(sipp_factory: Callable[..., SippUas], digits: str) -> None:
    """Drain the plan into a delivery and place its call to a SIPp UAS that presses `digits`."""
    uas = sipp_factory(digits=digits)
    assert drain_risk_outbox() == 1
    sender = WarningSender(OutboxSmsChannel(), SipVoiceChannel(("127.0.0.1", uas.port), timers=FAST))

    async def go() -> None:
        await sender.place_calls_batch()
        await sender.aclose()

    asyncio.run(go())


def the_report() -> FraudReport:
    with db.transaction() as s:
        report = s.execute(select(FraudReport)).scalar_one()
        _ = [t.payee_bank for t in report.transfers]
        return report


def orders() -> list[RestrictionOrder]:
    with db.transaction() as s:
        return list(s.execute(select(RestrictionOrder)).scalars())


def test_key_2_opens_a_report_of_the_flagged_transfer_awaiting_an_officer(
    sipp_factory: Callable[..., SippUas], wang_paying_a_mule: int
) -> None:
    call_wang(sipp_factory, "2")

    report = the_report()
    assert report.intake is ReportIntake.AWAITING_OFFICER
    assert report.victim_id.pseudonym == pseudonym(PiiKind.NATIONAL_ID, VICTIM_WANG["national_id"])
    [t] = report.transfers
    assert (t.payee_bank, t.payee_account.pseudonym, t.amount_fen) == (
        "CCB",
        pseudonym(PiiKind.CARD, MULE_CARD_CCB),
        800_000,
    )
    assert t.payer_card.pseudonym == pseudonym(PiiKind.CARD, WANG_CARD)
    assert report.source == f"warning_call:risk:{wang_paying_a_mule}:voice:1 key 2"
    assert report.station_code == "WH-YL"
    assert load_delivery(f"risk:{wang_paying_a_mule}").priority is Priority.RAISED


def test_no_stop_payment_is_issued_on_the_key_press_alone(
    sipp_factory: Callable[..., SippUas], wang_paying_a_mule: int
) -> None:
    call_wang(sipp_factory, "2")

    assert robot.sweep_reports() == 0
    assert orders() == []


def test_the_home_station_gets_an_urgent_intake_task_naming_the_report(
    sipp_factory: Callable[..., SippUas], wang_paying_a_mule: int
) -> None:
    call_wang(sipp_factory, "2")

    with db.transaction() as s:
        task = s.execute(select(HomeVisitTask)).scalar_one()
    report = the_report()
    assert task.kind is VisitKind.REPORT_INTAKE and task.station_code == "WH-YL"
    assert task.report_id == report.id
    assert task.deadline_at - task.created_at == timedelta(minutes=30)
    assert f"report_awaiting_officer:{report.external_ref}" in task.reasons


def test_the_officers_confirmation_registers_the_report_and_stops_the_payee(
    sipp_factory: Callable[..., SippUas], wang_paying_a_mule: int
) -> None:
    call_wang(sipp_factory, "2")

    with db.transaction() as s:
        report = report_actions.get_report(s, the_report().id)
        report_actions.check_confirm_report(report, actor=OFFICER_LI)
        report_actions.do_confirm_report(s, report, actor=OFFICER_LI)

    [order] = orders()  # the robot ran on the event of the confirmation's commit
    assert (order.kind, order.reason) == (OrderKind.STOP_PAYMENT, OrderReason.DIRECT_PAYEE)
    assert (order.bank_code, order.account.pseudonym) == ("CCB", pseudonym(PiiKind.CARD, MULE_CARD_CCB))
    report = the_report()
    assert (report.intake, report.confirmed_by, report.officer) == (
        ReportIntake.REGISTERED,
        "officer_li",
        "officer_li",
    )
    with db.transaction() as s:
        assert audit.verify_chain(s).ok


def test_the_system_cannot_confirm_a_report_itself(
    sipp_factory: Callable[..., SippUas], wang_paying_a_mule: int
) -> None:
    call_wang(sipp_factory, "2")

    with db.transaction() as s, pytest.raises(Forbidden):
        report_actions.check_confirm_report(
            report_actions.get_report(s, the_report().id), actor=Actor.system("robot")
        )


def test_a_report_is_confirmed_once(sipp_factory: Callable[..., SippUas], wang_paying_a_mule: int) -> None:
    call_wang(sipp_factory, "2")
    with db.transaction() as s:
        report = report_actions.get_report(s, the_report().id)
        report_actions.do_confirm_report(s, report, actor=OFFICER_LI)

    with db.transaction() as s, pytest.raises(Conflict):
        report_actions.check_confirm_report(report_actions.get_report(s, the_report().id), actor=OFFICER_LI)


def test_key_1_opens_no_report(sipp_factory: Callable[..., SippUas], wang_paying_a_mule: int) -> None:
    call_wang(sipp_factory, "1")

    with db.transaction() as s:
        assert s.execute(select(FraudReport)).first() is None


def test_the_intake_page_shows_the_report_awaiting_the_officer_whose_confirmation_starts_the_robot(
    client: TestClient, officer_li: User, wang_paying_a_mule: int
) -> None:
    assert drain_risk_outbox() == 1
    key = f"risk:{wang_paying_a_mule}:voice:1"
    with db.transaction() as s:
        [claimed] = actions.do_claim_due(s, kind=ChannelKind.VOICE, limit=5, actor=SCREENING)
        assert claimed.message_key == key
    with db.transaction() as s:  # the call's result as the SIP channel reports key 2
        actions.do_record_call_result(
            s, SendResult(key, MessageState.ANSWERED, digit="2"), voice_channel="sip", actor=SCREENING
        )

    page = client.get("/warnings/visits", headers=bearer(officer_li))
    report = the_report()
    assert page.status_code == 200
    assert report.external_ref in page.text and "待受案确认 awaiting officer" in page.text
    with db.transaction() as s:
        task_id = s.execute(select(HomeVisitTask.id)).scalar_one()
    r = client.post(
        f"/warnings/visits/{task_id}/confirm-report", headers=bearer(officer_li), follow_redirects=False
    )

    assert r.status_code == 303 and "error" not in r.headers["location"]
    assert the_report().confirmed_by == "officer_li"
    assert [o.reason for o in orders()] == [OrderReason.DIRECT_PAYEE]
