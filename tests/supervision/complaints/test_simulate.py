"""The simulator's complaints: deterministic per seed, two years with fewer in the second, repeats
and duplicates of a matter, and written through the actions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from pingan.core import clock, db
from pingan.core.auth import User
from pingan.supervision.complaints.choices import ComplaintStatus
from pingan.supervision.complaints.model import Complaint, ComplaintLink
from pingan.supervision.complaints.simulate import District, generate, load

START = datetime(2024, 3, 1, tzinfo=UTC)
YULIN = District(
    stations=["WH-YL", "WH-JTQ"],
    officers={"WH-YL": ["officer_li"], "WH-JTQ": ["officer_wu"]},
    incidents={"WH-YL": [11, 12, 13], "WH-JTQ": [21, 22]},
    cases={"WH-YL": [5], "WH-JTQ": []},
)


def test_the_same_seed_writes_the_same_complaints() -> None:
    a = generate(7, YULIN, start=START, per_station_year=40)
    b = generate(7, YULIN, start=START, per_station_year=40)
    assert [(f.received_at, f.text, f.phone) for f in a] == [(f.received_at, f.text, f.phone) for f in b]
    assert [f.text for f in generate(8, YULIN, start=START, per_station_year=40)] != [f.text for f in a]


def test_the_second_year_has_about_a_third_fewer_matters() -> None:
    filings = generate(3, YULIN, start=START, per_station_year=300)
    first = {f.matter for f in filings if f.received_at < START + timedelta(days=365)}
    all_matters = {f.matter for f in filings}
    second = len(all_matters) - len(first)
    assert 0.55 < second / len(first) < 0.80


def test_some_matters_are_raised_again_by_the_same_person_and_some_by_another() -> None:
    filings = generate(3, YULIN, start=START, per_station_year=300)
    per_matter = Counter(f.matter for f in filings)
    repeated = {m for m, n in per_matter.items() if n > 1}
    assert 0.2 < len(repeated) / len(per_matter) < 0.4
    people = {m: {f.person for f in filings if f.matter == m} for m in repeated}
    assert any(len(p) > 1 for p in people.values()) and any(len(p) == 1 for p in people.values())


def test_every_filing_is_about_a_subject_of_the_district() -> None:
    for f in generate(3, YULIN, start=START, per_station_year=100):
        refs = {
            "officer": YULIN.officers[f.station_code],
            "incident": [str(i) for i in YULIN.incidents[f.station_code]],
            "case": [str(i) for i in YULIN.cases[f.station_code]],
            "unit": [f.station_code],
        }
        assert f.subject_ref in refs[f.subject_kind.value]


def test_loading_writes_the_complaints_through_the_actions_with_their_links(
    handlers: dict[str, User], supervisor_liu: User
) -> None:
    now = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
    with clock.frozen(now), db.transaction() as s:
        n = load(s, seed=5, per_station_year=8, now=now)
    with db.transaction() as s:
        assert n == s.scalar(select(func.count()).select_from(Complaint)) and n > 10
        assert (s.scalar(select(func.count()).select_from(ComplaintLink)) or 0) > 0
        statuses = set(s.scalars(select(Complaint.status)).all())
        assert ComplaintStatus.ANSWERED in statuses
