"""The district's road graph, generated from a seed (stored by `pingan sim roads`).

A street grid over the district's rectangle (the stations' 4 x 4 tiling of `geography`), `size` x
`size` junctions moved a little off the grid by the seed. Every 10th street is an arterial
(`primary`, 60 km/h, two-way), every 5th a collector (`secondary`, 40 km/h, two-way), the rest local
streets (`residential`, 30 km/h); among the local streets, every second one is one-way, alternating
direction (east/west, north/south), as in an old town centre. Streets are named as a planned
district's grid often is: east-west streets 纬1路, 纬2路, ... and north-south ones 经1路, ..., an
arterial a 大道 (纬1大道) and a local street a 街 (纬2街). Each segment's speed is its class's
speed times a congestion factor of 0.75-1.0 drawn from the seed. `size=160` gives 50,880 segments
(the bench scale); tests use a handful of streets.
"""

from __future__ import annotations

import numpy as np

from pingan.command.roads import CLASS_SPEED_KMH, Roads, haversine_m
from pingan.sim.geography import LAT_NORTH, LAT_SOUTH, LON_EAST, LON_WEST

BENCH_SIZE = 160


def generate_roads(seed: int, size: int = BENCH_SIZE) -> Roads:
    """The district's street grid of `size` x `size` junctions, deterministic from `seed` (see module)."""
    if size < 2:
        raise ValueError("size must be at least 2")
    rng = np.random.default_rng(seed)
    dlat = (LAT_NORTH - LAT_SOUTH) / (size - 1)
    dlon = (LON_EAST - LON_WEST) / (size - 1)
    rows, cols = np.divmod(np.arange(size * size), size)
    jitter = rng.uniform(-0.2, 0.2, size=(2, size * size))
    lat = np.round(LAT_SOUTH + (rows + jitter[0]) * dlat, 7)
    lon = np.round(LON_WEST + (cols + jitter[1]) * dlon, 7)

    def street_class(line: int) -> str:
        if line % 10 == 0:
            return "primary"
        if line % 5 == 0:
            return "secondary"
        return "residential"

    src: list[int] = []
    dst: list[int] = []
    one_way: list[bool] = []
    classes: list[str] = []
    names: list[str] = []
    suffix = {"primary": "大道", "secondary": "路", "residential": "街"}
    # East-west streets (row r), then north-south streets (column c).
    for horizontal in (True, False):
        for line in range(size):
            cls = street_class(line)
            oneway = cls == "residential" and line % 2 == 1
            forward = line % 4 == 1  # one-way eastwards / northwards, else westwards / southwards
            for step in range(size - 1):
                a = line * size + step if horizontal else step * size + line
                b = a + 1 if horizontal else a + size
                if oneway and not forward:
                    a, b = b, a
                src.append(a)
                dst.append(b)
                one_way.append(oneway)
                classes.append(cls)
                names.append(f"{'纬' if horizontal else '经'}{line + 1}{suffix[cls]}")
    s, t = np.array(src), np.array(dst)
    base = np.array([CLASS_SPEED_KMH[c] for c in classes])
    speed = np.round(base * rng.uniform(0.75, 1.0, size=s.size), 2)
    length = np.round(haversine_m(lat[s], lon[s], lat[t], lon[t]), 2)
    return Roads(
        node_id=np.arange(1, size * size + 1),
        lat=lat,
        lon=lon,
        edge_id=np.arange(1, s.size + 1),
        source=s + 1,
        target=t + 1,
        length_m=length,
        speed_kmh=speed,
        one_way=np.array(one_way),
        road_class=tuple(classes),
        name=tuple(names),
    )
