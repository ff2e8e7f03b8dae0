"""Live report list: a report registered or opened in any process goes on top of the open lists.

A report reaches only the readers whose station view holds it (`core.scoping`), and its row carries
no personal data: the case number, time, typology, station and amount.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.antifraud.reports.actions import REPORT_READERS
from pingan.antifraud.reports.choices import ReportIntake
from pingan.antifraud.reports.model import FraudReport
from pingan.core.live import Change, Message, Topic, render_fragment
from pingan.core.org import all_stations
from pingan.core.roles import Actor
from pingan.core.scoping import station_condition


def render(session: Session, actor: Actor, changes: list[Change]) -> list[Message]:
    """One `report` message with the new reports' rows (`_live_report_row.html`), newest first."""
    ids = sorted({i for c in changes for i in c.ids})
    if not ids:
        return []
    reports = list(
        session.execute(
            select(FraudReport)
            .where(FraudReport.id.in_(ids), station_condition(actor, FraudReport.station_code))
            .order_by(FraudReport.id.desc())
        ).scalars()
    )
    if not reports:
        return []
    names = {s.code: s.name for s in all_stations(session)}
    rows = [
        render_fragment("_live_report_row.html", r=r, station_name=names.get(r.station_code, ""))
        for r in reports
    ]
    return [Message("report", "".join(rows))]


TOPIC = Topic(
    name="reports",
    roles=REPORT_READERS,
    actions=("fraud_report.register", "fraud_report.open"),
    render=render,
)
ATTENTION_ACTIONS = ("fraud_report.open", "fraud_report.confirm")


def awaiting_confirmation(session: Session, actor: Actor) -> int:
    """Reports of `actor`'s station that wait for an officer's confirmation (受案登记) and that someone
    else opened: an officer does not confirm their own."""
    q = (
        select(func.count())
        .select_from(FraudReport)
        .where(
            FraudReport.intake == ReportIntake.AWAITING_OFFICER,
            station_condition(actor, FraudReport.station_code),
            FraudReport.created_by != actor.username,
        )
    )
    return int(session.execute(q).scalar_one())
