"""GCJ-02 (国测局坐标, the "Mars" datum of Chinese web maps) to and from WGS-84.

GCJ-02 adds a deterministic, smoothly varying offset (a few hundred metres) to a WGS-84 point
inside China; outside China's bounding box the two are the same. `wgs84_to_gcj02` is the published
forward formula (Krasovsky 1940 ellipsoid, a = 6378245 m, e² = 0.00669342162296594323). It has no
closed-form inverse, so `gcj02_to_wgs84` inverts it by fixed-point iteration: guess g, move it by
the gap between forward(g) and the GCJ-02 point, until the gap is below 1e-9 degrees (about 0.1 mm).
"""

from __future__ import annotations

import math

_A = 6378245.0
_EE = 0.00669342162296594323


def outside_china(lat: float, lon: float) -> bool:
    """Whether the point lies outside the box the GCJ-02 offset applies to."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 (lat, lon) of a WGS-84 point."""
    if outside_china(lat, lon):
        return lat, lon
    dlat = _offset_lat(lon - 105.0, lat - 35.0)
    dlon = _offset_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(radlat) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """The WGS-84 (lat, lon) of a GCJ-02 point, by iterating the forward formula."""
    if outside_china(lat, lon):
        return lat, lon
    g_lat, g_lon = lat, lon
    for _ in range(30):
        f_lat, f_lon = wgs84_to_gcj02(g_lat, g_lon)
        d_lat, d_lon = f_lat - lat, f_lon - lon
        if abs(d_lat) < 1e-9 and abs(d_lon) < 1e-9:
            break
        g_lat, g_lon = g_lat - d_lat, g_lon - d_lon
    return g_lat, g_lon
