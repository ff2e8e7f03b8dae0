"""Key 2 on a warning call ("I have already transferred"): open a fraud report from the risk event.

The report goes through the reports domain's one write path (`antifraud.reports.actions.register_report`):
victim = the payer the plan warned, transfers = the flagged transfers of the plan's risk events
(payer card, payee account and bank, amount, time), so that once registered the stop-payment robot
stops the payees' accounts exactly as for a report taken at a station.

Why the report waits for an officer (`awaiting_officer=True`) instead of starting the robot at once:
a stop-payment restricts a third party's account, and its legal basis is the report the receiving
officer registered (受案登记, 公安机关办理刑事案件程序规定 art. 169-171) naming that account. A key
press is not that: whoever answered the phone may have pressed it, or pressed it by mistake, and the
transfers it points at were chosen by a screening model, which is never a basis for force (DESIGN.md).
So the report is opened with its source recorded (the call record and the key) and shown at the top
of the home station's report-intake task; the officer calls the person back, and confirming the report
(`do_confirm_report`) is what registers it and starts the robot. The cost is the officer's minutes
before the first stop-payment, which the intake task's 30-minute deadline bounds; the gain is that no
account is restricted on a key press alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pingan.antifraud.registry.actions import account_by_number, holder_by_national_id
from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports.choices import Typology
from pingan.antifraud.reports.schemas import ReportIn
from pingan.antifraud.risk.actions import events_of_plan
from pingan.antifraud.warnings import risk_link
from pingan.antifraud.warnings.model import WarningDelivery, WarningMessage
from pingan.core import audit, clock
from pingan.core.errors import DomainError
from pingan.core.pii import PiiKind, decrypt
from pingan.core.roles import Actor

if TYPE_CHECKING:  # the report comes from reports' actions; its type only annotates
    from pingan.antifraud.reports.model import FraudReport

# The platform itself opens the report; the confirming officer becomes its receiving officer.
OPENER = "warning-call"


@dataclass(frozen=True)
class OpenedReport:
    """The report a key-2 call opened, or why none could be (the intake task then says so)."""

    report: FraudReport | None
    problem: str | None = None


def call_source(message: WarningMessage, digit: str) -> str:
    """The report's source: the call record and the key pressed."""
    return f"warning_call:{message.message_key} key {digit}"


def _report_in(session: Session, delivery: WarningDelivery, message: WarningMessage) -> ReportIn | str:
    """The report to open for the delivery's person from its plan's risk events, or what is missing."""
    plan_id = risk_link.risk_plan_id(delivery)
    if plan_id is None:
        return "no risk event: the warning did not come from screening"
    risk_events = events_of_plan(session, plan_id)
    if not risk_events:
        return f"risk plan {plan_id} has no risk events"
    if delivery.phone is None:
        return "no phone number of the person"
    holder = holder_by_national_id(session, delivery.person_pseudonym)
    if holder is None:
        return "the payer is not in the account registry (name and national ID unknown)"
    transfers: list[dict[str, object]] = []
    skipped: list[str] = []
    for e in risk_events:
        payer = account_by_number(session, e.payer_bank, e.payer_account)
        payee = account_by_number(session, e.payee_bank, e.payee_account)
        if payer is None or payee is None:
            # The robot can only stop an account whose number it can name to the bank.
            skipped.append(
                f"tx {e.tx_id}: {'payer' if payer is None else 'payee'} account not in the registry"
            )
            continue
        transfers.append(
            {
                "occurred_at": e.occurred_at,
                "amount_fen": e.amount_fen,
                "payer_card": decrypt(PiiKind.CARD, payer.account.cipher),
                "payer_bank": e.payer_bank,
                "payee_account": decrypt(PiiKind.CARD, payee.account.cipher),
                "payee_bank": e.payee_bank,
            }
        )
    if not transfers:
        return "; ".join(skipped)
    typology = delivery.typology if delivery.typology in set(Typology) else Typology.OTHER.value
    narrative = (
        "预警电话中按2键（我已转账）。Opened from a warning call: the person pressed 2 (I have already "
        f"transferred). Flagged transfers of risk plan {plan_id}; reasons: {delivery.reasons}."
    )
    if skipped:
        narrative += " Not included: " + "; ".join(skipped) + "."
    return ReportIn.model_validate(
        {
            "victim": {
                "name": decrypt(PiiKind.NAME, holder.name.cipher),
                "national_id": decrypt(PiiKind.NATIONAL_ID, holder.national_id.cipher),
                "phone": decrypt(PiiKind.PHONE, delivery.phone.cipher),
            },
            "fraud_started_at": min(e.occurred_at for e in risk_events),
            # The call's start: the same body for the same call, so a replay is recognised by its key.
            "reported_at": message.claimed_at or clock.now(),
            "station_code": delivery.home_station_code,
            "officer": OPENER,
            "typology": typology,
            "narrative": narrative,
            "transfers": transfers,
        }
    )


def do_open_report_for_key_2(
    session: Session, delivery: WarningDelivery, message: WarningMessage, *, actor: Actor
) -> OpenedReport:
    """Open (in a savepoint) the report awaiting an officer for a key-2 call; idempotent per call record.

    A report that cannot be built or is refused changes nothing here and comes back as a problem:
    the call's result is recorded regardless, and the intake task carries the problem to the officer.
    """
    digit = message.digit or "2"
    try:
        with session.begin_nested():
            built = _report_in(session, delivery, message)
            if isinstance(built, str):
                return OpenedReport(None, built)
            audit.record(
                session,
                actor=actor,
                action="warning.report_from_call",
                object_type="warning_message",
                object_id=message.id,
                purpose=f"key {digit}: the person says they already transferred; registry read to open a report",
                detail={"plan_id": delivery.plan_id, "transfers": len(built.transfers)},
            )
            item = report_actions.NewReport(
                report=built,
                actor=actor,
                idempotency_key=f"warning-call:{message.message_key}",
                source=call_source(message, digit),
                awaiting_officer=True,
            )
            outcome = report_actions.register_report(session, item)
    except (DomainError, ValueError) as exc:  # ValueError: pydantic's ValidationError
        return OpenedReport(None, f"report refused: {exc}"[:300])
    return OpenedReport(outcome.report)
