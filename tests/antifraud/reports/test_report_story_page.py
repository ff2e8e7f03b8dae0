"""A report's whole story on one page: its orders at each bank, the findings and their decisions,
the trace, the warnings sent to the victim, the linked cases, and a timeline newest first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders import actions
from pingan.antifraud.orders.choices import FindingKind
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.antifraud.warnings.jobs import WarningSender
from pingan.antifraud.warnings.outbox import OutboxSmsChannel, OutboxVoiceChannel
from pingan.core import clock, db
from pingan.core.auth import User
from pingan.core.pii import PiiKind, protect, pseudonym
from tests.antifraud.orders.conftest import execute_at_bank, mule_report, register
from tests.antifraud.warnings.conftest import accept, wang_request
from tests.conftest import bearer
from tests.factories import VICTIM_WANG, card

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _en(user: User) -> dict[str, str]:
    """The user's credentials, reading the pages in English (the test reads the English text)."""
    return {**bearer(user), "Accept-Language": "en"}


def _orders() -> list[RestrictionOrder]:
    with db.read_transaction() as s:
        return list(s.execute(select(RestrictionOrder).order_by(RestrictionOrder.id)).scalars())


def _section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"')[1].split("</table>")[0]


def test_the_report_page_lists_each_order_with_its_bank_name_and_amount_in_yuan(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    with clock.frozen(T0):
        report_id = register(mule_report(1, banks=("CCB", "ICBC")))
        ccb = next(o for o in _orders() if o.bank_code == "CCB")
        execute_at_bank(ccb.id)  # the bank holds 3,000 yuan
    page = client.get(f"/reports/{report_id}", headers=_en(officer_li)).text
    orders = _section(page, "report-orders")
    assert "中国建设银行" in orders and "中国工商银行" in orders
    assert "¥3,000.00" in orders and "300000" not in orders
    assert "2026-11-20 16:00" in orders  # acknowledged at T0, in Beijing time


def test_the_report_page_shows_each_finding_with_who_decided_it_when_and_why(
    client: TestClient, station_yulin: object, supervisor_liu: User
) -> None:
    report_id = register(mule_report(1))
    with db.read_transaction() as s:
        finding_id = s.execute(select(PoliceFinding.id)).scalar_one()
    with clock.frozen(T0):
        client.post(
            f"/api/v1/findings/{finding_id}/decision",
            json={"approve": False, "note": "账户已销户"},
            headers=_en(supervisor_liu),
        )
    findings = _section(
        client.get(f"/reports/{report_id}", headers=_en(supervisor_liu)).text, "report-findings"
    )
    assert "supervisor_liu" in findings
    assert "2026-11-20 16:00" in findings and "账户已销户" in findings


def test_the_report_page_shows_the_warnings_sent_to_the_victim_and_no_reach_for_an_outbox_text(
    client: TestClient, station_yulin: object, analyst_zhang: User
) -> None:
    report_id = register(mule_report(1))
    accept(wang_request(person_pseudonym=pseudonym(PiiKind.NATIONAL_ID, VICTIM_WANG["national_id"])))
    asyncio.run(WarningSender(OutboxSmsChannel(), OutboxVoiceChannel()).send_sms_batch())
    warnings = _section(
        client.get(f"/reports/{report_id}", headers=_en(analyst_zhang)).text, "report-warnings"
    )
    assert "SMS" in warnings and "recorded, not sent" in warnings
    assert ">yes<" not in warnings


def test_the_report_page_links_the_reports_that_share_a_payee(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    first = register(mule_report(1))
    second = mule_report(1)
    second["external_ref"] = "510107-2026-999999"
    register(second)
    linked = _section(client.get(f"/reports/{first}", headers=_en(officer_li)).text, "linked-reports")
    assert "510107-2026-999999" in linked


def test_the_timeline_holds_everything_newest_first(
    client: TestClient, station_yulin: object, officer_li: User
) -> None:
    with clock.frozen(T0):
        report_id = register(mule_report(1))
        execute_at_bank(_orders()[0].id)
    timeline = _section(client.get(f"/reports/{report_id}", headers=_en(officer_li)).text, "report-timeline")
    # The fraud began at 09:15, the transfer at 09:40, the report at 14:02 (Beijing), the order at T0.
    assert (
        timeline.index("held ¥3,000.00")
        < timeline.index("Reported to the police")
        < timeline.index("Fraud began")
    )
    assert timeline.index("Transfer 1") < timeline.index("Fraud began")


def test_the_trace_section_links_to_the_trace_for_an_analyst_only(
    client: TestClient, station_yulin: object, officer_li: User, analyst_zhang: User
) -> None:
    report_id = register(mule_report(1))
    assert (
        f'href="/fraud-reports/{report_id}/trace"'
        in client.get(f"/reports/{report_id}", headers=_en(analyst_zhang)).text
    )
    assert "/trace" not in client.get(f"/reports/{report_id}", headers=_en(officer_li)).text


def test_the_trace_section_sums_the_accounts_and_amounts_an_analysts_trace_finding_names(
    client: TestClient, station_yulin: object, analyst_zhang: User
) -> None:
    report_id = register(mule_report(1))
    qian = protect(PiiKind.CARD, card("622202", 4242))
    zhao = protect(PiiKind.CARD, card("622848", 4343))
    draft = actions.FindingDraft(
        report_id=report_id,
        case_ref="510107-2026-000001",
        evidence={"trace": "fifo"},
        accounts=[(actions.AccountRef("ICBC", qian), 500_000), (actions.AccountRef("ABC", zhao), 200_000)],
        actor=analyst_zhang.actor(),
        kind=FindingKind.TRACE,
    )
    with db.transaction() as s:
        actions.check_draft_finding(draft)
        actions.do_draft_finding(s, draft)
    page = client.get(f"/reports/{report_id}", headers=_en(analyst_zhang)).text
    summary = page.split('id="trace-summary"')[1].split("</p>")[0]
    assert "1 trace findings name 2 accounts" in summary and "¥7,000.00" in summary
