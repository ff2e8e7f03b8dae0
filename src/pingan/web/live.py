"""The live topics pages may subscribe to, and what the header's counter counts for each role."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pingan.antifraud.orders import live as orders_live
from pingan.antifraud.reports import live as reports_live
from pingan.antifraud.risk import live as risk_live
from pingan.antifraud.warnings import live as warnings_live
from pingan.command import live as command_live
from pingan.command import map as command_map
from pingan.core import live
from pingan.core.roles import Actor, Role
from pingan.sensors import live as sensors_live
from pingan.traffic import live as traffic_live

TOPICS = (
    reports_live.TOPIC,
    orders_live.TOPIC,
    risk_live.TOPIC,
    warnings_live.TOPIC,
    command_live.TOPIC,
    command_map.TOPIC,
    sensors_live.TOPIC,
    sensors_live.CROWD_TOPIC,
    traffic_live.TOPIC,
)


def needs_attention(session: Session, actor: Actor) -> int | None:
    """What waits for this user: a supervisor's findings to decide; an analyst's open risk events and
    failed or refused orders; an officer's reports to confirm. None: the role has no such queue."""
    if actor.role is Role.SUPERVISOR:
        return orders_live.findings_awaiting_decision(session)
    if actor.role is Role.ANTIFRAUD_ANALYST:
        return risk_live.open_events(session, actor) + orders_live.orders_needing_analyst(session)
    if actor.role is Role.OFFICER:
        return reports_live.awaiting_confirmation(session, actor)
    return None


ATTENTION = live.Attention(
    actions=orders_live.ATTENTION_ACTIONS + risk_live.ATTENTION_ACTIONS + reports_live.ATTENTION_ACTIONS,
    count=needs_attention,
)


def install() -> None:
    """Register the topics and the counter with the live streams (the app assembly calls it)."""
    live.register_topics(TOPICS, ATTENTION)
