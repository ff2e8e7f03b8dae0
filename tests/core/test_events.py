"""Domain events: delivered after commit, dropped on rollback; batch handlers get one commit's events at once;
in-transaction reactions commit with the transaction, or are rolled back alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core import db, events
from pingan.core.audit import verify_chain
from pingan.core.events import DomainEvent
from pingan.core.org import Station, do_upsert_station
from pingan.core.roles import Actor

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


IN_TX = "test.thing_registered"
station = Actor.system("test")


def _station(session: Session, code: str) -> None:
    do_upsert_station(session, code=code, name=code, lat=30.0, lon=104.0, area_geojson=None, actor=station)


@pytest.fixture
def reactions() -> Iterator[list[str]]:
    """An in-transaction reaction that writes a row (and an audit entry) for each event, and fails on
    an event asking it to."""
    heard: list[str] = []

    def react(session: Session, batch: list[DomainEvent]) -> None:
        heard.extend(str(ev.payload["code"]) for ev in batch)
        for ev in batch:
            _station(session, f"R-{ev.payload['code']}")
        if any(ev.payload.get("fail") for ev in batch):
            raise RuntimeError("the reaction failed")

    events.subscribe_batch_in_transaction(IN_TX, react)
    yield heard
    events.unsubscribe_batch_in_transaction(IN_TX, react)


def _codes() -> set[str]:
    with db.read_transaction() as s:
        return set(s.execute(select(Station.code)).scalars())


def test_an_in_transaction_reaction_commits_with_the_transaction_that_raised_its_events(
    database: str, reactions: list[str]
) -> None:
    with db.transaction() as s:
        _station(s, "A")
        events.emit(s, IN_TX, code="A")
        events.emit(s, IN_TX, code="B")
    assert reactions == ["A", "B"]  # one call, before the commit
    assert _codes() == {"A", "R-A", "R-B"}
    with db.transaction() as s:
        assert verify_chain(s).ok


def test_a_failing_reaction_is_rolled_back_alone_and_the_transaction_commits(
    database: str, reactions: list[str]
) -> None:
    with db.transaction() as s:
        _station(s, "A")
        events.emit(s, IN_TX, code="A", fail=True)
    assert reactions == ["A"]
    assert _codes() == {"A"}
    with db.transaction() as s:
        assert verify_chain(s).ok


def test_a_rolled_back_transaction_runs_no_reaction(database: str, reactions: list[str]) -> None:
    with pytest.raises(RuntimeError), db.transaction() as s:
        events.emit(s, IN_TX, code="A")
        raise RuntimeError("rolled back")
    assert reactions == []
    assert _codes() == set()
