"""Many rows in one statement (`core.bulk`): the same results on SQLite and on PostgreSQL, whatever
the number of rows."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from pingan.antifraud.reports.model import FraudCluster
from pingan.core import bulk, clock
from pingan.core.org import Station

CLUSTERS = cast(Table, FraudCluster.__table__)
STATIONS = cast(Table, Station.__table__)


def _stations(session: Session, n: int) -> None:
    rows = [
        {"code": f"S{i:03d}", "name": f"station {i}", "lat": 30.0 + i, "lon": 104.0, "area_geojson": None}
        for i in range(n)
    ]
    bulk.insert_rows(session, STATIONS, rows)


@pytest.mark.parametrize("n", [1, 7, 250])
def test_inserted_ids_come_back_in_the_order_of_the_rows(session: Session, n: int) -> None:
    start = clock.now()
    rows = [{"created_at": start + timedelta(seconds=i)} for i in range(n)]
    ids = bulk.insert_rows(session, CLUSTERS, rows, return_ids=True)
    stored = dict(session.execute(select(FraudCluster.id, FraudCluster.created_at)).all())
    assert len(ids) == n
    assert [stored[i] for i in ids] == [r["created_at"] for r in rows]


def test_rows_naming_different_columns_are_refused_before_anything_is_written(session: Session) -> None:
    rows = [{"created_at": clock.now()}, {"created_at": clock.now(), "merged_into_id": None}]
    with pytest.raises(ValueError, match="fraud_cluster"):
        bulk.insert_rows(session, CLUSTERS, rows)
    assert session.execute(select(FraudCluster.id)).first() is None


def test_no_rows_is_no_statement(session: Session) -> None:
    assert bulk.insert_rows(session, CLUSTERS, [], return_ids=True) == []
    assert bulk.update_rows(session, STATIONS, [], match={"_code": "code"}) == 0


def test_any_of_finds_exactly_the_rows_named_however_many(session: Session) -> None:
    _stations(session, 30)
    for wanted in (set(), {"S001"}, {f"S{i:03d}" for i in range(0, 30, 3)} | {"nowhere"}):
        q = select(Station.code).where(bulk.any_of(session, Station.code, wanted))
        assert set(session.execute(q).scalars()) == wanted - {"nowhere"}


def test_a_guarded_update_changes_only_the_rows_still_as_the_guard_says(session: Session) -> None:
    _stations(session, 3)
    rows = [
        {"_code": "S000", "_name": "station 0", "lat": 1.0},
        {"_code": "S001", "_name": "renamed meanwhile", "lat": 2.0},
        {"_code": "S002", "_name": "station 2", "lat": 3.0},
    ]
    done = bulk.update_rows(session, STATIONS, rows, match={"_code": "code", "_name": "name"})
    lats = dict(session.execute(select(Station.code, Station.lat)).all())
    assert lats == {"S000": 1.0, "S001": 31.0, "S002": 3.0}
    # The count is what the caller checks a guard by; None only from a driver that cannot count.
    counts = session.get_bind().dialect.supports_sane_multi_rowcount
    assert done == (2 if counts else None)


def test_an_update_sets_each_row_its_own_values(session: Session) -> None:
    _stations(session, 40)
    rows = [{"_code": f"S{i:03d}", "name": f"renamed {i}", "lon": float(i)} for i in range(40)]
    bulk.update_rows(session, STATIONS, rows, match={"_code": "code"}, lock_in_id_order=False)
    got = session.execute(select(Station.code, Station.name, Station.lon).order_by(Station.code)).all()
    assert [(c, n, lon) for c, n, lon in got] == [(f"S{i:03d}", f"renamed {i}", float(i)) for i in range(40)]
