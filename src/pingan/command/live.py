"""Live breach alarm: each `incident.breach` the sweep raises, in any process, goes on top of the
dispatcher's queue page as an alert. A reader sees only the incidents of their station view."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.command.actions import READERS
from pingan.command.jobs import BREACH_ACTION
from pingan.command.model import Incident
from pingan.core.live import Change, Message, Topic, render_fragment
from pingan.core.roles import Actor
from pingan.core.scoping import station_condition


def render(session: Session, actor: Actor, changes: list[Change]) -> list[Message]:
    """One `breach` message with an alert per newly breached incident in the reader's view."""
    ids = sorted({i for c in changes for i in c.ids})
    if not ids:
        return []
    q = select(Incident).where(Incident.id.in_(ids), station_condition(actor, Incident.station_code))
    incidents = list(session.execute(q.order_by(Incident.id.desc())).scalars())
    if not incidents:
        return []
    return [Message("breach", "".join(render_fragment("_breach_alert.html", i=i) for i in incidents))]


TOPIC = Topic(name="command", roles=READERS, actions=(BREACH_ACTION,), render=render)
