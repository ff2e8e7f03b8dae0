"""Import by mapping: a CSV's columns mapped to incident fields, GCJ-02 converted to WGS-84, bad rows
quarantined with line and field, the good ones written through the same action as a taken call."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pingan.cli import app
from pingan.command import imports, stats
from pingan.command.datum import gcj02_to_wgs84, wgs84_to_gcj02
from pingan.command.model import Incident
from pingan.core import db
from pingan.core.audit import AuditEntry
from tests.command.conftest import YULIN
from tests.conftest import SYSTEM

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "import_sample.csv"
MAPPING = Path(__file__).parents[2] / "docs" / "examples" / "incident_mapping.toml"


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points, in metres."""
    (la1, lo1), (la2, lo2) = (tuple(math.radians(v) for v in p) for p in (a, b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


# Published pairs (WGS-84, GCJ-02) as (lat, lon): the example of the coordtransform library
# (Tiananmen area, Beijing), and its own inverse output for the GCJ-02 point (116.404, 39.915),
# which that library computes with a one-step approximation (good to a metre or two).
WGS_BEIJING, GCJ_BEIJING = (39.915, 116.404), (39.91640428150164, 116.41024449916938)
GCJ_POINT, WGS_OF_GCJ_POINT_APPROX = (39.915, 116.404), (39.91359571849836, 116.39775550083061)


def test_gcj02_converts_to_wgs84_within_a_metre_of_published_pairs() -> None:
    assert metres(gcj02_to_wgs84(*GCJ_BEIJING), WGS_BEIJING) < 1.0
    assert metres(wgs84_to_gcj02(*WGS_BEIJING), GCJ_BEIJING) < 0.01
    assert metres(gcj02_to_wgs84(*GCJ_POINT), WGS_OF_GCJ_POINT_APPROX) < 2.0
    # The offset itself is hundreds of metres: the conversion is not a no-op.
    assert metres(GCJ_BEIJING, WGS_BEIJING) > 400


def test_a_point_outside_china_is_the_same_in_both_datums() -> None:
    assert gcj02_to_wgs84(51.5007, -0.1246) == (51.5007, -0.1246)


def _quarantine_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_import_keeps_two_good_rows_and_quarantines_a_bad_time_and_an_unknown_code(
    district: None, tmp_path: Path
) -> None:
    quarantine = tmp_path / "q.csv"
    out = CliRunner().invoke(
        app, ["incidents", "import", str(SAMPLE), "--mapping", str(MAPPING), "--quarantine", str(quarantine)]
    )
    assert out.exit_code == 0, out.output
    assert "4 rows: 2 imported, 0 already there, 2 quarantined" in out.output
    bad = _quarantine_rows(quarantine)
    assert [(r["line"], r["field"]) for r in bad] == [("3", "received_at"), ("4", "category")]
    assert "'ZZ99'" in bad[1]["message"] and bad[1]["警情编号"] == "A-003"
    with db.read_transaction() as s:
        kept = s.scalars(select(Incident).order_by(Incident.received_at)).all()
        assert [i.category_code for i in kept] == ["010103", "020201"]
        # 2026/10/05 21:14 Beijing time is 13:14 UTC.
        assert kept[0].received_at.isoformat() == "2026-10-05T13:14:00+00:00"
        # The GCJ-02 point of the file is the Yulin point in WGS-84, within a metre.
        assert metres((kept[0].lat or 0, kept[0].lon or 0), YULIN) < 1.0
        assert kept[0].station_code == "WH-YL"
        sources = s.scalars(select(AuditEntry).where(AuditEntry.action == "incident.import")).all()
        assert sorted(json.loads(e.detail)["source_id"] for e in sources) == ["A-001", "A-004"]


def test_imported_incidents_count_in_the_statistics_as_native_ones(district: None, tmp_path: Path) -> None:
    result = imports.import_file(SAMPLE, imports.load_mapping(MAPPING), actor=SYSTEM)
    assert len(result.imported) == 2
    with db.read_transaction() as s:
        table = stats.period_table(s, SYSTEM, period=stats.Period(2026, 10), grouping=stats.Grouping.TYPE)
        scan = stats.hotspot_scan(s, SYSTEM, end=stats.Period(2026, 11).bounds()[0], days=28, resolution=8)
    assert {r.key: r.current for r in table.rows} == {"0101": 1, "0202": 1}
    assert sum(c.count for c in scan.cells) == 2


def test_a_repeated_source_id_is_quarantined_on_its_second_line(district: None, tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "twice.csv"
    path.write_text("\n".join([text[0], text[1], text[1]]) + "\n", encoding="utf-8")
    result = imports.import_file(path, imports.load_mapping(MAPPING), actor=SYSTEM)
    assert len(result.imported) == 1
    assert [(q.line, q.field) for q in result.quarantined] == [(3, "id")]


def test_a_crash_mid_way_leaves_nothing_written(
    district: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan.command import actions

    real = actions.do_take_call
    calls = {"n": 0}

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk gone")
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "do_take_call", failing)
    with pytest.raises(RuntimeError):
        imports.import_file(SAMPLE, imports.load_mapping(MAPPING), actor=SYSTEM)
    with db.read_transaction() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_mapping_to_a_code_we_do_not_have_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text('[columns]\nreceived_at = "t"\n[categories.map]\n"X" = "999999"\n', encoding="utf-8")
    with pytest.raises(imports.MappingError, match="999999"):
        imports.load_mapping(bad)


def test_a_reimport_of_the_same_file_stores_each_row_once_and_says_how_many_were_there(
    district: None, tmp_path: Path
) -> None:
    args = [
        "incidents",
        "import",
        str(SAMPLE),
        "--mapping",
        str(MAPPING),
        "--quarantine",
        str(tmp_path / "q.csv"),
    ]
    first = CliRunner().invoke(app, args)
    assert "4 rows: 2 imported, 0 already there, 2 quarantined" in first.output, first.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "4 rows: 0 imported, 2 already there, 2 quarantined" in again.output
    with db.read_transaction() as s:
        rows = s.execute(
            select(Incident.source_system, Incident.source_id).order_by(Incident.source_id)
        ).all()
    assert [tuple(r) for r in rows] == [("city-open-data", "A-001"), ("city-open-data", "A-004")]
    # The bad rows are still quarantined with line and field on the second run.
    assert [(r["line"], r["field"]) for r in _quarantine_rows(tmp_path / "q.csv")] == [
        ("3", "received_at"),
        ("4", "category"),
    ]


def test_the_same_id_from_another_source_system_is_another_incident(district: None) -> None:
    mapping = imports.load_mapping(MAPPING)
    imports.import_file(SAMPLE, mapping, actor=SYSTEM)
    other = dataclasses.replace(mapping, system="another-system")
    result = imports.import_file(SAMPLE, other, actor=SYSTEM)
    assert (len(result.imported), len(result.already)) == (2, 0)
    again = imports.import_file(SAMPLE, other, actor=SYSTEM)
    assert (len(again.imported), [(line, sid) for line, sid, _ in again.already]) == (
        0,
        [(2, "A-001"), (5, "A-004")],
    )


def test_a_mapping_without_a_source_system_uses_its_file_name(tmp_path: Path) -> None:
    path = tmp_path / "bureau_dump.toml"
    path.write_text('[columns]\nreceived_at = "t"\nid = "n"\n', encoding="utf-8")
    assert imports.load_mapping(path).system == "bureau_dump"
    with pytest.raises(imports.MappingError, match=r"\[source\] system"):
        imports.parse_mapping({"source": {"system": " "}, "columns": {"received_at": "t"}})
