"""`pingan command roads import`: store a road graph imported from OpenStreetMap (`pingan sim roads`
generates the district's)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pingan.command.roads import do_store_roads, read_osm
from pingan.core import db

app = typer.Typer(help="The road graph that units are routed over.", no_args_is_help=True)


@app.command("import")
def import_osm(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="an .osm or .osm.pbf extract")],
) -> None:
    """Import the drivable roads of an OpenStreetMap extract and store them."""
    roads = read_osm(path)
    if roads.edge_id.size == 0:
        raise typer.BadParameter(f"{path} holds no drivable road (no way with a car highway tag)")
    with db.transaction() as session:
        do_store_roads(session, roads)
    typer.echo(f"road graph stored: {roads.node_id.size} junctions, {roads.edge_id.size} segments")
