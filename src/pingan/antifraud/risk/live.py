"""Live risk-event queue: each event screening records, in any process, goes on top of the open queue.

An event reaches only the readers whose station view holds it (`queries.events_in_view`), as on the page.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pingan.antifraud.risk import queries
from pingan.antifraud.risk.choices import PlanStatus
from pingan.antifraud.risk.model import RiskEvent, WarningPlan
from pingan.core.live import Change, Message, Topic, render_fragment
from pingan.core.roles import ANTIFRAUD_STAFF, Actor

OPEN_PLANS = (PlanStatus.PENDING, PlanStatus.CLAIMED, PlanStatus.WAITING)


def render(session: Session, actor: Actor, changes: list[Change]) -> list[Message]:
    """One `risk` message with the new events' rows (`_risk_event_row.html`), newest first."""
    ids = sorted({i for c in changes for i in c.ids})
    if not ids:
        return []
    events = list(
        session.execute(
            select(RiskEvent)
            .where(RiskEvent.id.in_(ids), queries.events_in_view(actor))
            .order_by(RiskEvent.id.desc())
        ).scalars()
    )
    if not events:
        return []
    rows = [
        render_fragment("_risk_event_row.html", e=e, reasons_in_words=queries.reasons_in_words)
        for e in events
    ]
    return [Message("risk", "".join(rows))]


TOPIC = Topic(name="risk", roles=ANTIFRAUD_STAFF, actions=("risk.record_event",), render=render)
ATTENTION_ACTIONS = ("risk.",)


def open_events(session: Session, actor: Actor) -> int:
    """Risk events in `actor`'s view whose warning has not ended: no plan yet, or one still under way."""
    q = (
        select(func.count())
        .select_from(RiskEvent)
        .outerjoin(WarningPlan, WarningPlan.id == RiskEvent.plan_id)
        .where(
            queries.events_in_view(actor),
            or_(RiskEvent.plan_id.is_(None), WarningPlan.status.in_(OPEN_PLANS)),
        )
    )
    return int(session.execute(q).scalar_one())
