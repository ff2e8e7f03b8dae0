"""The factor table of the risk grader, read once from `factors.toml` and validated."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pingan.community.choices import RiskFactor
from pingan.community.rules import Factor, FactorTable

PATH = Path(__file__).with_name("factors.toml")


def parse(text: str) -> FactorTable:
    """Validate a factor table; a bad entry is a ValueError that names the factor and field."""
    data = tomllib.loads(text)
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError("factor table: `version` is required")
    factors = []
    for i, raw in enumerate(data.get("factor", [])):
        name = raw.get("name")
        where = f"factor[{i}] {name!r}"
        if name not in set(RiskFactor):
            raise ValueError(f"{where}: `name` is not a factor the grader knows (choices.RiskFactor)")
        if raw.get("kind") not in ("flag", "count"):
            raise ValueError(f"{where}: `kind` is flag or count")
        if not isinstance(raw.get("weight"), int) or raw["weight"] < 0:
            raise ValueError(f"{where}: `weight` is a whole number, 0 or more")
        if not isinstance(raw.get("source"), str) or not raw["source"]:
            raise ValueError(f"{where}: `source` is required")
        cap = raw.get("cap")
        if cap is not None and (not isinstance(cap, int) or cap < 1):
            raise ValueError(f"{where}: `cap` is a whole number, 1 or more")
        factors.append(Factor(name, raw["kind"], raw["weight"], raw["source"], cap))
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise ValueError("factor table: a factor name is repeated")
    t = data.get("thresholds", {})
    for key in ("red", "orange", "yellow"):
        if not isinstance(t.get(key), int):
            raise ValueError(f"thresholds.{key} is a whole number")
    if not t["red"] > t["orange"] > t["yellow"] > 0:
        raise ValueError("thresholds: red > orange > yellow > 0")
    red_if_all = tuple(t.get("red_if_all", ()))
    for n in red_if_all:
        if n not in names:
            raise ValueError(f"thresholds.red_if_all names unknown factor {n!r}")
    return FactorTable(version, tuple(factors), t["red"], t["orange"], t["yellow"], red_if_all)


@lru_cache(maxsize=1)
def table() -> FactorTable:
    """The packaged factor table."""
    return parse(PATH.read_text(encoding="utf-8"))
