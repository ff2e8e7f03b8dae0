"""Live major-accident alarm: each `accident.major` entry, from any process (the API, an import), goes
on top of the traffic pages and the black-spot map as an alert at once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pingan.core.live import Change, Message, Topic, render_fragment
from pingan.core.roles import Actor
from pingan.traffic import queries
from pingan.traffic.actions import MAJOR_ACTION, READERS


def render(session: Session, actor: Actor, changes: list[Change]) -> list[Message]:
    """One `major` message with an alert per new major accident (the district's: no station view)."""
    found = [
        a for i in sorted({i for c in changes for i in c.ids}) if (a := queries.accident_detail(session, i))
    ]
    if not found:
        return []
    return [Message("major", "".join(render_fragment("_major_accident_alert.html", a=a) for a in found))]


TOPIC = Topic(name="traffic", roles=READERS, actions=(MAJOR_ACTION,), render=render)
