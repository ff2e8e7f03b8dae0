"""The simulator's directives: deterministic per seed, halved in the second year, with re-issues whose
ground truth is kept apart; written through the actions, the year-over-year figure reads from the data."""

from __future__ import annotations

from datetime import UTC, datetime

from pingan.core import db
from pingan.core.org import Station
from pingan.supervision.directives import queries, seed, sim


def test_the_same_seed_gives_the_same_history_and_another_seed_another() -> None:
    a, b, c = (
        sim.generate(3, first_year=120),
        sim.generate(3, first_year=120),
        sim.generate(4, first_year=120),
    )
    assert a == b
    assert [d.text for d in a.directives] != [d.text for d in c.directives]


def test_the_second_year_sends_half_the_first() -> None:
    h = sim.generate(5, first_year=200)
    assert (h.count_in_year(2025), h.count_in_year(2026)) == (200, 100)


def test_duplicates_are_reissues_by_another_office_sharing_a_station() -> None:
    h = sim.generate(6, first_year=300)
    assert h.duplicate_pairs
    for later, earlier in h.duplicate_pairs:
        a, b = h.directives[later], h.directives[earlier]
        assert a.instance == b.instance and a.issued_at >= b.issued_at
        assert set(a.stations) & set(b.stations)
    reissues = [d for d in h.directives if d.instance != d.index]
    assert all(d.issuer != h.directives[d.instance].issuer for d in reissues)
    assert any(
        d.subject != h.directives[d.instance].subject for d in reissues
    )  # some under a reworded subject


def test_written_through_the_actions_the_year_over_year_is_minus_fifty_percent(
    station_yulin: Station,
) -> None:
    with db.transaction() as s:
        history = seed.write_history(
            s, seed=7, first_year=40, end=datetime(2027, 1, 1, tzinfo=UTC), stations=["WH-YL"]
        )
    assert len(history.directives) == 60
    with db.transaction() as s:
        y = queries.year_over_year(s, 2026)
        load = queries.station_load(
            s, start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC)
        )
    # Beijing years: a directive issued on 31 December after 16:00 UTC counts in the next year.
    assert y.this + y.last == 60 and y.change_percent is not None and -55 <= y.change_percent <= -45
    assert sum(w.directives for w in load) == 60
    assert sum(w.minutes_spent for w in load) == sum(
        a.minutes_spent for d in history.directives for a in d.answers
    )
