"""Pure wastewater rules: back-calculation, the EUDA mean check, trends and dumping flags.

Data in, a result with its reasons out; no I/O and no clock of its own. Every figure describes a
sewershed (the population a treatment plant serves), never a person or a building.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from scipy import stats

from pingan.narcotics.choices import EudaVerdict

Z95 = 1.959963984540054  # two-sided 95% normal quantile: a published 95% CI is ±Z95 standard errors

# ---------------------------------------------------------------------------------- back-calculation


@dataclass(frozen=True)
class Factor:
    """A correction factor (mg parent per mg residue), its relative standard error and its source."""

    factor: float
    rel_se: float
    source: str


@dataclass(frozen=True)
class Load:
    """A population-normalised load in mg/day/1000 inhabitants, with its standard error (None: unknown)."""

    value: float
    se: float | None

    @property
    def ci95(self) -> tuple[float, float] | None:
        """The normal 95% interval, floored at zero (a load is never negative)."""
        if self.se is None:
            return None
        return (max(0.0, self.value - Z95 * self.se), self.value + Z95 * self.se)


def load_per_1000(
    concentration_ng_l: float,
    flow_m3_day: float,
    population: int,
    factor: Factor,
    *,
    rel_se_concentration: float | None = None,
    rel_se_flow: float | None = None,
    rel_se_population: float | None = None,
) -> Load:
    """Load = concentration × flow × correction factor ÷ population (EUDA/SCORE), in mg/day/1000 inh.

    ng/L × m³/day × 1000 L/m³ = ng/day; ÷ 10⁶ = mg/day; ÷ (population / 1000) = mg/day/1000 inh.
    The relative errors of a product add in quadrature (first-order propagation); an error left
    unknown (None) makes the result's error unknown rather than pretending it is zero.
    """
    if population <= 0:
        raise ValueError("population must be positive")
    if flow_m3_day <= 0:
        raise ValueError("flow must be positive")
    if concentration_ng_l < 0:
        raise ValueError("concentration must not be negative")
    ng_per_day = concentration_ng_l * flow_m3_day * 1000.0
    mg_per_day = ng_per_day / 1e6
    value = mg_per_day / (population / 1000.0) * factor.factor
    parts = (rel_se_concentration, rel_se_flow, rel_se_population, factor.rel_se)
    if any(p is None for p in parts):
        return Load(value, None)
    rel = math.sqrt(sum(float(p) ** 2 for p in parts if p is not None))
    return Load(value, value * rel)


def se_from_ci(low: float, high: float, z: float = Z95) -> float:
    """The standard error implied by a symmetric normal CI (Statistics Canada publishes 95% CIs)."""
    return (high - low) / (2.0 * z)


def scaled(load: Load, factor: Factor) -> Load:
    """A published residue load converted by a correction factor, its error propagated (quadrature)."""
    value = load.value * factor.factor
    if load.se is None:
        return Load(value, None)
    rel = math.hypot(load.se / load.value if load.value else 0.0, factor.rel_se)
    return Load(value, value * rel if load.value else load.se * factor.factor)


# ------------------------------------------------------------------------------- EUDA means check

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# The EUDA/SCORE sampling week runs Wednesday to Tuesday. Measured on the 2025 release: its
# "Weekday mean" is the mean of Tuesday-Thursday and its "Weekend mean" of Friday-Monday (the nights
# out and the day after), except the 2021 campaign, whose means are Tuesday-Friday and
# Saturday-Monday. The publisher's documentation does not state either definition: they are the
# ones that reproduce the stored means (bench/wastewater.py compares them with the textbook split).
WEEKDAY_DAYS = ("Tuesday", "Wednesday", "Thursday")
WEEKEND_DAYS = ("Friday", "Saturday", "Sunday", "Monday")
WEEKDAY_DAYS_2021 = ("Tuesday", "Wednesday", "Thursday", "Friday")
WEEKEND_DAYS_2021 = ("Saturday", "Sunday", "Monday")
# The textbook split, the baseline the benchmark compares with.
NAIVE_WEEKDAY = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
NAIVE_WEEKEND = ("Saturday", "Sunday")
CENT = Decimal("0.01")
# The table prints every day value and every mean rounded to the cent, so a printed day value stands
# for any value within half a cent of it.
HALF_CENT = Decimal("0.005")
# The order of the day columns in the EUDA table: its sampling week runs Wednesday to Tuesday.
COLUMN_ORDER = ("Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday")
MEANS = ("weekday", "weekend", "daily")


def day_sets(year: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (weekday, weekend) days whose means the EUDA table stores for a campaign year."""
    if year == 2021:
        return WEEKDAY_DAYS_2021, WEEKEND_DAYS_2021
    return WEEKDAY_DAYS, WEEKEND_DAYS


def _printed(values: Mapping[str, Decimal | None], days: Sequence[str]) -> list[Decimal]:
    return [v for d in days if (v := values.get(d)) is not None]


def mean_2dp(values: Mapping[str, Decimal | None], days: Sequence[str]) -> Decimal | None:
    """The mean of the days measured, rounded half-up to two decimals (None: no day).

    Half-up is the stated convention, not a fit: where the printed days average exactly half a cent
    (1,055 cells of the 2025 release) the table prints the upper cent 476 times and the lower 547
    times, because it rounded means of unrounded days. Half-even (493) or half-down (547) would be
    no more the publisher's rule; picking the best-scoring one would tune the figure to this table.
    """
    got = _printed(values, days)
    if not got:
        return None
    return (sum(got, Decimal(0)) / len(got)).quantize(CENT, rounding=ROUND_HALF_UP)


def is_half_cent_tie(total: Decimal, n: int) -> bool:
    """Whether total ÷ n lies exactly halfway between two cents (e.g. 77.86 ÷ 4 = 19.465)."""
    twice_cents = int(total * 200)  # the day values are whole cents, so this is exact
    return twice_cents % n == 0 and (twice_cents // n) % 2 == 1


def within_day_rounding(total: Decimal, n: int, stored: Decimal) -> bool:
    """Whether a mean printed as `stored` can come from n days printed to the cent summing to `total`.

    Each true day value lies within half a cent of its printed one, so their true mean lies within
    half a cent of the printed days' mean; the stored mean is that true mean rounded, so within half
    a cent of it again: |total ÷ n − stored| ≤ one cent.
    """
    return abs(total - stored * n) <= CENT * n


def fits_rounded_days(
    values: Mapping[str, Decimal | None],
    stored: Mapping[str, Decimal | None],
    weekday_days: Sequence[str],
    weekend_days: Sequence[str],
) -> bool:
    """Whether one set of true day values, each within half a cent of its printed value, gives every
    stored mean given here once rounded to the cent.

    The weekday and weekend days are disjoint and together the whole week, so the daily mean's sum is
    the weekday sum plus the weekend sum: interval arithmetic over the two sums decides it exactly.
    """
    bounds: list[tuple[Decimal, Decimal, int]] = []
    for name, days in (("weekday", weekday_days), ("weekend", weekend_days)):
        got = _printed(values, days)
        n, total = len(got), sum(got, Decimal(0))
        low, high = total - HALF_CENT * n, total + HALF_CENT * n
        m = stored.get(name)
        if m is not None and n:
            low, high = max(low, n * (m - HALF_CENT)), min(high, n * (m + HALF_CENT))
        if low > high:
            return False
        bounds.append((low, high, n))
    daily = stored.get("daily")
    n = bounds[0][2] + bounds[1][2]
    if daily is None or n == 0:
        return True
    low, high = bounds[0][0] + bounds[1][0], bounds[0][1] + bounds[1][1]
    return low <= n * (daily + HALF_CENT) and high >= n * (daily - HALF_CENT)


def moved_one_column(values: Mapping[str, Decimal | None], by: int) -> dict[str, Decimal | None]:
    """The day values as if each belonged `by` days after the column it is printed in (−1: before)."""
    n = len(COLUMN_ORDER)
    return {COLUMN_ORDER[(i + by) % n]: values.get(d) for i, d in enumerate(COLUMN_ORDER)}


@dataclass(frozen=True)
class MeansCheck:
    """The three means recomputed from the published day values, and how each compares."""

    weekday: Decimal | None
    weekend: Decimal | None
    daily: Decimal | None
    # Per mean ("weekday", "weekend", "daily"): its verdict and why, in words an analyst can check
    # against the printed row.
    verdicts: dict[str, EudaVerdict] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


def _fmt(x: Decimal) -> str:
    """A value as an analyst reads it: exact where it has at most four decimals, else ≈ to four."""
    q = x.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    text = f"{q:f}".rstrip("0").rstrip(".")
    return text if q == x else f"≈{text}"


def _span(days: Sequence[str], printed: int) -> str:
    span = "Wed–Tue" if len(days) == 7 else f"{days[0][:3]}–{days[-1][:3]}"
    return span if printed == len(days) else f"{span} ({printed} of {len(days)} days printed)"


def check_euda_means(
    year: int,
    days: Mapping[str, Decimal | None],
    stored: Mapping[str, Decimal | None],
    *,
    naive: bool = False,
) -> MeansCheck:
    """Recompute the weekday, weekend and daily means of one EUDA row from its seven day values, and
    say for each stored mean whether it is reproduced exactly or, if not, why not.

    In order: exact (half-up to the cent, as published); the day values printed one column off (the
    whole row is reproduced when they are moved a day); a half-cent tie printed rounded down, or a
    difference within what rounding each day value to the cent allows, when the row's means fit one
    set of unrounded days; a blank day in the mean's set; otherwise not derivable.
    """
    weekday_days, weekend_days = (NAIVE_WEEKDAY, NAIVE_WEEKEND) if naive else day_sets(year)
    sets = {"weekday": weekday_days, "weekend": weekend_days, "daily": DAYS}
    ours = {m: mean_2dp(days, sets[m]) for m in MEANS}
    verdicts: dict[str, EudaVerdict] = {}
    reasons: dict[str, str] = {}
    near: dict[str, Decimal | None] = {}  # stored means within a cent of the printed days' mean
    for m in MEANS:
        got, s, o = _printed(days, sets[m]), stored.get(m), ours[m]
        if s is None or o is None:
            verdicts[m] = EudaVerdict.ABSENT
            reasons[m] = "no stored mean" if s is None else f"{_span(sets[m], 0)}: no day printed"
        elif o == s:
            verdicts[m] = EudaVerdict.EXACT
            near[m] = s
        elif within_day_rounding(sum(got, Decimal(0)), len(got), s):
            near[m] = s
    pending = [m for m in MEANS if m not in verdicts]
    if not pending:
        return MeansCheck(ours["weekday"], ours["weekend"], ours["daily"], verdicts, reasons)

    fits = fits_rounded_days(days, near, weekday_days, weekend_days)
    explained = fits and all(m in near for m in pending)
    # A row whose seven day values are all printed but whose means fit them only once every value is
    # moved one column: the publisher's day labels are one day off for that site and campaign.
    if not naive and not explained and all(days.get(d) is not None for d in DAYS):
        for by, when in ((-1, "earlier"), (1, "later")):
            moved = moved_one_column(days, by)
            if all(
                (s := stored.get(m)) is not None
                and within_day_rounding(sum(_printed(moved, sets[m]), Decimal(0)), len(sets[m]), s)
                for m in ("weekday", "weekend")
            ) and fits_rounded_days(moved, stored, weekday_days, weekend_days):
                for m in pending:
                    again = mean_2dp(moved, sets[m])
                    verdicts[m] = EudaVerdict.DAYS_ONE_COLUMN_OFF
                    reasons[m] = (
                        f"printed {_span(sets[m], len(sets[m]))} average {_fmt(_exact_mean(days, sets[m]))}, "
                        f"published {stored[m]}; with every day value moved one day {when} (the "
                        f"Wednesday column read as {moved_name(by)}) {_span(sets[m], len(sets[m]))} give {again}, "
                        "and all three means of the row fit"
                    )
                return MeansCheck(ours["weekday"], ours["weekend"], ours["daily"], verdicts, reasons)

    for m in pending:
        got, s = _printed(days, sets[m]), stored[m]
        assert s is not None  # pending means have a stored value and printed days
        total, n = sum(got, Decimal(0)), len(got)
        exact_mean = total / n
        head = f"printed {_span(sets[m], n)} average {_fmt(exact_mean)}"
        if m in near and fits:
            if is_half_cent_tie(total, n):
                verdicts[m] = EudaVerdict.HALF_CENT_TIE
                reasons[m] = (
                    f"{head}, exactly half a cent: half-up gives {ours[m]}, published {s}; the "
                    "publisher's unrounded day values averaged just below the half"
                )
            else:
                verdicts[m] = EudaVerdict.DAY_ROUNDING
                reasons[m] = (
                    f"{head}, published {s}: within the one cent that rounding each day value to "
                    "the cent allows, and the row's means fit one set of unrounded day values"
                )
            continue
        blank = [d for d in sets[m] if days.get(d) is None]
        off = abs(exact_mean - s)
        if m in near:
            detail = "within a cent alone, but the row's means fit no one set of unrounded day values"
        else:
            detail = f"{_fmt(off)} apart, more than the one cent rounding allows"
        if blank:
            verdicts[m] = EudaVerdict.BLANK_DAY
            reasons[m] = (
                f"{head}, published {s}, {detail}; {', '.join(blank)} blank in the table, so the "
                "mean is not recomputable from what is printed"
            )
            filled = blank_filled_daily(stored, weekday_days, weekend_days) if m == "daily" else None
            if filled is not None and abs(filled - s) <= CENT:
                reasons[m] += (
                    f"; it is ({len(weekday_days)} × weekday mean + {len(weekend_days)} × weekend mean) "
                    f"÷ 7 = {_fmt(filled)}: the blank day counted at its set's mean"
                )
        else:
            verdicts[m] = EudaVerdict.NOT_DERIVABLE
            reasons[m] = f"{head}, published {s}, {detail}"
            if s < min(got) or s > max(got):
                reasons[m] += (
                    f"; outside the printed range {_fmt(min(got))}–{_fmt(max(got))}, which no mean "
                    "of these days can leave"
                )
    return MeansCheck(ours["weekday"], ours["weekend"], ours["daily"], verdicts, reasons)


def _exact_mean(values: Mapping[str, Decimal | None], days: Sequence[str]) -> Decimal:
    got = _printed(values, days)
    return sum(got, Decimal(0)) / len(got)


def blank_filled_daily(
    stored: Mapping[str, Decimal | None], weekday_days: Sequence[str], weekend_days: Sequence[str]
) -> Decimal | None:
    """The daily mean a publisher gets by weighting its stored weekday and weekend means by their
    full day counts, as if each blank day had its set's mean (None: a stored mean is missing)."""
    wd, we = stored.get("weekday"), stored.get("weekend")
    if wd is None or we is None:
        return None
    return (len(weekday_days) * wd + len(weekend_days) * we) / (len(weekday_days) + len(weekend_days))


def moved_name(by: int) -> str:
    """The day the Wednesday column's value belongs to when every value is moved `by` days."""
    return COLUMN_ORDER[by % len(COLUMN_ORDER)]


# ------------------------------------------------------------------------ monthly rises (seasonal)


@dataclass(frozen=True)
class MonthlyPoint:
    """One month of a published series: its load and standard error."""

    month: str  # YYYY-MM
    load: float
    se: float


@dataclass(frozen=True)
class MonthlyRise:
    """A month compared with the same month a year earlier (seasonality-aware by construction)."""

    month: str
    baseline_month: str
    load: float
    baseline: float
    z: float
    p: float
    significant: bool = False
    reasons: tuple[str, ...] = ()


def previous_year(month: str) -> str:
    """YYYY-MM a year earlier."""
    y, m = month.split("-")
    return f"{int(y) - 1:04d}-{m}"


def year_over_year(series: Sequence[MonthlyPoint]) -> list[MonthlyRise]:
    """One-sided z-test of each month against the same month a year earlier, from the published SEs.

    z = (x_t − x_{t−12}) / √(se_t² + se_{t−12}²); p = 1 − Φ(z). Comparing like months removes the
    seasonal component without having to estimate it (18 months are too few for STL).
    """
    by_month = {p.month: p for p in series}
    out: list[MonthlyRise] = []
    for p in sorted(series, key=lambda p: p.month):
        base = by_month.get(previous_year(p.month))
        if base is None:
            continue
        spread = math.hypot(p.se, base.se)
        if spread <= 0:
            continue
        z = (p.load - base.load) / spread
        out.append(MonthlyRise(p.month, base.month, p.load, base.load, z, float(stats.norm.sf(z))))
    return out


def benjamini_hochberg(pvalues: Sequence[float], q: float = 0.05) -> list[bool]:
    """Which p-values are significant at false-discovery rate q (Benjamini & Hochberg 1995)."""
    n = len(pvalues)
    if n == 0:
        return []
    order = np.argsort(pvalues)
    ranked = np.asarray(pvalues)[order]
    passed = ranked <= q * (np.arange(1, n + 1) / n)
    keep = np.zeros(n, dtype=bool)
    if passed.any():
        cutoff = int(np.max(np.nonzero(passed)[0]))
        keep[order[: cutoff + 1]] = True
    return [bool(k) for k in keep]


def flag_rises(tests: Sequence[MonthlyRise], q: float = 0.05) -> list[MonthlyRise]:
    """The tests with `significant` set: rises whose p passes Benjamini-Hochberg at q over all tests."""
    keep = benjamini_hochberg([t.p for t in tests], q)
    return [
        MonthlyRise(
            t.month,
            t.baseline_month,
            t.load,
            t.baseline,
            t.z,
            t.p,
            significant=k and t.z > 0,
            reasons=(f"yoy_rise:z={t.z:.2f},p={t.p:.4f},bh_q={q}",) if k and t.z > 0 else (),
        )
        for t, k in zip(tests, keep, strict=True)
    ]


# --------------------------------------------------------------------------- daily series (lab data)


@dataclass(frozen=True)
class DailyLoad:
    """One sample's load at a site for one residue."""

    day: date
    metabolite: str
    load: float


@dataclass(frozen=True)
class Rise:
    """The recent window against the site's own earlier baseline, for one residue."""

    metabolite: str
    recent_median: float
    baseline_median: float
    n_recent: int
    n_baseline: int
    p: float | None
    rising: bool
    reasons: tuple[str, ...]


def recent_rise(
    loads: Sequence[DailyLoad], *, until: date, recent_days: int = 28, alpha: float = 0.05, min_n: int = 4
) -> Rise | None:
    """One-sided Mann-Whitney U: are the last `recent_days` days' loads higher than the site's earlier ones?

    Rank-based, so one outlier does not make a trend, and no distribution is assumed. Too few samples
    on either side (< min_n) gives no test, said as a reason, rather than a guess.
    """
    if not loads:
        return None
    metabolite = loads[0].metabolite
    recent = [x.load for x in loads if 0 <= (until - x.day).days < recent_days]
    base = [x.load for x in loads if (until - x.day).days >= recent_days]
    rm = float(np.median(recent)) if recent else float("nan")
    bm = float(np.median(base)) if base else float("nan")
    if len(recent) < min_n or len(base) < min_n:
        return Rise(metabolite, rm, bm, len(recent), len(base), None, False, ("too_few_samples",))
    p = float(stats.mannwhitneyu(recent, base, alternative="greater").pvalue)
    rising = p < alpha and rm > bm
    reasons = (f"mann_whitney_greater:p={p:.4f}",) if rising else ()
    return Rise(metabolite, rm, bm, len(recent), len(base), p, rising, reasons)


@dataclass(frozen=True)
class WeekPattern:
    """Mean load on weekend days (Saturday, Sunday) against the other days, with a rank test."""

    weekday_mean: float
    weekend_mean: float
    ratio: float | None
    p: float | None


def week_pattern(loads: Sequence[DailyLoad]) -> WeekPattern | None:
    """The weekday/weekend pattern of one residue's loads (recreational drugs peak at weekends)."""
    wk = [x.load for x in loads if x.day.weekday() < 5]
    we = [x.load for x in loads if x.day.weekday() >= 5]
    if not wk or not we:
        return None
    a, b = float(np.mean(wk)), float(np.mean(we))
    p = (
        float(stats.mannwhitneyu(we, wk, alternative="two-sided").pvalue)
        if len(wk) > 1 and len(we) > 1
        else None
    )
    return WeekPattern(a, b, b / a if a > 0 else None, p)


# ------------------------------------------------------------------------------------------ dumping

# Methamphetamine is partly excreted as amphetamine: consumption of methamphetamine alone leaves an
# amphetamine/methamphetamine ratio of about 0.05-0.25 in sewage (issue #22's anchor). Below it,
# methamphetamine arrived unmetabolised (dumping suspected); above it, amphetamine came from another
# source: dumping, or amphetamine consumed as such (common in northern Europe) - the flag says which.
RATIO_LOW = 0.05
RATIO_HIGH = 0.25
# A robust z (median/MAD of the site's own series) above this is a spike (Iglewicz & Hoaglin's 3.5).
SPIKE_Z = 3.5
# The other residues count as having moved with it when their robust z exceeds this.
CO_MOVE_Z = 2.0
# The smallest scale of a robust z, relative to the median: about a laboratory's repeatability.
MIN_REL_SCALE = 0.10
# A spike is one day: the residue's next sample within this many days is back in its range.
ISOLATION_DAYS = 7


@dataclass(frozen=True)
class Flag:
    """A dumping suspicion on one sample day at one site, with its reasons."""

    day: date
    metabolite: str
    reasons: tuple[str, ...]


def ratio_flag(day: date, amphetamine_ng_l: float, methamphetamine_ng_l: float) -> Flag | None:
    """Amphetamine/methamphetamine concentration ratio outside 0.05-0.25 (no flag without methamphetamine)."""
    if methamphetamine_ng_l <= 0:
        return None
    ratio = amphetamine_ng_l / methamphetamine_ng_l
    if ratio < RATIO_LOW:
        return Flag(day, "methamphetamine", (f"amp_meth_ratio_below:{ratio:.3f}<{RATIO_LOW}",))
    if ratio > RATIO_HIGH:
        return Flag(day, "amphetamine", (f"amp_meth_ratio_above:{ratio:.3f}>{RATIO_HIGH}",))
    return None


def robust_z(value: float, history: Sequence[float]) -> float | None:
    """(value − median) / scale of the history, the scale 1.4826 × MAD but at least 10% of the median
    (a laboratory's repeatability: a very steady series must not make every small change a spike).
    None with fewer than 5 points or a zero scale."""
    if len(history) < 5:
        return None
    h = np.asarray(history, dtype=float)
    med = float(np.median(h))
    scale = max(float(np.median(np.abs(h - med))) * 1.4826, MIN_REL_SCALE * abs(med))
    if scale <= 0:
        return None
    return (value - med) / scale


def spike_flags(loads: Sequence[DailyLoad], *, history_days: int = 56) -> list[Flag]:
    """A residue's load spike (robust z > 3.5 against the site's previous `history_days`) while every
    other residue measured that day stayed within its own range (z ≤ 2), the sample before was in range
    and the next one is again (z ≤ 2, within 7 days): a discharge, not a party and not a lasting change. A spike on the
    latest sample cannot be checked for that yet and says so (`spike_alone_latest`)."""
    by_met: dict[str, list[DailyLoad]] = {}
    for x in loads:
        by_met.setdefault(x.metabolite, []).append(x)
    zs: dict[tuple[str, date], float] = {}
    for met, xs in by_met.items():
        xs.sort(key=lambda x: x.day)
        for x in xs:
            hist = [y.load for y in xs if 0 < (x.day - y.day).days <= history_days]
            z = robust_z(x.load, hist)
            if z is not None:
                zs[(met, x.day)] = z
    flags: list[Flag] = []
    for (met, day), z in sorted(zs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if z <= SPIKE_Z:
            continue
        others = {m: zs[(m, day)] for m in by_met if m != met and (m, day) in zs}
        if not others or any(v > CO_MOVE_Z for v in others.values()):
            continue
        earlier = [x for x in by_met[met] if 0 < (day - x.day).days <= ISOLATION_DAYS]
        if earlier and zs.get((met, earlier[-1].day), 0.0) > CO_MOVE_Z:
            continue  # the day before was high too: a lasting change, not one discharge
        later = [x for x in by_met[met] if 0 < (x.day - day).days <= ISOLATION_DAYS]
        top = max(others.values())
        if not later:
            flags.append(Flag(day, met, (f"spike_alone_latest:z={z:.1f},others_max_z={top:.1f}",)))
            continue
        hist = [y.load for y in by_met[met] if 0 < (day - y.day).days <= history_days]
        after = robust_z(later[0].load, hist)
        if after is not None and after <= CO_MOVE_Z:
            flags.append(Flag(day, met, (f"spike_alone:z={z:.1f},others_max_z={top:.1f}",)))
    return flags
