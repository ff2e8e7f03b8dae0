"""In-process domain events, delivered only after the transaction that raised them commits.

A domain reacts to another's events instead of importing its tables. Handlers run synchronously
after commit; a failing handler is logged and does not undo the commit that raised the event.

A batch handler (`subscribe_batch`) receives every event of its name that one commit raised, in
one call, so that it can react to a batch of reports in one transaction instead of one each.

A reaction that must not wait for a transaction of its own (`subscribe_batch_in_transaction`: the
robot's stop-payments for a registered report) runs inside the transaction that raised the events,
just before it commits, in a savepoint: should it fail, its writes are rolled back, the rest of the
transaction commits and the subscriber's own sweep catches up. Events it raises are delivered after
the commit like any other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from pingan.core.db import PendingUntilCommit
from pingan.core.logging import get_logger

log = get_logger("events")


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened: its name (`antifraud.report_registered`) and a JSON-able payload."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[DomainEvent], None]
BatchHandler = Callable[[list[DomainEvent]], None]
InTransactionHandler = Callable[[Session, list[DomainEvent]], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_batch_handlers: dict[str, list[BatchHandler]] = defaultdict(list)
_in_transaction_handlers: dict[str, list[InTransactionHandler]] = defaultdict(list)
_pending: PendingUntilCommit[DomainEvent] = PendingUntilCommit("pingan_pending_events")


def subscribe(name: str, handler: Handler) -> None:
    """Call `handler` after every committed event called `name`."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    """Stop calling `handler` for `name`."""
    if handler in _handlers[name]:
        _handlers[name].remove(handler)


def subscribe_batch(name: str, handler: BatchHandler) -> None:
    """Call `handler` once per commit with all the committed events called `name`, in order."""
    if handler not in _batch_handlers[name]:
        _batch_handlers[name].append(handler)


def unsubscribe_batch(name: str, handler: BatchHandler) -> None:
    """Stop calling the batch `handler` for `name`."""
    if handler in _batch_handlers[name]:
        _batch_handlers[name].remove(handler)


def subscribe_batch_in_transaction(name: str, handler: InTransactionHandler) -> None:
    """Call `handler(session, events)` inside each transaction that raised events called `name`,
    just before it commits, in a savepoint (see the module's docstring)."""
    if handler not in _in_transaction_handlers[name]:
        _in_transaction_handlers[name].append(handler)


def unsubscribe_batch_in_transaction(name: str, handler: InTransactionHandler) -> None:
    """Stop calling the in-transaction `handler` for `name`."""
    if handler in _in_transaction_handlers[name]:
        _in_transaction_handlers[name].remove(handler)


def emit(session: Session, name: str, **payload: Any) -> None:
    """Queue an event on `session`; it is delivered after the session commits, dropped on rollback."""
    _pending.add(session, DomainEvent(name, payload))


# First of the before-commit listeners (insert=True): the reactions' audit entries must be written
# into the chain by `core.audit`'s listener, which runs after this one.
@sa_event.listens_for(Session, "before_commit", insert=True)
def _react_in_transaction(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the reactions wait for the real commit
    by_name: dict[str, list[DomainEvent]] = {}
    for ev in _pending.peek(session):
        if _in_transaction_handlers.get(ev.name):
            by_name.setdefault(ev.name, []).append(ev)
    for name, batch in by_name.items():
        for handler in list(_in_transaction_handlers[name]):
            try:
                with session.begin_nested():
                    handler(session, batch)
            except Exception:  # rolled back to the savepoint: the transaction's own work still commits
                log.exception("in-transaction event handler failed", event_name=name, handler=repr(handler))


@sa_event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    if session.in_nested_transaction():
        # SQLAlchemy fires after_commit when a savepoint is released too; the outer transaction
        # has not committed yet, so its events wait (handlers would not see its rows, and on
        # SQLite would wait for the write lock this very thread holds).
        return
    by_name: dict[str, list[DomainEvent]] = {}
    for ev in _pending.take(session):
        by_name.setdefault(ev.name, []).append(ev)
        for handler in list(_handlers[ev.name]):
            try:
                handler(ev)
            except Exception:  # a subscriber's failure must not turn a committed write into an error
                log.exception("event handler failed", event_name=ev.name, handler=repr(handler))
    for name, batch in by_name.items():
        for batch_handler in list(_batch_handlers[name]):
            try:
                batch_handler(batch)
            except Exception:  # as above: the commit stands; the subscriber's own sweep catches up
                log.exception("event handler failed", event_name=name, handler=repr(batch_handler))
