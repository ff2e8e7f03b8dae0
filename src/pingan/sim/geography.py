"""Geography of the synthetic district: police stations (派出所) of a Chengdu district and their areas.

Station areas tile a rectangle around 30.64N 104.04E (Wuhou district) in a 4 x 4 grid; each person's
home point lies inside the area of their home station.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

# Names of police stations of Wuhou district; codes are pinyin initials behind the district prefix.
STATION_NAMES: tuple[tuple[str, str], ...] = (
    ("WH-JXJ", "浆洗街派出所"),
    ("WH-WJL", "望江路派出所"),
    ("WH-YL", "玉林派出所"),
    ("WH-TST", "跳伞塔派出所"),
    ("WH-HCNZ", "火车南站派出所"),
    ("WH-CQ", "簇桥派出所"),
    ("WH-JTQ", "机投桥派出所"),
    ("WH-HPL", "红牌楼派出所"),
    ("WH-JHQ", "金花桥派出所"),
    ("WH-CJ", "簇锦派出所"),
    ("WH-JY", "晋阳派出所"),
    ("WH-HX", "华兴派出所"),
    ("WH-FC", "芳草派出所"),
    ("WH-SN", "双楠派出所"),
    ("WH-YF", "永丰派出所"),
    ("WH-WHC", "武侯祠派出所"),
)
GRID = 4
LAT_SOUTH, LAT_NORTH = 30.59, 30.69
LON_WEST, LON_EAST = 103.99, 104.09
# Surnames and given names of the officers who register reports (受案登记民警), three per station.
_OFFICER_SURNAMES = "李王张刘陈杨黄赵周吴"
_OFFICER_GIVEN = ("强", "伟", "军", "磊", "洋", "勇", "杰", "涛", "明", "静", "丽", "敏")


@dataclass(frozen=True)
class Station:
    """A police station: code, name, centre point and its rectangular area (south, west, north, east)."""

    code: str
    name: str
    lat: float
    lon: float
    south: float
    west: float
    north: float
    east: float
    officers: tuple[str, ...]

    def polygon(self) -> list[list[list[float]]]:
        """The area as a closed GeoJSON polygon ring of [lon, lat] points."""
        ring = [
            [self.west, self.south],
            [self.east, self.south],
            [self.east, self.north],
            [self.west, self.north],
            [self.west, self.south],
        ]
        return [[[round(x, 6), round(y, 6)] for x, y in ring]]


def district_stations() -> tuple[Station, ...]:
    """The district's stations, in a fixed order (the station index used in every table)."""
    dlat = (LAT_NORTH - LAT_SOUTH) / GRID
    dlon = (LON_EAST - LON_WEST) / GRID
    stations = []
    for i, (code, name) in enumerate(STATION_NAMES):
        row, col = divmod(i, GRID)
        south, west = LAT_SOUTH + row * dlat, LON_WEST + col * dlon
        officers = tuple(
            _OFFICER_SURNAMES[(i * 3 + k) % len(_OFFICER_SURNAMES)]
            + _OFFICER_GIVEN[(i * 5 + k * 7) % len(_OFFICER_GIVEN)]
            for k in range(3)
        )
        stations.append(
            Station(
                code=code,
                name=name,
                lat=round(south + dlat / 2, 6),
                lon=round(west + dlon / 2, 6),
                south=south,
                west=west,
                north=south + dlat,
                east=west + dlon,
                officers=officers,
            )
        )
    return tuple(stations)


def home_points(
    rng: np.random.Generator, station_idx: np.ndarray, stations: tuple[Station, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform home points (lat, lon) strictly inside each person's station area."""
    south = np.array([s.south for s in stations])[station_idx]
    north = np.array([s.north for s in stations])[station_idx]
    west = np.array([s.west for s in stations])[station_idx]
    east = np.array([s.east for s in stations])[station_idx]
    u = rng.uniform(0.02, 0.98, size=(2, station_idx.size))
    lat = np.round(south + u[0] * (north - south), 6)
    lon = np.round(west + u[1] * (east - west), 6)
    return lat, lon


def stations_geojson(stations: tuple[Station, ...]) -> str:
    """The stations as a GeoJSON FeatureCollection, one Polygon feature per station, stable bytes."""
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "properties": {
                "code": s.code,
                "name": s.name,
                "lat": s.lat,
                "lon": s.lon,
                "officers": list(s.officers),
            },
            "geometry": {"type": "Polygon", "coordinates": s.polygon()},
        }
        for s in stations
    ]
    return (
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1) + "\n"
    )


def read_station_codes(geojson_text: str) -> set[str]:
    """The station codes listed in a stations.geojson document."""
    doc = json.loads(geojson_text)
    return {str(f["properties"]["code"]) for f in doc["features"]}
