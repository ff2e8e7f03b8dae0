"""Chinese addresses: the parts of an address, and its point when the district's gazetteer knows it.

Two steps, both pure (no database):

1. **Province, city and district** come from `cpca` (its table of the administrative divisions'
   names and codes, matched by Aho-Corasick). A part the address leaves out is not invented: it is
   taken to be the district's only when nothing in the address contradicts it.
2. **The rest** is read against the district's own gazetteer (`gazetteer.toml`): a street it knows
   followed by a house number (`玉林北路12号`), or a landmark it knows (`武侯祠`). The longest name
   found wins.

`geocode` then gives coordinates only for those two cases, with the reason in data
(`geocoded:street:玉林北路`, `geocoded:landmark:武侯祠`). Everything else is `address_unresolved`,
with why (`address_unresolved:no_house_number:玉林北路`, `address_outside_district:湖北省武汉市`): a
wrong point sends a unit to the wrong place, so the parser never guesses.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

GAZETTEER_FILE = Path(__file__).with_name("gazetteer.toml")
# Characters that end a street's name: a name cpca took for a city or district but followed by one of
# these was a street (长沙路, 北京路), not an administrative division.
_STREET_ENDS = ("大道", "大街", "路", "街", "巷", "道")
# ... also after a direction or an ordinal: 玉林中路, 长沙东路, 北京二路.
_STREET_AFTER = re.compile(r"^[东西南北中一二三四五六七八九十]{0,2}(?:大道|大街|路|街|巷|道)")
_NUMBER = re.compile(r"^(\d{1,5})(?:号|號)")
_SECTION = re.compile(r"^[一二三四五六七八九十\d]{1,3}段")
_STREETISH = re.compile(r"([\u4e00-\u9fff]{1,12}?(?:大道|大街|路|街|巷))(\d{1,5})(?:号|號)")


@dataclass(frozen=True)
class Street:
    """A street of the gazetteer: its polyline ([lat, lon] points) and its house numbers, 1 to `numbers`."""

    name: str
    points: tuple[tuple[float, float], ...]
    numbers: int

    def point_of(self, number: int) -> tuple[float, float]:
        """Where house `number` lies: that share of the street's length, from its first point."""
        share = 0.0 if self.numbers <= 1 else (number - 1) / (self.numbers - 1)
        legs = [_metres(a, b) for a, b in zip(self.points, self.points[1:], strict=False)]
        goal = share * sum(legs)
        for (a, b), leg in zip(zip(self.points, self.points[1:], strict=False), legs, strict=True):
            if goal <= leg or leg == 0:
                f = goal / leg if leg else 0.0
                return (round(a[0] + f * (b[0] - a[0]), 6), round(a[1] + f * (b[1] - a[1]), 6))
            goal -= leg
        return self.points[-1]


@dataclass(frozen=True)
class Gazetteer:
    """The district (its province, city, district and adcode), its streets and its landmarks."""

    version: str
    province: str
    city: str
    district: str
    adcode: str
    streets: dict[str, Street]
    landmarks: dict[str, tuple[float, float]]


def parse_gazetteer(raw: dict[str, Any]) -> Gazetteer:
    """Build a gazetteer from the TOML's tables; a ValueError naming the bad entry otherwise."""
    d = raw["district"]
    streets: dict[str, Street] = {}
    for s in raw.get("street", []):
        points = tuple((float(lat), float(lon)) for lat, lon in s["points"])
        if len(points) < 2 or int(s["numbers"]) < 1:
            raise ValueError(f"street {s['name']}: give two points or more, and numbers ≥ 1")
        streets[str(s["name"])] = Street(str(s["name"]), points, int(s["numbers"]))
    landmarks = {
        str(m["name"]): (float(m["point"][0]), float(m["point"][1])) for m in raw.get("landmark", [])
    }
    return Gazetteer(
        version=str(raw["version"]),
        province=str(d["province"]),
        city=str(d["city"]),
        district=str(d["district"]),
        adcode=str(d["adcode"]),
        streets=streets,
        landmarks=landmarks,
    )


@lru_cache(maxsize=1)
def district_gazetteer() -> Gazetteer:
    """The shipped gazetteer, read once."""
    with GAZETTEER_FILE.open("rb") as f:
        return parse_gazetteer(tomllib.load(f))


@dataclass(frozen=True)
class AddressParts:
    """What an address says, part by part; None where it says nothing.

    `province`, `city` and `district` are as cpca read them (full names: 湖北省, 武汉市, 洪山区);
    `street` and `number` a street of the gazetteer and the house number after it (`section` a 段 of
    it written between them, which the gazetteer does not divide streets into), `unknown_street` a
    street-like name the gazetteer lacks, `landmark` a landmark it knows; `rest` what follows the
    administrative part, as written.
    """

    text: str
    province: str | None
    city: str | None
    district: str | None
    rest: str
    street: str | None = None
    number: int | None = None
    section: str | None = None
    unknown_street: str | None = None
    landmark: str | None = None

    def admin_conflict(self, gaz: Gazetteer) -> str | None:
        """The administrative divisions the address names that are not the district's, or None."""
        named = [(self.province, gaz.province), (self.city, gaz.city), (self.district, gaz.district)]
        for said, ours in named:
            if said is not None and said != ours:
                return "".join(p for p, _ in named if p is not None)
        return None


@dataclass(frozen=True)
class Geocode:
    """The parsed address, its point (WGS-84) when the gazetteer gives one, and the reason in data."""

    parts: AddressParts
    lat: float | None
    lon: float | None
    reason: str

    @property
    def found(self) -> bool:
        return self.lat is not None


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@lru_cache(maxsize=1)
def _cpca() -> Any:
    # Imported on first use: cpca builds its automaton of ~3,000 divisions (and pulls in pandas) at
    # import, which a process that never reads an address should not pay for.
    import cpca

    return cpca


def _admin(text: str, gaz: Gazetteer) -> tuple[str | None, str | None, str | None, str]:
    """cpca's province, city and district of `text`, and what follows them."""
    # The gazetteer's own names are masked first, so that cpca does not read the 玉林 of 玉林北路 as
    # 玉林市 (Guangxi); the mask keeps every position.
    masked = text
    for name in sorted((*gaz.streets, *gaz.landmarks), key=len, reverse=True):
        masked = masked.replace(name, "□" * len(name))
    frame = _cpca().transform([masked], pos_sensitive=True)
    row = frame.iloc[0]

    def part(name: str) -> str | None:
        value = row[name]
        return str(value) if isinstance(value, str) and value else None

    province, city, district = part("省"), part("市"), part("区")
    positions = [int(row[k]) for k in ("省_pos", "市_pos", "区_pos") if int(row[k]) >= 0]
    rest = text[len(masked) - len(row["地址"]) :] if isinstance(row["地址"], str) else text
    if province is None and city is None and district is None:
        return None, None, None, text
    # The divisions come first in a Chinese address. A name found later in the text, or one followed
    # by a street ending (长沙路, 北京路, 玉林中路), is part of the street, not a division.
    if min(positions, default=0) > 0 or _STREET_AFTER.match(rest):
        return None, None, None, text
    # cpca fills the levels above the deepest one it matched from its table (武侯区 → 四川省 成都市);
    # a level the text does not name is left for the district check to accept, not reported as said.
    said_province = province if int(row["省_pos"]) >= 0 else None
    said_city = city if int(row["市_pos"]) >= 0 and city != "市辖区" else None
    said_district = district if int(row["区_pos"]) >= 0 else None
    if said_district is not None and said_city is None:
        said_city = city if city not in (None, "市辖区") else None
        said_province = said_province or province
    elif said_city is not None and said_province is None:
        said_province = province
    return said_province, said_city, said_district, rest


def parse(text: str, gazetteer: Gazetteer | None = None) -> AddressParts:
    """The parts of a Chinese address: cpca for the divisions, the gazetteer for the rest."""
    gaz = gazetteer or district_gazetteer()
    clean = _normalise(text)
    if not clean:
        return AddressParts(text=text, province=None, city=None, district=None, rest="")
    province, city, district, rest = _admin(clean, gaz)
    street = number = unknown = landmark = section = None
    for name in sorted(gaz.streets, key=len, reverse=True):
        at = rest.find(name)
        if at >= 0:
            street = name
            after = rest[at + len(name) :]
            s_match = _SECTION.match(after)
            if s_match is not None:
                section, after = s_match.group(0), after[s_match.end() :]
            m = _NUMBER.match(after)
            number = int(m.group(1)) if m else None
            break
    if street is None:
        m2 = _STREETISH.search(rest)
        if m2 is not None:
            unknown, number = m2.group(1), int(m2.group(2))
    for name in sorted(gaz.landmarks, key=len, reverse=True):
        if name in rest:
            landmark = name
            break
    return AddressParts(
        text=text,
        province=province,
        city=city,
        district=district,
        rest=rest,
        street=street,
        number=number,
        section=section,
        unknown_street=unknown,
        landmark=landmark,
    )


def geocode(text: str, gazetteer: Gazetteer | None = None) -> Geocode:
    """The address's point from the gazetteer, or none, with the reason (see the module docstring)."""
    gaz = gazetteer or district_gazetteer()
    parts = parse(text, gaz)
    conflict = parts.admin_conflict(gaz)
    if conflict is not None:
        return Geocode(parts, None, None, f"address_outside_district:{conflict}")
    if parts.street is not None:
        street = gaz.streets[parts.street]
        if parts.section is None and parts.number is not None and 1 <= parts.number <= street.numbers:
            lat, lon = street.point_of(parts.number)
            return Geocode(parts, lat, lon, f"geocoded:street:{street.name}")
        if parts.landmark is None:
            if parts.section is not None:
                return Geocode(
                    parts, None, None, f"address_unresolved:unknown_section:{street.name}{parts.section}"
                )
            if parts.number is None:
                return Geocode(parts, None, None, f"address_unresolved:no_house_number:{street.name}")
            return Geocode(
                parts, None, None, f"address_unresolved:no_such_number:{street.name}{parts.number}号"
            )
    if parts.landmark is not None:
        lat, lon = gaz.landmarks[parts.landmark]
        return Geocode(parts, lat, lon, f"geocoded:landmark:{parts.landmark}")
    if parts.unknown_street is not None:
        return Geocode(parts, None, None, f"address_unresolved:unknown_street:{parts.unknown_street}")
    return Geocode(parts, None, None, "address_unresolved")


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points, in metres."""
    la1, lo1, la2, lo2 = (math.radians(v) for v in (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))
