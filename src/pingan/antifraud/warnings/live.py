"""Live warning receipts: a delivery report or a call result, received by any process, goes on top of
the open warnings pages.

A receipt reaches only the readers whose station view holds the person's home station, and its row
carries no personal data: the time, channel, outcome, plan and delivery state, never the phone number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.warnings.model import WarningDelivery, WarningMessage
from pingan.core.live import Change, Message, Topic, render_fragment
from pingan.core.roles import ANTIFRAUD_STAFF, Actor
from pingan.core.scoping import station_condition


def message_ids(object_id: str, detail: dict[str, Any]) -> tuple[int, ...]:
    """The messages a receipt entry names: a call result's one, or each report of a DLR batch."""
    if object_id.isdigit():
        return (int(object_id),)
    return tuple(int(r["message"]) for r in detail.get("reports", []))


def render(session: Session, actor: Actor, changes: list[Change]) -> list[Message]:
    """One `warning` message with a row per receipt's message (`_live_warning_row.html`), newest first."""
    ids = sorted({i for c in changes for i in c.ids})
    if not ids:
        return []
    rows = session.execute(
        select(WarningMessage, WarningDelivery)
        .join(WarningDelivery, WarningDelivery.id == WarningMessage.delivery_id)
        .where(WarningMessage.id.in_(ids), station_condition(actor, WarningDelivery.home_station_code))
        .order_by(WarningMessage.id.desc())
    ).all()
    if not rows:
        return []
    return [Message("warning", "".join(render_fragment("_live_warning_row.html", m=m, d=d) for m, d in rows))]


TOPIC = Topic(
    name="warnings",
    roles=ANTIFRAUD_STAFF,
    actions=("warning.sms.dlr", "warning.voice.result"),
    render=render,
    ids=message_ids,
    needs_detail=True,
)
