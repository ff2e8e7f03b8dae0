"""Black spots by empirical Bayes, and countermeasures by the EB before–after method (AASHTO HSM
part B; Hauer, *Observational Before–After Studies in Road Safety*, 1997). Pure: arrays in, estimates out.

**Safety performance function (SPF).** Per segment class, crashes over the period on a segment are
negative binomial (NB2: Var = μ + kμ²) with

    ln μ = β0 + β1·ln(AADT) + β2·ln(length_km) + ln(years)

fitted by maximum likelihood (statsmodels). Where that fit fails (few segments or accidents), the
class falls back to crashes proportional to length, with the rate and k by the method of moments. Where AADT does not vary within a class (no counts, one
default per class) the AADT term is left out, as it cannot be estimated.

**EB estimate.** With the SPF's μ for the period and its overdispersion k, the segment's own count x
is mixed in: w = 1/(1 + k·μ), EB = w·μ + (1 − w)·x. The segment's long-run mean then has the gamma
posterior Gamma(shape 1/k + x, rate 1/(kμ) + 1) over the period, whose 5% and 95% quantiles give the
interval of the excess EB − μ. Ranking by the excess corrects for regression to the mean, which a
ranking by raw counts does not.

**Severity-weighted potential** is kept apart: the EB mixing applied to the count of fatal and serious
accidents (KSI) weighted by `KSI_WEIGHT`, against the SPF's μ times the class's KSI share.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

# How much a killed-or-seriously-injured (KSI) accident weighs against one with slight or no injuries
# in the severity-weighted potential: an assumption, stated; the HSM's EPDO weights are larger.
KSI_WEIGHT = 10.0
MIN_SEGMENTS_PER_CLASS = 30


@dataclass(frozen=True)
class SPF:
    """A fitted SPF of one class: coefficients (intercept, ln AADT or None, ln length) and k."""

    road_class: str
    intercept: float
    b_aadt: float | None
    b_length: float
    k: float
    segments: int
    method: str = "nb2_ml"

    def mu(self, aadt: np.ndarray, length_m: np.ndarray, years: float) -> np.ndarray:
        """Predicted crashes over `years` on each segment."""
        eta = self.intercept + self.b_length * np.log(np.maximum(length_m, 1.0) / 1000.0) + math.log(years)
        if self.b_aadt is not None:
            eta = eta + self.b_aadt * np.log(np.maximum(aadt, 1.0))
        return np.asarray(np.exp(eta))


def fit_spf(road_class: str, counts: np.ndarray, aadt: np.ndarray, length_m: np.ndarray, years: float) -> SPF:
    """Fit the NB2 SPF of one class by maximum likelihood (see module)."""
    from statsmodels.discrete.discrete_model import NegativeBinomial

    ln_len = np.log(np.maximum(length_m, 1.0) / 1000.0)
    ln_aadt = np.log(np.maximum(aadt, 1.0))
    with_aadt = bool(np.ptp(ln_aadt) > 1e-9)
    cols = [np.ones_like(ln_len)] + ([ln_aadt] if with_aadt else []) + [ln_len]
    x = np.column_stack(cols)
    offset = np.full(ln_len.shape, math.log(years))
    with warnings.catch_warnings():
        # statsmodels warns on slow convergence of the dispersion; the fit is checked below.
        warnings.simplefilter("ignore")
        model = NegativeBinomial(counts.astype(float), x, loglike_method="nb2", offset=offset)
        try:
            result = model.fit(disp=0, maxiter=200, method="bfgs")
        except (np.linalg.LinAlgError, ValueError):
            # A degenerate class (every count zero but one segment, collinear columns) has no NB fit.
            return moment_spf(road_class, counts, length_m, years)
    params = np.asarray(result.params, dtype=float)
    fitted = None
    if np.all(np.isfinite(params)) and abs(params[-1]) < 100:
        fitted = SPF(
            road_class=road_class,
            intercept=float(params[0]),
            b_aadt=float(params[1]) if with_aadt else None,
            b_length=float(params[2 if with_aadt else 1]),
            k=float(max(params[-1], 1e-6)),
            segments=int(counts.size),
        )
    with np.errstate(over="ignore"):
        finite = fitted is not None and bool(np.all(np.isfinite(fitted.mu(aadt, length_m, years))))
    if fitted is None or not finite:
        return moment_spf(road_class, counts, length_m, years)
    return fitted


def moment_spf(road_class: str, counts: np.ndarray, length_m: np.ndarray, years: float) -> SPF:
    """The fallback where the NB fit fails (few segments, few accidents): crashes proportional to
    length, the rate and k by the method of moments (Var = μ + kμ²)."""
    km_years = np.maximum(length_m, 1.0) / 1000.0 * years
    rate = max(float(counts.sum()) / float(km_years.sum()), 1e-9)
    mu = rate * km_years
    k = max(float(np.sum((counts - mu) ** 2 - mu) / max(float(np.sum(mu**2)), 1e-12)), 1e-6)
    return SPF(road_class, math.log(rate), None, 1.0, k, int(counts.size), method="moments")


@dataclass(frozen=True)
class Ranking:
    """The EB estimates of every segment, in the input's order, and the fitted SPFs."""

    predicted: np.ndarray
    eb: np.ndarray
    excess: np.ndarray
    excess_low: np.ndarray
    excess_high: np.ndarray
    weight: np.ndarray
    severity_weighted: np.ndarray
    spfs: dict[str, SPF]

    def order(self) -> np.ndarray:
        """Segment indices by EB excess, largest first."""
        return np.argsort(-self.excess, kind="stable")


def eb_ranking(
    classes: np.ndarray,
    counts: np.ndarray,
    aadt: np.ndarray,
    length_m: np.ndarray,
    years: float,
    *,
    ksi: np.ndarray | None = None,
) -> Ranking:
    """Fit an SPF per class and mix each segment's count in (see module). A class with fewer than
    `MIN_SEGMENTS_PER_CLASS` segments is pooled with the others under the name `all`."""
    classes = np.asarray(classes).astype(str)
    names, sizes = np.unique(classes, return_counts=True)
    small = set(names[sizes < MIN_SEGMENTS_PER_CLASS].tolist())
    group = np.where(np.isin(classes, list(small)), "all", classes) if small else classes
    mu = np.zeros(counts.size)
    k = np.zeros(counts.size)
    spfs: dict[str, SPF] = {}
    for name in np.unique(group).tolist():
        sel = group == name
        spf = fit_spf(name, counts[sel], aadt[sel], length_m[sel], years)
        spfs[name] = spf
        mu[sel] = spf.mu(aadt[sel], length_m[sel], years)
        k[sel] = spf.k
    w = 1.0 / (1.0 + k * mu)
    eb = w * mu + (1.0 - w) * counts
    shape = 1.0 / k + counts
    rate = 1.0 / (k * mu) + 1.0
    low = stats.gamma.ppf(0.05, shape, scale=1.0 / rate) - mu
    high = stats.gamma.ppf(0.95, shape, scale=1.0 / rate) - mu
    if ksi is None:
        sev = np.zeros(counts.size)
    else:
        # The class's KSI share of all accidents scales μ to expected KSI accidents; the same weight mixes.
        share = np.zeros(counts.size)
        for name in np.unique(group).tolist():
            sel = group == name
            share[sel] = ksi[sel].sum() / max(counts[sel].sum(), 1)
        sev = KSI_WEIGHT * (w * mu * share + (1.0 - w) * ksi)
    return Ranking(mu, eb, eb - mu, low, high, w, sev, spfs)


@dataclass(frozen=True)
class Effect:
    """An EB before–after estimate of a treatment's effect on its sites (Hauer 1997, ch. 6)."""

    sites: int
    observed_after: int
    expected_after: float
    theta: float
    theta_low: float
    theta_high: float
    naive_ratio: float | None
    method: str = "EB before-after with comparison-group trend (Hauer 1997); 95% normal interval"


def eb_before_after(
    *,
    eb_before: np.ndarray,
    weight_before: np.ndarray,
    mu_before: np.ndarray,
    mu_after: np.ndarray,
    observed_before: np.ndarray,
    observed_after: np.ndarray,
    comparison_before: int,
    comparison_after: int,
    comparison_mu_before: float,
    comparison_mu_after: float,
    years_before: float,
    years_after: float,
) -> Effect:
    """θ, the ratio of what happened after to what would have happened without the treatment.

    Each treated site's expected after count without treatment is π = EB_before · r, where r is the
    ratio of the SPF's after to before prediction (volumes, durations), times the comparison group's
    trend beyond what its SPF predicts ((C_after/C_before) / (μc_after/μc_before)). Then
    θ = (λ/π)/(1 + Var π/π²) and Var θ ≈ θ²(1/λ + Var π/π²)/(1 + Var π/π²)², with
    Var(EB) = (1 − w)·EB (HSM 9A.1).
    """
    if comparison_before <= 0 or comparison_mu_before <= 0:
        raise ValueError("the comparison group has no accidents before: its trend cannot be measured")
    trend = (comparison_after / comparison_before) / (comparison_mu_after / comparison_mu_before)
    r = (mu_after / mu_before) * trend
    pi_i = eb_before * r
    var_pi = float(np.sum(r * r * (1.0 - weight_before) * eb_before))
    pi = float(pi_i.sum())
    lam = int(observed_after.sum())
    rel = var_pi / (pi * pi)
    theta = (lam / pi) / (1.0 + rel)
    var_theta = theta * theta * ((1.0 / max(lam, 1)) + rel) / (1.0 + rel) ** 2
    sd = math.sqrt(var_theta)
    before = int(observed_before.sum())
    # The naive figure police reports give: the after rate over the before rate at the same sites.
    naive = (lam / years_after) / (before / years_before) if before else None
    return Effect(
        sites=int(eb_before.size),
        observed_after=lam,
        expected_after=pi,
        theta=theta,
        theta_low=max(0.0, theta - 1.96 * sd),
        theta_high=theta + 1.96 * sd,
        naive_ratio=naive,
    )
