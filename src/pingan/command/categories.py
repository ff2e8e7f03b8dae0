"""The 110 incident categories (警情类别): three levels, 类别 / 类型 / 细类, read from `categories.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pingan.command.choices import Priority

CATEGORIES_FILE = Path(__file__).with_name("categories.toml")
LEVEL_NAMES = {1: "类别", 2: "类型", 3: "细类"}


@dataclass(frozen=True)
class Category:
    """One category at one level: its code, Chinese and English names, and its parent's code."""

    code: str
    name: str
    en: str
    level: int
    parent: str | None
    priority: Priority | None = None

    @property
    def type_code(self) -> str | None:
        """The 类型 (level 2) this category is or lies under; None for a 类别."""
        return self.code[:4] if self.level >= 2 else None


@dataclass(frozen=True)
class Catalogue:
    """Every category by code, and the version of the file they came from."""

    version: str
    by_code: dict[str, Category]

    def get(self, code: str) -> Category | None:
        """The category with this code, or None."""
        return self.by_code.get(code)

    def path(self, code: str) -> list[Category]:
        """The category and its ancestors, 类别 first."""
        out: list[Category] = []
        current = self.by_code.get(code)
        while current is not None:
            out.insert(0, current)
            current = self.by_code.get(current.parent) if current.parent else None
        return out

    def display(self, code: str | None) -> str:
        """`类别 / 类型 / 细类` names of a code, for pages."""
        if not code:
            return ""
        return " / ".join(c.name for c in self.path(code)) or code

    def suggested_priority(self, code: str) -> Priority | None:
        """The usual priority of the code's 类型."""
        for c in reversed(self.path(code)):
            if c.priority is not None:
                return c.priority
        return None

    def children(self, code: str) -> list[Category]:
        """The categories one level below `code`, in code order (a 类型's 细类)."""
        return sorted((c for c in self.by_code.values() if c.parent == code), key=lambda c: c.code)

    def leaves(self) -> list[Category]:
        """Every 细类, in code order: the choices of the call-taker's form."""
        return sorted((c for c in self.by_code.values() if c.level == 3), key=lambda c: c.code)


def parse_catalogue(raw: dict[str, Any]) -> Catalogue:
    """Build a catalogue from the TOML's tables; a malformed entry is a ValueError naming its code."""
    by_code: dict[str, Category] = {}

    def add(category: Category) -> None:
        if category.code in by_code:
            raise ValueError(f"category {category.code} appears twice")
        expected = {1: 2, 2: 4, 3: 6}[category.level]
        if len(category.code) != expected or not category.code.isdigit():
            raise ValueError(f"category {category.code}: a level-{category.level} code has {expected} digits")
        if category.parent and not category.code.startswith(category.parent):
            raise ValueError(
                f"category {category.code} does not start with its parent's code {category.parent}"
            )
        by_code[category.code] = category

    for cls in raw.get("class", []):
        add(Category(cls["code"], cls["name"], cls["en"], 1, None))
        for typ in cls.get("type", []):
            add(Category(typ["code"], typ["name"], typ["en"], 2, cls["code"], Priority(typ["priority"])))
            for code, name, en in typ.get("subtypes", []):
                add(Category(code, name, en, 3, typ["code"]))
    return Catalogue(version=str(raw["version"]), by_code=by_code)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The shipped catalogue, read once."""
    with CATEGORIES_FILE.open("rb") as f:
        return parse_catalogue(tomllib.load(f))
