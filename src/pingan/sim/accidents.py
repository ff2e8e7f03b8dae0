"""Accidents on the district's road graph from a KNOWN safety performance function, with planted true
black spots and countermeasures of known effect, so that a ranking and an effect estimate can be
scored against the truth (`bench/traffic.py`).

Per segment: an AADT drawn around its class's mean (lognormal, σ 0.35); the true SPF
μ = exp(β0[class]) · AADT^0.8 · length_km per year; a site effect γ ~ Gamma(1/k, k) with k = 0.5
(what makes real counts overdispersed); and, on `planted` segments of the arterial classes (primary,
secondary), a multiplier of 3 to 6: the true black spots. Each year's count is Poisson(μ·γ·m·trend^y).
A crash is killed-or-seriously-injured (KSI) with probability 0.12 (0.3 on a planted spot).

Countermeasures: after the `years` before, the `treated` segments with the most accidents, as a
brigade picks them (which is what makes a naive before/after biased: regression to the mean), get a
treatment of true effect `theta` (after/expected) for `years_after` more years; every segment follows
the district trend (`trend` a year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pingan.command.roads import Roads

TRUE_B0 = {"primary": -6.6, "secondary": -6.8, "residential": -7.0}
TRUE_B_AADT = 0.8
TRUE_K = 0.5
CLASS_AADT = {"primary": 20_000.0, "secondary": 8_000.0, "residential": 1_500.0}
PLANTED_CLASSES = ("primary", "secondary")
KSI_SHARE, KSI_SHARE_SPOT = 0.12, 0.3


@dataclass(frozen=True)
class AccidentHistory:
    """Simulated counts: `before[y, i]` accidents on segment i in before-year y, `after` likewise."""

    road_class: np.ndarray
    length_m: np.ndarray
    aadt: np.ndarray
    true_mu: np.ndarray  # per year, by the true SPF, without the site effect
    planted: np.ndarray  # indices of the true black spots
    before: np.ndarray
    before_ksi: np.ndarray
    treated: np.ndarray  # indices of the treated segments
    after: np.ndarray
    theta: float
    trend: float


def simulate_accidents(
    roads: Roads,
    seed: int,
    *,
    years: int = 3,
    planted: int = 50,
    treated: int = 40,
    years_after: int = 2,
    theta: float = 0.7,
    trend: float = 0.97,
) -> AccidentHistory:
    """Accident counts per segment and year on `roads` (see module), deterministic from `seed`."""
    rng = np.random.default_rng(seed)
    cls = np.array(roads.road_class)
    n = cls.size
    mean_aadt = np.array([CLASS_AADT.get(c, 1_500.0) for c in cls])
    aadt = np.round(mean_aadt * rng.lognormal(0.0, 0.35, n))
    b0 = np.array([TRUE_B0.get(c, TRUE_B0["residential"]) for c in cls])
    length_km = np.maximum(roads.length_m, 1.0) / 1000.0
    mu = np.exp(b0) * aadt**TRUE_B_AADT * length_km
    gamma = rng.gamma(1.0 / TRUE_K, TRUE_K, n)
    candidates = np.flatnonzero(np.isin(cls, PLANTED_CLASSES))
    spots = np.sort(rng.choice(candidates, size=min(planted, candidates.size), replace=False))
    mult = np.ones(n)
    mult[spots] = rng.uniform(3.0, 6.0, spots.size)
    lam = mu * gamma * mult
    before = np.stack([rng.poisson(lam * trend**y) for y in range(years)])
    ksi_p = np.where(mult > 1, KSI_SHARE_SPOT, KSI_SHARE)
    before_ksi = rng.binomial(before, ksi_p)
    total = before.sum(axis=0)
    # The brigade treats its worst sites by raw count (ties broken by the seed).
    order = np.lexsort((rng.random(n), -total))
    chosen = np.sort(order[:treated])
    effect = np.ones(n)
    effect[chosen] = theta
    after = np.stack([rng.poisson(lam * effect * trend ** (years + y)) for y in range(years_after)])
    return AccidentHistory(
        road_class=cls,
        length_m=roads.length_m.copy(),
        aadt=aadt,
        true_mu=mu,
        planted=spots,
        before=before,
        before_ksi=before_ksi,
        treated=chosen,
        after=after,
        theta=theta,
        trend=trend,
    )
