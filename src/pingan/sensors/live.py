"""The sensor link, live.

- The officer-safety alarm: each alert raised (`safety.alert`), in any process, goes on top of every
  open page of a dispatcher or supervisor, and the live map redraws its alert rings.
- Large events' alerts: each crowd or drone alert raised by the ingest (`crowd.alert`,
  `crowd.drone_alert`) and each one closed (`crowd.alert_close`) reaches the pages that ask for the
  `crowd` topic: a `crowd` message (the events list, the map's event mode) and a `crowd-{event}`
  message per event changed (that event's page). Each names the alerts and events, as JSON; the
  page fetches what it shows again, within its own request, so a pushed change shows exactly what
  a reload would. Telemetry (a count, a drone's later report) and zone edits reach the same pages as
  pulses (`core/pulse.py`), at most once a second per event, with no audit entry per reading.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core.live import PULSE, Change, Message, Topic, render_fragment
from pingan.core.roles import Actor
from pingan.sensors import queries
from pingan.sensors.actions import (
    ALERT_ACTION,
    ALERT_CLOSE_ACTION,
    CROWD_ALERT_ACTION,
    DRONE_ALERT_ACTION,
    EVENT_ALERT_CLOSE_ACTION,
    READERS,
)
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


def render_crowd(session: Session, actor: Actor, changes: list[Change]) -> list[Message]:
    """A `crowd` message naming the alerts raised and closed and the events changed, then one
    `crowd-{event}` message per event. An audit entry names an alert; a pulse (a count, a drone's
    later report, a zone edited) names its event, at most once a second (`core.live`)."""
    audited = [c for c in changes if c.action != PULSE]
    raised = sorted({i for c in audited if c.action != EVENT_ALERT_CLOSE_ACTION for i in c.ids})
    closed = sorted({i for c in audited if c.action == EVENT_ALERT_CLOSE_ACTION for i in c.ids})
    of_alerts = queries.alert_event_ids(session, sorted({*raised, *closed}))
    pulsed = {i for c in changes if c.action == PULSE for i in c.ids}
    events = sorted({*of_alerts.values(), *pulsed})
    if not events:
        return []
    messages = [Message("crowd", json.dumps({"raised": raised, "closed": closed, "events": events}))]
    for event_id in events:
        mine = {a for a, e in of_alerts.items() if e == event_id}
        body = {"raised": [a for a in raised if a in mine], "closed": [a for a in closed if a in mine]}
        messages.append(Message(f"crowd-{event_id}", json.dumps(body)))
    return messages


# Asked for by the events pages and the map's event mode (`topics=crowd`), not carried everywhere:
# a crowd level is a matter for those watching the event, not an officer in danger. Alerts raised and
# closed come from the audit log; counts, drones' later reports and zone edits come as pulses
# (`core/pulse.py`, the topic named `crowd` there).
CROWD_TOPIC = Topic(
    name="crowd",
    roles=READERS,
    actions=(CROWD_ALERT_ACTION, DRONE_ALERT_ACTION, EVENT_ALERT_CLOSE_ACTION),
    render=render_crowd,
)
