"""Write transactions that survive SQLite's write lock.

SQLite (the embedded default) lets one writer in at a time, and a deferred transaction that read
before another writer committed cannot upgrade to a writer: it fails at once with "database is
locked", whatever the busy timeout. The sender and the DLR endpoint write concurrently, so each
write is retried a few times, as a whole, from the start. PostgreSQL never takes this path.
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
    """Run `work` in a fresh transaction, retried from the start while SQLite reports a lock."""
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
