"""Write transactions that survive SQLite's write lock.

SQLite (the embedded default) lets one writer in at a time, and a deferred transaction that read
before another writer committed cannot upgrade to a writer: it fails at once with "database is
locked", whatever the busy timeout. The sender and the DLR endpoint write concurrently, so each
write is retried a few times, as a whole, from the start. PostgreSQL never takes this path.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pingan.core.db import get_engine, transaction

T = TypeVar("T")

# SQLite: the warning writers of one process (plan acceptance, the sender's rounds, DLR batches)
# queue here for the write lock instead of in SQLite's busy handler, which polls with sleeps of up to
# 100 ms and lets a newcomer overtake a waiter: measured in bench/channels.py, the sender's claim
# waited ~650 ms a batch behind plan-accepting and DLR transactions. Re-entrant, because a
# transaction's work may itself call `in_transaction`. Other processes still meet busy_timeout.
_sqlite_writer = threading.RLock()


def in_transaction(work: Callable[[Session], T], *, attempts: int = 200) -> T:
    """Run `work` in a fresh transaction, retried from the start while SQLite reports a lock."""
    serial = _sqlite_writer if get_engine().dialect.name == "sqlite" else contextlib.nullcontext()
    for attempt in range(attempts):
        try:
            with serial, transaction() as session:
                return work(session)
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or attempt == attempts - 1:
                raise
            pause = min(0.05, 0.002 * 2**attempt)
            time.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter, not cryptography
    raise AssertionError("unreachable")
