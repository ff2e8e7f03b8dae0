"""Live updates of orders: a state change redraws the order's badge on every open page that shows it.

The robot, the bank callbacks and the pages write orders in different processes; the change reaches
the pages through the audit log (`pingan.core.live`). Orders are read by the anti-fraud staff, as on
the orders pages, and a badge carries the state only, never an account number.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.antifraud.orders.choices import FindingStatus, OrderState
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.core import clock
from pingan.core.live import Change, Message, Topic, render_fragment
from pingan.core.roles import ANTIFRAUD_STAFF, Actor

# An order that failed or was refused by its bank needs an analyst's look for a day; after that it is
# part of the figures, not of the day's work.
ATTENTION_WINDOW = timedelta(hours=24)
NEEDS_ANALYST = (OrderState.FAILED, OrderState.REJECTED)


def order_ids(object_id: str, detail: dict[str, Any]) -> tuple[int, ...]:
    """The orders an `order.*` entry names: one id, or each move of a batch (`detail["moves"]`)."""
    if object_id.isdigit():
        return (int(object_id),)
    moves = detail.get("moves") or detail.get("orders") or []
    return tuple(int(m["order"]) if isinstance(m, dict) else int(m) for m in moves)


def render(session: Session, actor: Actor, changes: list[Change]) -> list[Message]:
    """One `order-ID` message per changed order: its state badge (`_order_state.html`)."""
    ids = sorted({i for c in changes for i in c.ids})
    if not ids:
        return []
    orders = session.execute(select(RestrictionOrder).where(RestrictionOrder.id.in_(ids))).scalars()
    return [Message(f"order-{o.id}", render_fragment("_order_state.html", o=o)) for o in orders]


TOPIC = Topic(
    name="orders",
    roles=ANTIFRAUD_STAFF,
    actions=("order.",),
    render=render,
    ids=order_ids,
    needs_detail=True,
)
ATTENTION_ACTIONS = ("order.", "finding.")


def findings_awaiting_decision(session: Session) -> int:
    """Draft findings: what a supervisor has to approve or refuse."""
    q = select(func.count()).select_from(PoliceFinding).where(PoliceFinding.status == FindingStatus.DRAFT)
    return int(session.execute(q).scalar_one())


def orders_needing_analyst(session: Session) -> int:
    """Orders that failed or that their bank refused in the last `ATTENTION_WINDOW`."""
    since = clock.now() - ATTENTION_WINDOW
    q = (
        select(func.count())
        .select_from(RestrictionOrder)
        .where(
            RestrictionOrder.state.in_(NEEDS_ANALYST),
            func.coalesce(RestrictionOrder.ended_at, RestrictionOrder.created_at) >= since,
        )
    )
    return int(session.execute(q).scalar_one())
