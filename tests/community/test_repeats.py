"""Repeat detection: the same party by pseudonym, or the same address, within the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pingan.community import rules

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


def _earlier(i: int, at: datetime, keys: set[str], address: str) -> rules.Earlier:
    return rules.Earlier(i, at, frozenset(keys), rules.address_key(address))


def test_the_same_party_or_the_same_address_within_the_window_is_a_repeat() -> None:
    earlier = [
        _earlier(1, T0 - timedelta(days=40), {"p-wang"}, "玉林北路2号"),
        _earlier(2, T0 - timedelta(days=10), {"p-zhao"}, "玉林 北路 2号"),
        _earlier(3, T0 - timedelta(days=5), {"p-zhao"}, "芳草街8号"),
    ]
    found = rules.find_repeats(
        taken_in_at=T0, party_keys={"p-wang"}, address="玉林北路2号", earlier=earlier, window=YEAR
    )
    assert [(r.dispute_id, r.reasons) for r in found] == [
        (1, ("same_party", "same_address")),
        (2, ("same_address",)),
    ]


def test_the_window_edge_is_inside_and_a_second_more_is_outside() -> None:
    edge = _earlier(1, T0 - YEAR, {"p-wang"}, "")
    beyond = _earlier(2, T0 - YEAR - timedelta(seconds=1), {"p-wang"}, "")
    found = rules.find_repeats(
        taken_in_at=T0, party_keys={"p-wang"}, address="", earlier=[edge, beyond], window=YEAR
    )
    assert [r.dispute_id for r in found] == [1]


def test_an_empty_address_matches_nothing() -> None:
    found = rules.find_repeats(
        taken_in_at=T0, party_keys=set(), address="", earlier=[_earlier(1, T0, {"x"}, "")], window=YEAR
    )
    assert found == []
