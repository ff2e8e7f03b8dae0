"""The officer-safety alarm, live: each alert raised (`safety.alert`), in any process, goes on top of
every open page of a dispatcher or supervisor, and the live map redraws its alert rings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core.live import Change, Message, Topic, render_fragment
from pingan.core.roles import Actor
from pingan.sensors.actions import ALERT_ACTION, ALERT_CLOSE_ACTION, READERS
from pingan.sensors.model import SafetyAlert


def render(session: Session, actor: Actor, changes: list[Change]) -> list[Message]:
    """One `safety` message: an alarm per newly raised alert (a closed alert only redraws the map)."""
    raised = sorted({i for c in changes if c.action == ALERT_ACTION for i in c.ids})
    alerts = (
        list(
            session.execute(
                select(SafetyAlert).where(SafetyAlert.id.in_(raised)).order_by(SafetyAlert.id.desc())
            ).scalars()
        )
        if raised
        else []
    )
    return [Message("safety", "".join(render_fragment("_safety_alarm.html", a=a) for a in alerts))]


# Every page, not only those that ask: a dispatcher must see an officer in danger wherever they are.
TOPIC = Topic(
    name="safety", roles=READERS, actions=(ALERT_ACTION, ALERT_CLOSE_ACTION), render=render, everywhere=True
)
