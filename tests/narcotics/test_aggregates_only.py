"""Aggregates only: the wastewater package imports no personal-data module, directly or through
another module, and its tables hold no column that could point at a person or a building."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import grimp

import pingan.narcotics
from pingan.narcotics import model

PII = "pingan.core.pii"


def _modules() -> list[str]:
    return [f"pingan.narcotics.{m.name}" for m in pkgutil.iter_modules(pingan.narcotics.__path__)]


def test_importing_every_narcotics_module_loads_no_pii_module() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {_modules()!r}: importlib.import_module(m)\n"
        f"print({PII!r} in sys.modules, len([m for m in sys.modules if m.startswith('pingan.narcotics.')]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "False"
    assert int(out[1]) == len(_modules()) >= 10  # every module was really imported


def test_no_import_chain_leads_from_narcotics_to_the_pii_module() -> None:
    graph = grimp.build_graph("pingan")
    reached = graph.find_upstream_modules("pingan.narcotics", as_package=True)
    assert "pingan.core.db" in reached  # the graph is the real one: narcotics does use the core
    assert PII not in reached
    assert not any(m.startswith(("pingan.antifraud", "pingan.command")) for m in reached)


def test_no_wastewater_table_has_a_person_address_or_building_column() -> None:
    words = ("name", "phone", "id_number", "address", "person", "building", "user", "household")
    for table in (model.WwSite, model.WwResult, model.WwQuarantine, model.WwEudaLoad, model.WwStatcanLoad):
        cols = [c.name for c in table.__table__.columns]
        assert not [c for c in cols for w in words if w in c], table.__tablename__
