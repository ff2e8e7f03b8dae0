"""Black spots by empirical Bayes and the EB before–after estimate, against the simulator's truth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.sim.accidents import TRUE_B_AADT, simulate_accidents
from pingan.sim.roads import generate_roads
from pingan.traffic.safety import eb_before_after, eb_ranking


@pytest.fixture(scope="module")
def history():  # type: ignore[no-untyped-def]
    return simulate_accidents(generate_roads(11, size=60), 11)


def test_the_spf_recovers_the_simulators_volume_elasticity(history) -> None:  # type: ignore[no-untyped-def]
    r = eb_ranking(history.road_class, history.before.sum(axis=0), history.aadt, history.length_m, 3)
    primary = r.spfs["primary"]
    assert primary.b_aadt is not None and abs(primary.b_aadt - TRUE_B_AADT) < 0.35
    assert 0.3 < r.spfs["residential"].k < 1.0  # the true k is 0.5


def test_the_eb_estimate_lies_between_the_spf_and_the_count_with_weight_w(history) -> None:  # type: ignore[no-untyped-def]
    counts = history.before.sum(axis=0)
    r = eb_ranking(history.road_class, counts, history.aadt, history.length_m, 3)
    assert np.allclose(r.eb, r.weight * r.predicted + (1 - r.weight) * counts)
    assert np.all(r.excess_low <= r.excess + 1e-9) and np.all(r.excess <= r.excess_high + 1e-9)


@settings(max_examples=40, deadline=None)
@given(mu=st.floats(0.01, 20), k=st.floats(0.05, 3), x=st.integers(0, 60))
def test_the_eb_weight_shrinks_a_count_toward_the_spf_never_past_it(mu: float, k: float, x: int) -> None:
    w = 1.0 / (1.0 + k * mu)
    eb = w * mu + (1 - w) * x
    assert min(mu, x) - 1e-9 <= eb <= max(mu, x) + 1e-9


def test_the_before_after_estimate_covers_the_planted_effect_where_the_naive_ratio_does_not(history) -> None:  # type: ignore[no-untyped-def]
    counts, after = history.before.sum(axis=0), history.after.sum(axis=0)
    r = eb_ranking(history.road_class, counts, history.aadt, history.length_m, 3)
    t = history.treated
    rest = np.setdiff1d(np.arange(counts.size), t)
    mu_a = r.predicted * 2 / 3
    e = eb_before_after(
        eb_before=r.eb[t], weight_before=r.weight[t], mu_before=r.predicted[t], mu_after=mu_a[t],
        observed_before=counts[t], observed_after=after[t],
        comparison_before=int(counts[rest].sum()), comparison_after=int(after[rest].sum()),
        comparison_mu_before=float(r.predicted[rest].sum()), comparison_mu_after=float(mu_a[rest].sum()),
        years_before=3, years_after=2,
    )  # fmt: skip
    assert e.theta_low <= history.theta <= e.theta_high
    assert e.naive_ratio is not None and abs(e.naive_ratio - history.theta) > abs(e.theta - history.theta)
