"""Domain events: delivered after commit, dropped on rollback; batch handlers get one commit's events at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pingan.core import db, events
from pingan.core.events import DomainEvent

NAME = "test.thing_happened"


@pytest.fixture
def calls() -> Iterator[list[list[int]]]:
    seen: list[list[int]] = []

    def handler(batch: list[DomainEvent]) -> None:
        seen.append([int(ev.payload["n"]) for ev in batch])

    events.subscribe_batch(NAME, handler)
    yield seen
    events.unsubscribe_batch(NAME, handler)


def test_a_batch_handler_gets_every_event_of_one_commit_in_one_call(
    database: str, calls: list[list[int]]
) -> None:
    with db.transaction() as s:
        for n in (1, 2, 3):
            events.emit(s, NAME, n=n)
    with db.transaction() as s:
        events.emit(s, NAME, n=4)
    assert calls == [[1, 2, 3], [4]]


def test_a_batch_handler_hears_nothing_of_a_rolled_back_transaction(
    database: str, calls: list[list[int]]
) -> None:
    with pytest.raises(RuntimeError), db.transaction() as s:
        events.emit(s, NAME, n=1)
        raise RuntimeError("rolled back")
    assert calls == []
