"""The EUDA/SCORE means check, rule by rule, on rows as the 2025 release prints them (day values in its
column order, Wednesday to Tuesday; the stored weekday, weekend and daily means): when a stored mean is
reproduced exactly, and, when it is not, which verdict it gets and why."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from pingan.narcotics import rules
from pingan.narcotics.choices import EudaVerdict

CONSISTENT = {EudaVerdict.EXACT, EudaVerdict.HALF_CENT_TIE, EudaVerdict.DAY_ROUNDING}


def _days(*values: str | None) -> dict[str, Decimal | None]:
    # In the EUDA column order: Wednesday to Tuesday.
    return {d: None if v is None else Decimal(v) for d, v in zip(rules.COLUMN_ORDER, values, strict=True)}


def _stored(weekday: str | None, weekend: str | None, daily: str | None) -> dict[str, Decimal | None]:
    return {
        m: None if v is None else Decimal(v)
        for m, v in (("weekday", weekday), ("weekend", weekend), ("daily", daily))
    }


def test_graz_2024_mdma_means_are_reproduced_exactly_from_its_day_values() -> None:
    # AT001, 2024, MDMA: weekday = Tue-Thu, weekend = Fri-Mon, daily = all seven.
    days = _days("8.82", "12.87", "12.45", "28.11", "26.8", "10.5", "9.13")
    got = rules.check_euda_means(2024, days, _stored("10.27", "19.47", "15.53"))
    assert (got.weekday, got.weekend, got.daily) == (Decimal("10.27"), Decimal("19.47"), Decimal("15.53"))
    assert set(got.verdicts.values()) == {EudaVerdict.EXACT}


def test_a_mean_of_exactly_half_a_cent_is_recomputed_half_up_in_decimals_not_floats() -> None:
    # Graz's weekend: 77.86 / 4 = 19.465 gives 19.47 (printed so); half-even would give 19.46.
    values = _days("8.82", "12.87", "12.45", "28.11", "26.8", "10.5", "9.13")
    assert rules.mean_2dp(values, rules.WEEKEND_DAYS) == Decimal("19.47")


def test_the_textbook_split_of_mon_fri_and_sat_sun_does_not_reproduce_them() -> None:
    days = _days("8.82", "12.87", "12.45", "28.11", "26.8", "10.5", "9.13")
    got = rules.check_euda_means(2024, days, _stored("10.27", "19.47", "15.53"), naive=True)
    assert got.verdicts["weekday"] is EudaVerdict.NOT_DERIVABLE
    assert got.verdicts["weekend"] is EudaVerdict.NOT_DERIVABLE
    assert got.verdicts["daily"] is EudaVerdict.EXACT


def test_2021_means_use_tuesday_to_friday_and_saturday_to_monday() -> None:
    assert rules.day_sets(2021) == (rules.WEEKDAY_DAYS_2021, rules.WEEKEND_DAYS_2021)
    days = _days("1", "2", "3", "10", "20", "30", "4")
    got = rules.check_euda_means(2021, days, _stored("2.5", "20", "10"))
    assert set(got.verdicts.values()) == {EudaVerdict.EXACT}


def test_a_blank_day_is_left_out_of_its_mean() -> None:
    # Thursday blank: Tue-Thu is (2 + 1) / 2, the week (1 + 3 + 4 + 5 + 6 + 2) / 6.
    days = _days("1.00", None, "3.00", "4.00", "5.00", "6.00", "2.00")
    got = rules.check_euda_means(2024, days, _stored("1.50", "4.50", "3.50"))
    assert (got.weekday, got.daily) == (Decimal("1.50"), Decimal("3.50"))
    assert set(got.verdicts.values()) == {EudaVerdict.EXACT}


def test_a_half_cent_tie_printed_rounded_down_is_a_tie_not_a_mismatch() -> None:
    # BE005 Brussels 2024 MDMA: Fri-Mon (30.84 + 110.28 + 172.71 + 105.99) / 4 = 104.955 exactly;
    # half-up gives 104.96, the table prints 104.95: its unrounded day values averaged just below.
    days = _days("31.65", "30.23", "30.84", "110.28", "172.71", "105.99", "57.07")
    got = rules.check_euda_means(2024, days, _stored("39.65", "104.95", "76.97"))
    assert got.weekend == Decimal("104.96")
    assert got.verdicts["weekend"] is EudaVerdict.HALF_CENT_TIE
    assert "104.955" in got.reasons["weekend"]


def test_one_cent_off_is_day_rounding_when_the_rows_means_fit_one_set_of_unrounded_days() -> None:
    # TR001 Adana 2022 MDMA: Tue-Thu (8.17 + 7.96 + 6.96) / 3 = 7.6967 rounds to 7.70; printed 7.69,
    # which day values each up to half a cent lower give, and the weekend and daily means still fit.
    days = _days("7.96", "6.96", "6.36", "8.83", "12.7", "8.42", "8.17")
    got = rules.check_euda_means(2022, days, _stored("7.69", "9.08", "8.48"))
    assert got.verdicts["weekday"] is EudaVerdict.DAY_ROUNDING


def test_one_cent_off_is_not_rounding_when_no_one_set_of_unrounded_days_gives_all_three_means() -> None:
    # BR019 Niterói 2024 amphetamine: weekday 2.22 needs Tue-Thu (printed 6.63 in all) at their upper
    # limit 6.645; weekend 1.82 needs Fri-Mon at least 7.26: the week is then at least 13.905, but a
    # daily mean of 1.98 allows at most 7 × 1.985 = 13.895. Each cent alone fits; together they do not.
    days = _days("2.12", "2.39", "2.22", "1.65", "1.36", "2.04", "2.12")
    stored = _stored("2.22", "1.82", "1.98")
    assert rules.within_day_rounding(Decimal("6.63"), 3, Decimal("2.22"))
    assert not rules.fits_rounded_days(days, stored, rules.WEEKDAY_DAYS, rules.WEEKEND_DAYS)
    got = rules.check_euda_means(2024, days, stored)
    assert got.verdicts["weekend"] is EudaVerdict.EXACT
    assert got.verdicts["weekday"] is EudaVerdict.NOT_DERIVABLE
    assert got.verdicts["daily"] is EudaVerdict.NOT_DERIVABLE


def test_day_values_printed_one_column_late_are_found_when_moving_them_a_day_earlier_fits() -> None:
    # GB001 Bristol 2015 MDMA: as printed Tue-Thu give 32.98, stored 21.51; read the Wednesday column
    # as Tuesday (every value a day earlier) and Tue-Thu are 25.37, 22.89, 16.26: 21.51.
    days = _days("25.37", "22.89", "16.26", "34.91", "111.76", "109.93", "50.67")
    got = rules.check_euda_means(2015, days, _stored("21.51", "76.82", "53.11"))
    assert got.verdicts["weekday"] is EudaVerdict.DAYS_ONE_COLUMN_OFF
    assert got.verdicts["weekend"] is EudaVerdict.DAYS_ONE_COLUMN_OFF
    assert got.verdicts["daily"] is EudaVerdict.EXACT  # a week's mean does not care which day is which
    assert "earlier" in got.reasons["weekday"] and "Tuesday" in got.reasons["weekday"]
    moved = rules.moved_one_column(days, -1)
    assert rules.mean_2dp(moved, rules.WEEKDAY_DAYS) == Decimal("21.51")


def test_day_values_printed_one_column_early_are_found_when_moving_them_a_day_later_fits() -> None:
    # FR003 Bordeaux 2016 MDMA: the Wednesday column read as Thursday gives the stored 10.72.
    days = _days("15.59", "7.75", "11.55", "9.89", "35.36", "13.55", "3.03")
    got = rules.check_euda_means(2016, days, _stored("10.72", "16.14", "13.82"))
    assert got.verdicts["weekday"] is EudaVerdict.DAYS_ONE_COLUMN_OFF
    assert "later" in got.reasons["weekday"]


def test_a_mean_whose_set_has_a_blank_day_and_misses_by_more_than_a_cent_is_a_blank_day_verdict() -> None:
    # FI003 Huittinen 2024 MDMA, Friday blank: the six printed days average 3.0967, the table 2.75.
    days = _days("5.08", "0.7", None, "0.44", "5.45", "5.77", "1.14")
    got = rules.check_euda_means(2024, days, _stored("1.9", "3.89", "2.75"))
    assert got.verdicts["daily"] is EudaVerdict.BLANK_DAY
    assert "Friday blank" in got.reasons["daily"]


def test_a_blank_day_counted_at_its_sets_mean_is_named_when_the_daily_mean_shows_it() -> None:
    # DK003 Copenhagen 2013 amphetamine, Tuesday blank: (3 × 28.08 + 4 × 32.57) / 7 = 30.6457 → 30.64.
    days = _days("27.89", "30.9", "35.32", "30.28", "37.22", "27.45", None)
    got = rules.check_euda_means(2013, days, _stored("28.08", "32.57", "30.64"))
    assert got.verdicts["daily"] is EudaVerdict.BLANK_DAY
    assert "counted at its set's mean" in got.reasons["daily"]


def test_a_mean_farther_than_a_cent_from_its_fully_printed_days_is_not_derivable() -> None:
    # BR005 Belo Horizonte 2024 MDMA: Tue-Thu (5.64 + 11.35 + 4.67) / 3 = 7.22, the table 6.36.
    days = _days("11.35", "4.67", "15.23", "6.75", "5.77", "10.54", "5.64")
    got = rules.check_euda_means(2024, days, _stored("6.36", "9.57", "8.34"))
    assert got.verdicts["weekday"] is EudaVerdict.NOT_DERIVABLE
    assert "0.86 apart" in got.reasons["weekday"]


def test_a_mean_outside_the_range_of_its_days_is_said_to_be_impossible_for_any_mean_of_them() -> None:
    # BE001 Antwerp 2014 MDMA: the weekday mean 8.87 is below every Tue-Thu value (15.88, 15.05, 11.56).
    days = _days("15.05", "11.56", "23.14", "15.53", "24.68", "34.56", "15.88")
    got = rules.check_euda_means(2014, days, _stored("8.87", "22.66", "20.06"))
    assert got.verdicts["weekday"] is EudaVerdict.NOT_DERIVABLE
    assert "outside the printed range 11.56–15.88" in got.reasons["weekday"]


def test_a_mean_with_no_stored_value_or_no_printed_day_is_not_compared() -> None:
    days = _days(None, None, "5.57", "12.95", None, None, None)
    got = rules.check_euda_means(2022, days, _stored(None, "9.26", "9.26"))
    assert got.verdicts["weekday"] is EudaVerdict.ABSENT


def test_half_cent_ties_are_found_exactly() -> None:
    assert rules.is_half_cent_tie(Decimal("77.86"), 4)  # 19.465
    assert not rules.is_half_cent_tie(Decimal("77.85"), 4)  # 19.4625
    assert not rules.is_half_cent_tie(Decimal("6.63"), 3)  # 2.21


@given(
    st.lists(st.integers(min_value=0, max_value=50_000_000), min_size=7, max_size=7),
    st.sampled_from([2021, 2024]),
)
def test_a_row_printed_from_unrounded_day_values_never_reads_as_inconsistent(
    micro_units: list[int], year: int
) -> None:
    # Any true day values (to 10⁻⁶), printed to the cent, with means taken of the true values and
    # rounded half-up as the publisher does: every verdict says consistent, never inconsistent.
    true = {d: Decimal(v) / 1_000_000 for d, v in zip(rules.COLUMN_ORDER, micro_units, strict=True)}
    cent = Decimal("0.01")
    printed: dict[str, Decimal | None] = {
        d: v.quantize(cent, rounding=ROUND_HALF_UP) for d, v in true.items()
    }
    wd, we = rules.day_sets(year)

    def published(days: tuple[str, ...]) -> Decimal:
        return (sum((true[d] for d in days), Decimal(0)) / len(days)).quantize(cent, rounding=ROUND_HALF_UP)

    stored: dict[str, Decimal | None] = {
        "weekday": published(wd),
        "weekend": published(we),
        "daily": published(rules.DAYS),
    }
    got = rules.check_euda_means(year, printed, stored)
    assert set(got.verdicts.values()) <= CONSISTENT, got.reasons
