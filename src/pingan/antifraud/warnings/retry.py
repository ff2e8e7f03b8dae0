"""Write transactions that survive SQLite's write lock.

SQLite (the embedded default) lets one writer in at a time. Every write transaction of a process
queues for it on `core.db`'s writer lock (taken by `transaction()`), so the sender, plan acceptance
and the DLR endpoint take turns instead of polling SQLite's busy handler. A writer of another process
can still outlast busy_timeout; such a write is retried a few times, as a whole, from the start.
PostgreSQL never takes this path.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pingan.core.db import transaction

T = TypeVar("T")


def in_transaction(work: Callable[[Session], T], *, attempts: int = 200) -> T:
    """Run `work` in a fresh write transaction, retried from the start while SQLite reports a lock."""
    for attempt in range(attempts):
        try:
            with transaction() as session:
                return work(session)
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or attempt == attempts - 1:
                raise
            pause = min(0.05, 0.002 * 2**attempt)
            time.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter, not cryptography
    raise AssertionError("unreachable")
