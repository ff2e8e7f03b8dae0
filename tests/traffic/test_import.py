"""`pingan accidents import`: STATS19- and MMUCC-style files through the shipped mappings, bad rows
quarantined with line and field, nothing written twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pingan.cli import app
from pingan.command.roads import Roads
from pingan.core import db
from pingan.core.roles import Actor
from pingan.traffic import imports
from pingan.traffic.model import Accident
from tests.traffic.conftest import on_segment

MAPPINGS = Path(__file__).resolve().parents[2] / "examples" / "mappings"


def stats19_csv(tmp_path: Path, grid: Roads) -> Path:
    (a_lat, a_lon), (b_lat, b_lon) = on_segment(grid, 5), on_segment(grid, 9)
    text = (
        "accident_index,date,time,latitude,longitude,accident_severity,number_of_casualties,"
        "weather_conditions,light_conditions,road_surface_conditions\n"
        f"2026A001,03/11/2026,08:15,{a_lat},{a_lon},1,2,2,4,2\n"
        f"2026A002,04/11/2026,17:40,{b_lat},{b_lon},3,1,1,1,1\n"
        f"2026A003,31/02/2026,09:00,{b_lat},{b_lon},3,1,1,1,1\n"
        f"2026A004,05/11/2026,09:00,{b_lat},{b_lon},3,1,42,1,1\n"
    )
    path = tmp_path / "stats19.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_stats19_file_imports_through_the_shipped_mapping(tmp_path: Path, grid: Roads) -> None:
    mapping = imports.load_mapping(MAPPINGS / "accidents-stats19.toml")
    result = imports.import_file(stats19_csv(tmp_path, grid), mapping, actor=Actor.system("import"))
    assert len(result.imported) == 2
    assert [(q.line, q.field) for q in result.quarantined] == [(4, "occurred_at"), (5, "weather")]
    with db.read_transaction() as s:
        first = s.execute(select(Accident).where(Accident.source_id == "2026A001")).scalar_one()
        assert first.severity == "fatal" and first.deaths == 1  # the severity's lower bound
        assert first.weather == "rain" and first.lighting == "dark_lit" and first.surface == "wet"
        assert first.edge_id == int(grid.edge_id[5])
        # 08:15 London time in November is 08:15 UTC.
        assert first.occurred_at.hour == 8 and first.occurred_at.minute == 15


def test_importing_the_same_file_twice_stores_each_row_once(tmp_path: Path, grid: Roads) -> None:
    mapping = imports.load_mapping(MAPPINGS / "accidents-stats19.toml")
    path = stats19_csv(tmp_path, grid)
    imports.import_file(path, mapping, actor=Actor.system("import"))
    again = imports.import_file(path, mapping, actor=Actor.system("import"))
    assert again.imported == [] and [line for line, _, _ in again.already] == [2, 3]
    with db.read_transaction() as s:
        assert s.execute(select(func.count(Accident.id))).scalar_one() == 2


def test_an_mmucc_style_file_imports_with_its_kabco_counts(tmp_path: Path, grid: Roads) -> None:
    lat, lon = on_segment(grid, 11)
    path = tmp_path / "mmucc.csv"
    path.write_text(
        "CRASH_ID,CRASH_DATE_TIME,LATITUDE,LONGITUDE,MANNER_OF_CRASH,WEATHER,LIGHT_CONDITION,ROAD_SURFACE,"
        "NUM_FATAL_K,NUM_SUSPECTED_SERIOUS_A,NUM_MINOR_B_POSSIBLE_C,NUM_PERSONS\n"
        f"C-1,11/02/2026 22:05,{lat},{lon},Head-On,Clear,Dark-Lighted,Dry,3,1,0,5\n"
        f"C-2,11/03/2026 07:30,{lat},{lon},Angle,Snow,Daylight,Ice/Frost,4,0,0,2\n",
        encoding="utf-8",
    )
    mapping = imports.load_mapping(MAPPINGS / "accidents-mmucc.toml")
    result = imports.import_file(path, mapping, actor=Actor.system("import"))
    assert [(q.line, q.field) for q in result.quarantined] == [(3, "deaths")]
    with db.read_transaction() as s:
        a = s.execute(select(Accident).where(Accident.source_id == "C-1")).scalar_one()
        assert (a.collision, a.deaths, a.serious_injuries, a.major) == ("head_on", 3, 1, True)


def test_a_mapping_with_an_unknown_value_is_refused_naming_the_key() -> None:
    raw = {"columns": {"occurred_at": "t", "lat": "y", "lon": "x"}, "values": {"weather": {"1": "sunny"}}}
    with pytest.raises(imports.MappingError, match=r"\[values.weather\]"):
        imports.parse_mapping(raw)


def test_the_command_writes_the_quarantine_file_with_line_and_field(tmp_path: Path, grid: Roads) -> None:
    path = stats19_csv(tmp_path, grid)
    r = CliRunner().invoke(
        app, ["accidents", "import", str(path), "--mapping", str(MAPPINGS / "accidents-stats19.toml")]
    )
    assert r.exit_code == 0, r.output
    assert "2 imported" in r.output and "2 quarantined" in r.output
    lines = (tmp_path / "stats19.quarantine.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("line,field,message")
    assert lines[1].startswith("4,occurred_at,") and lines[2].startswith("5,weather,")
