"""In-process domain events, delivered only after the transaction that raised them commits.

A domain reacts to another's events instead of importing its tables. Handlers run synchronously
after commit; a failing handler is logged and does not undo the commit that raised the event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from pingan.core.logging import get_logger

log = get_logger("events")


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened: its name (`antifraud.report_registered`) and a JSON-able payload."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[DomainEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_PENDING = "pingan_pending_events"


def subscribe(name: str, handler: Handler) -> None:
    """Call `handler` after every committed event called `name`."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    """Stop calling `handler` for `name`."""
    if handler in _handlers[name]:
        _handlers[name].remove(handler)


def emit(session: Session, name: str, **payload: Any) -> None:
    """Queue an event on `session`; it is delivered after the session commits, dropped on rollback."""
    session.info.setdefault(_PENDING, []).append(DomainEvent(name, payload))


@sa_event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    pending: list[DomainEvent] = session.info.pop(_PENDING, [])
    for ev in pending:
        for handler in list(_handlers[ev.name]):
            try:
                handler(ev)
            except Exception:  # a subscriber's failure must not turn a committed write into an error
                log.exception("event handler failed", event_name=ev.name, handler=repr(handler))


@sa_event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)
