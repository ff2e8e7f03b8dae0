"""Correction factors per residue, read from `factors.toml` (or a file the operator gives)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pingan.narcotics.rules import Factor

FACTORS_FILE = Path(__file__).with_name("factors.toml")
SETS = ("residue", "consumption")


@dataclass(frozen=True)
class FactorTable:
    """The factor sets of one file: `residue` (loads as measured) and `consumption` (parent drug)."""

    version: str
    sets: dict[str, dict[str, Factor]]

    def get(self, factor_set: str, metabolite: str) -> Factor | None:
        """The factor for a residue in a set, or None where the sources give none (not converted)."""
        return self.sets.get(factor_set, {}).get(metabolite)


def load_factors(path: Path = FACTORS_FILE) -> FactorTable:
    """Read and check a factor file: every entry needs a positive factor, a rel_se ≥ 0 and a source."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    sets: dict[str, dict[str, Factor]] = {}
    for name in SETS:
        entries = data.get(name, {})
        out: dict[str, Factor] = {}
        for met, e in entries.items():
            factor, rel_se, source = e.get("factor"), e.get("rel_se"), e.get("source")
            if not isinstance(factor, int | float) or factor <= 0:
                raise ValueError(f"{path.name}: [{name}].{met}.factor must be a positive number")
            if not isinstance(rel_se, int | float) or rel_se < 0:
                raise ValueError(f"{path.name}: [{name}].{met}.rel_se must be a number ≥ 0")
            if not isinstance(source, str) or not source.strip():
                raise ValueError(f"{path.name}: [{name}].{met}.source must cite where the factor comes from")
            out[met] = Factor(float(factor), float(rel_se), source)
        sets[name] = out
    return FactorTable(str(data.get("version", "")), sets)
