"""Work queued until commit (audit entries, domain events): it commits with the transaction or not at all."""

from __future__ import annotations

import pytest

from pingan.core import db
from pingan.core.db import PendingUntilCommit

queued: PendingUntilCommit[str] = PendingUntilCommit("test_pending_items")


def test_items_are_taken_once_in_the_order_they_were_queued(database: str) -> None:
    with db.transaction() as s:
        queued.add(s, "first")
        queued.add(s, "second")
        assert queued.peek(s) == ["first", "second"]
        assert queued.take(s) == ["first", "second"]
        assert queued.take(s) == []


def test_a_rolled_back_savepoint_drops_only_the_items_queued_inside_it(database: str) -> None:
    with db.transaction() as s:
        queued.add(s, "before")
        with pytest.raises(RuntimeError), s.begin_nested():
            queued.add(s, "inside")
            raise RuntimeError
        with s.begin_nested():
            queued.add(s, "released")
        assert queued.peek(s) == ["before", "released"]


def test_a_rollback_drops_every_item(database: str) -> None:
    with pytest.raises(RuntimeError), db.transaction() as s:
        queued.add(s, "lost")
        raise RuntimeError
    assert queued.peek(s) == []


def test_a_session_closed_without_commit_drops_every_item(database: str) -> None:
    s = db.new_session()
    s.begin()
    queued.add(s, "lost")
    s.close()
    assert queued.peek(s) == []
