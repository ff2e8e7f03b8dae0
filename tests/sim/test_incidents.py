"""The synthetic 110 year: the same seed gives the same calls, and the year-over-year falls come out
of the configured trends."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pingan.sim import incidents

SHORT = incidents.IncidentParams(seed=5, start=date(2025, 1, 1), until=date(2025, 1, 10), calls_per_day=30)


def test_the_same_seed_writes_the_same_file_and_another_seed_another(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    incidents.write_jsonl(SHORT, a)
    incidents.write_jsonl(SHORT, b)
    incidents.write_jsonl(incidents.IncidentParams(seed=6, start=SHORT.start, until=SHORT.until), c)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_calls_come_in_time_order_with_duplicates_after_their_first_call_and_hoaxes_closed() -> None:
    calls = list(incidents.generate_calls(SHORT))
    assert [c.received_at for c in calls] == sorted(c.received_at for c in calls)
    assert [c.seq for c in calls] == list(range(len(calls)))
    by_seq = {c.seq: c for c in calls}
    dups = [c for c in calls if c.kind == "duplicate"]
    assert dups, "a share of incidents gets duplicate calls"
    for d in dups:
        first = by_seq[d.duplicate_of or 0]
        assert first.kind == "new" and first.received_at < d.received_at
        assert first.category_code == d.category_code
    assert {c.kind for c in calls if c.category_code.startswith("06")} == {"hoax"}
    # Some callers call more than once (a Zipf-weighted pool).
    phones = [c.caller_phone for c in calls if c.caller_phone]
    assert len(set(phones)) < len(phones)


def test_pickpocketing_falls_year_over_year_by_its_configured_trend_within_tolerance() -> None:
    params = incidents.IncidentParams(
        seed=3, start=date(2025, 1, 1), until=date(2026, 6, 30), calls_per_day=80
    )
    calls = list(incidents.generate_calls(params))
    before, now, change = incidents.year_over_year(calls, {"010102"}, through=(6, 30))
    assert before > 300
    # The trend is geometric over the days: the same half-year a year later is `trend` times as large.
    assert abs(change - (params.trends["010102"] - 1)) < 0.06, (before, now, change)
    # Calls with no trend stay level.
    flat_before, flat_now, flat = incidents.year_over_year(calls, {"030102"}, through=(6, 30))
    assert abs(flat) < 0.08, (flat_before, flat_now)


def test_e_bike_theft_peaks_in_summer_and_building_fire_in_winter() -> None:
    params = incidents.IncidentParams(
        seed=2, start=date(2025, 1, 1), until=date(2025, 12, 31), calls_per_day=80
    )
    months: dict[str, list[int]] = {"010103": [0] * 13, "040101": [0] * 13}
    for c in incidents.generate_calls(params):
        if c.category_code in months:
            months[c.category_code][(c.received_at + incidents.BEIJING).month] += 1
    ebike, fire = months["010103"], months["040101"]
    assert ebike[7] > 1.5 * ebike[1]
    assert fire[1] > 1.5 * fire[7]
