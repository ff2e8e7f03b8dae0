"""The district's road graph as tables: junctions (`road_node`) and street segments (`road_edge`).

One `road_edge` row is one segment between two junctions, in pgRouting's shape: `cost_s` is the
travel time from `source` to `target` in seconds, `reverse_cost_s` the time back, and -1 where the
segment is one-way (pgRouting reads a negative cost as "no such direction"). `road_class` is the
OpenStreetMap `highway` value (`primary`, `secondary`, `residential`, ...), open-ended because an
imported extract may carry any of them.

`road_graph` holds one row: the version of the stored graph, a new one at every store, so that a
process's cached routing graph is checked against it with one primary-key lookup.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pingan.core.db import Base, UTCDateTime


class RoadNode(Base):
    """A junction or a street's end, WGS-84 degrees (an imported extract's nodes are numbered 1, 2, ...)."""

    __tablename__ = "road_node"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class RoadEdge(Base):
    """A street segment between two junctions, with its length, speed and direction."""

    __tablename__ = "road_edge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[int] = mapped_column(ForeignKey("road_node.id"), index=True)
    target: Mapped[int] = mapped_column(ForeignKey("road_node.id"), index=True)
    length_m: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float] = mapped_column(Float)
    one_way: Mapped[bool] = mapped_column(Boolean)
    road_class: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    cost_s: Mapped[float] = mapped_column(Float)
    reverse_cost_s: Mapped[float] = mapped_column(Float)


class RoadGraph(Base):
    """The stored graph's version (one row, id 1), written with the graph in the same transaction."""

    __tablename__ = "road_graph"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    nodes: Mapped[int] = mapped_column(Integer)
    edges: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
