"""The call-back sample and figures as pure rules: a seeded, stratified draw at the stated rate, and
figures that count what their names say."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from pingan.supervision.callbacks import rules
from pingan.supervision.callbacks.choices import CallbackOutcome

WEEK = date(2026, 3, 9)
CLOSED = {"WH-YL": list(range(1, 101)), "WH-JTQ": list(range(101, 131)), "WH-HH": [131]}


def test_the_same_week_rate_seed_and_incidents_draw_the_same_sample() -> None:
    first = rules.draw_sample(CLOSED, week_start=WEEK, rate=0.1, seed=110)
    shuffled = {k: list(reversed(v)) for k, v in reversed(list(CLOSED.items()))}
    assert rules.draw_sample(shuffled, week_start=WEEK, rate=0.1, seed=110) == first


def test_another_seed_or_week_draws_another_sample() -> None:
    first = rules.draw_sample(CLOSED, week_start=WEEK, rate=0.1, seed=110)
    assert rules.draw_sample(CLOSED, week_start=WEEK, rate=0.1, seed=111)["WH-YL"] != first["WH-YL"]
    assert (
        rules.draw_sample(CLOSED, week_start=date(2026, 3, 16), rate=0.1, seed=110)["WH-YL"] != first["WH-YL"]
    )


def test_each_station_is_sampled_at_the_stated_rate_rounded_up() -> None:
    sample = rules.draw_sample(CLOSED, week_start=WEEK, rate=0.1, seed=110)
    assert {k: len(v) for k, v in sample.items()} == {"WH-YL": 10, "WH-JTQ": 3, "WH-HH": 1}


@given(
    st.dictionaries(
        st.sampled_from(["WH-YL", "WH-JTQ", "WH-HH"]),
        st.lists(st.integers(1, 10_000), max_size=60),
        max_size=3,
    ),
    st.floats(0.01, 1.0),
    st.integers(0, 2**31 - 1),
)
def test_a_sample_is_drawn_from_the_station_s_own_incidents_at_its_size(
    closed: dict[str, list[int]], rate: float, seed: int
) -> None:
    sample = rules.draw_sample(closed, week_start=WEEK, rate=rate, seed=seed)
    for station, ids in closed.items():
        picked = sample.get(station, [])
        assert set(picked) <= set(ids) and len(picked) == len(set(picked))
        assert len(picked) == rules.sample_size(len(set(ids)), rate)
        assert (len(picked) >= 1) == bool(ids)


def test_the_unreached_are_not_in_the_satisfaction_and_the_uncalled_not_in_the_call_back_rate() -> None:
    f = rules.figures(
        10,
        4,
        [CallbackOutcome.SATISFIED, CallbackOutcome.NOT_REACHED, CallbackOutcome.DISSATISFIED, None],
    )
    assert (f.callback_rate.successes, f.callback_rate.n) == (3, 10)
    assert (f.reach_rate.successes, f.reach_rate.n) == (2, 3)
    assert (f.satisfaction.successes, f.satisfaction.n) == (1, 2)
    assert (round(f.satisfaction.low, 4), round(f.satisfaction.high, 4)) == (0.0945, 0.9055)
