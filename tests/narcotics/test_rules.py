"""The pure wastewater rules, on hand-written values: loads and their units, the
year-over-year rises, the rank test of a site's recent loads, the week pattern and the dumping flags."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.narcotics import rules
from pingan.narcotics.factors import load_factors

RESIDUE = rules.Factor(1.0, 0.0, "residue")
COCAINE = rules.Factor(3.59, 0.26, "Castiglioni et al. 2013")


def test_the_load_is_concentration_times_flow_over_population_in_mg_per_day_per_1000() -> None:
    # 500 ng/L × 100 000 m³/day × 1000 L/m³ = 5·10¹⁰ ng/day = 50 000 mg/day, over 300 thousand people.
    load = rules.load_per_1000(
        500, 100_000, 300_000, RESIDUE, rel_se_concentration=0, rel_se_flow=0, rel_se_population=0
    )
    assert load.value == pytest.approx(50_000 / 300)
    assert load.se == 0


def test_a_correction_factor_converts_benzoylecgonine_to_cocaine_and_adds_its_error() -> None:
    load = rules.load_per_1000(
        500, 100_000, 300_000, COCAINE, rel_se_concentration=0.1, rel_se_flow=0.05, rel_se_population=0.0
    )
    assert load.value == pytest.approx(50_000 / 300 * 3.59)
    assert load.se == pytest.approx(load.value * math.sqrt(0.1**2 + 0.05**2 + 0.26**2))
    low, high = load.ci95 or (0, 0)
    assert low < load.value < high


def test_an_unknown_error_leaves_the_load_s_error_unknown_rather_than_zero() -> None:
    assert rules.load_per_1000(500, 100_000, 300_000, COCAINE).se is None


def test_a_zero_flow_or_population_or_a_negative_concentration_is_refused() -> None:
    with pytest.raises(ValueError, match="flow"):
        rules.load_per_1000(500, 0, 300_000, RESIDUE)
    with pytest.raises(ValueError, match="population"):
        rules.load_per_1000(500, 1, 0, RESIDUE)
    with pytest.raises(ValueError, match="concentration"):
        rules.load_per_1000(-1, 1, 1, RESIDUE)


@given(c=st.floats(0, 1e6), q=st.floats(1, 1e7), p=st.integers(1, 10_000_000), k=st.floats(0.1, 10))
def test_the_load_is_never_negative_and_doubles_with_the_concentration(
    c: float, q: float, p: int, k: float
) -> None:
    f = rules.Factor(k, 0.0, "test")
    one = rules.load_per_1000(c, q, p, f).value
    two = rules.load_per_1000(2 * c, q, p, f).value
    assert one >= 0
    assert two == pytest.approx(2 * one, rel=1e-12, abs=1e-300)


def test_the_shipped_factors_cite_a_source_and_leave_cannabis_unconverted() -> None:
    table = load_factors()
    assert table.get("consumption", "benzoylecgonine") == rules.Factor(
        3.59, 0.26, table.sets["consumption"]["benzoylecgonine"].source
    )
    assert "Castiglioni" in table.sets["consumption"]["benzoylecgonine"].source
    assert table.get("consumption", "thc_cooh") is None
    assert table.get("residue", "thc_cooh") == rules.Factor(
        1.0, 0.0, table.sets["residue"]["thc_cooh"].source
    )


def test_a_factor_without_a_source_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "f.toml"
    bad.write_text('[consumption]\nmdma = { factor = 6.67, rel_se = 0.1, source = "" }\n')
    with pytest.raises(ValueError, match=r"\[consumption\]\.mdma\.source"):
        load_factors(bad)


def test_se_from_a_95_percent_ci_is_its_half_width_over_1_96() -> None:
    assert rules.se_from_ci(88.78, 155.56) == pytest.approx((155.56 - 88.78) / 2 / 1.959964, rel=1e-6)


def _series(values: dict[str, tuple[float, float]]) -> list[rules.MonthlyPoint]:
    return [rules.MonthlyPoint(m, v, se) for m, (v, se) in values.items()]


def test_a_month_far_above_the_same_month_a_year_earlier_is_a_significant_rise() -> None:
    series = _series({"2022-03": (100, 5), "2022-04": (200, 5), "2023-03": (140, 5), "2023-04": (201, 5)})
    tests = rules.year_over_year(series)
    assert [(t.month, t.baseline_month) for t in tests] == [("2023-03", "2022-03"), ("2023-04", "2022-04")]
    flagged = rules.flag_rises(tests)
    assert [f.month for f in flagged if f.significant] == ["2023-03"]
    assert flagged[0].reasons[0].startswith("yoy_rise:z=5.66")


def test_a_seasonal_peak_is_not_a_rise_when_last_year_s_same_month_peaked_too() -> None:
    # April is high both years: against March (the month before) it would look like a doubling.
    series = _series({"2022-03": (100, 5), "2022-04": (200, 5), "2023-03": (100, 5), "2023-04": (205, 5)})
    assert not any(f.significant for f in rules.flag_rises(rules.year_over_year(series)))


def test_a_fall_is_never_flagged_as_a_rise() -> None:
    series = _series({"2022-03": (200, 5), "2023-03": (100, 5)})
    assert not rules.flag_rises(rules.year_over_year(series))[0].significant


def test_benjamini_hochberg_keeps_the_smallest_p_values_up_to_the_last_one_under_its_line() -> None:
    # ranks: 0.01 ≤ 0.0125 yes; 0.03 ≤ 0.025 no; 0.04 ≤ 0.0375 no; 0.5 no → only the first.
    assert rules.benjamini_hochberg([0.01, 0.04, 0.03, 0.5], q=0.05) == [True, False, False, False]
    # 0.02 ≤ 0.025 (rank 2 of 4): both of the smallest pass.
    assert rules.benjamini_hochberg([0.001, 0.02, 0.3, 0.9], q=0.05) == [True, True, False, False]


D0 = date(2026, 9, 1)


def _loads(met: str, values: list[float], start: date = D0) -> list[rules.DailyLoad]:
    return [rules.DailyLoad(start + timedelta(days=i), met, v) for i, v in enumerate(values)]


def test_the_last_four_weeks_above_the_site_s_earlier_loads_are_a_rise() -> None:
    xs = _loads("mdma", [10.0 + (i % 3) for i in range(60)] + [20.0 + (i % 3) for i in range(28)])
    got = rules.recent_rise(xs, until=xs[-1].day)
    assert got is not None and got.rising and got.p is not None and got.p < 0.001
    assert got.n_recent == 28 and got.n_baseline == 60


def test_a_flat_series_with_one_high_day_is_not_a_rise() -> None:
    xs = _loads("mdma", [10.0 + (i % 5) for i in range(88)])
    xs[-1] = rules.DailyLoad(xs[-1].day, "mdma", 200.0)
    got = rules.recent_rise(xs, until=xs[-1].day)
    assert got is not None and not got.rising


def test_too_few_samples_give_no_test_and_say_so() -> None:
    got = rules.recent_rise(_loads("mdma", [1, 2, 3]), until=D0 + timedelta(days=40))
    assert got is not None and got.p is None and got.reasons == ("too_few_samples",)


def test_weekend_loads_above_weekday_loads_show_in_the_week_pattern() -> None:
    # 2026-09-05 is a Saturday.
    xs = [
        rules.DailyLoad(
            D0 + timedelta(days=i), "mdma", 30.0 if (D0 + timedelta(days=i)).weekday() >= 5 else 10.0
        )
        for i in range(28)
    ]
    w = rules.week_pattern(xs)
    assert w is not None and w.ratio == pytest.approx(3.0) and w.p is not None and w.p < 0.01


@pytest.mark.parametrize(
    ("amp", "meth", "expected"),
    [
        (1.0, 100.0, "amp_meth_ratio_below:0.010<0.05"),
        (10.0, 100.0, None),
        (50.0, 100.0, "amp_meth_ratio_above:0.500>0.25"),
        (50.0, 0.0, None),
    ],
)
def test_the_amphetamine_to_methamphetamine_ratio_outside_0_05_to_0_25_is_flagged(
    amp: float, meth: float, expected: str | None
) -> None:
    got = rules.ratio_flag(D0, amp, meth)
    assert (got.reasons[0] if got else None) == expected


def test_a_spike_in_one_residue_alone_is_flagged_but_not_when_all_rise_together() -> None:
    base = [10.0 + (i % 4) for i in range(40)]
    alone = (
        _loads("methamphetamine", [*base, 200.0, 11.0])
        + _loads("mdma", [*base, 11.0, 12.0])
        + _loads("benzoylecgonine", [*base, 12.0, 10.0])
    )
    flags = rules.spike_flags(alone)
    assert [(f.day, f.metabolite) for f in flags] == [(D0 + timedelta(days=40), "methamphetamine")]
    assert flags[0].reasons[0].startswith("spike_alone:z=")
    together = _loads("methamphetamine", [*base, 200.0, 11.0]) + _loads("mdma", [*base, 90.0, 11.0])
    assert rules.spike_flags(together) == []


def test_a_lasting_step_up_is_a_trend_not_a_spike() -> None:
    base = [10.0 + (i % 4) for i in range(40)]
    step = _loads("benzoylecgonine", [*base, *[30.0] * 10]) + _loads("mdma", [*base, *[11.0] * 10])
    assert rules.spike_flags(step) == []


def test_a_spike_on_the_latest_sample_is_flagged_as_not_yet_confirmed() -> None:
    base = [10.0 + (i % 4) for i in range(40)]
    flags = rules.spike_flags(_loads("methamphetamine", [*base, 200.0]) + _loads("mdma", [*base, 11.0]))
    assert [f.reasons[0].split(":")[0] for f in flags] == ["spike_alone_latest"]


def test_a_very_steady_series_does_not_make_a_ten_percent_change_a_spike() -> None:
    assert rules.robust_z(11.0, [10.0] * 10) == pytest.approx(1.0)
