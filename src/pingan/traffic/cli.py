"""`pingan accidents`: import accidents from any CSV by a mapping file; print the black-spot ranking;
run the noise-level ingest of street racing and loud exhausts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pingan.core import clock, db, mapped_import
from pingan.core.roles import Actor
from pingan.traffic import imports, queries

app = typer.Typer(help="Traffic accidents: import by a mapping file, rank black spots.", no_args_is_help=True)
_console = Console()


@app.command("import")
def import_accidents(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="the CSV")],
    mapping: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, readable=True, help="the mapping (TOML)")
    ],
    quarantine: Annotated[
        Path | None, typer.Option(help="where the bad rows go; FILE.quarantine.csv by default")
    ] = None,
) -> None:
    """Import the valid rows of FILE in one transaction; write the bad ones, with line and field, to quarantine."""
    try:
        m = imports.load_mapping(mapping)
        total = imports.count_rows(file, m)
    except (mapped_import.MappingError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    mapped_import.run_and_report(
        _console,
        file,
        total,
        lambda advance: imports.import_file(file, m, actor=Actor.system("import"), progress=advance),
        quarantine,
    )


@app.command("blackspots")
def black_spots(
    years: Annotated[int, typer.Option(min=1, max=10, help="the window, in years back from now")] = 3,
    top: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Print the segments ranked by EB excess, with the SPF's prediction and the 90% interval."""
    with db.read_transaction() as session:
        spots = queries.black_spots(session, end=clock.now(), years=years, top=top)
    if not spots:
        _console.print("no accidents on the road graph in the window")
    for s in spots:
        _console.print(
            f"{s.rank:3d}  segment {s.edge_id:<7d} {s.road_class:<12s} observed {s.observed:3d}  "
            f"SPF {s.predicted:6.2f}  EB {s.eb:6.2f}  excess {s.excess:6.2f} "
            f"({s.excess_low:.2f} to {s.excess_high:.2f})"
        )


@app.command("noise-ingest")
def noise_ingest() -> None:
    """Take noise sensors' levels from MQTT (`pingan/noise/+/level`) until interrupted; audio is refused."""
    from pingan.traffic.noise import NoiseIngest

    worker = NoiseIngest.from_settings()
    _console.print(f"noise ingest on {worker.host}:{worker.port}, topic pingan/noise/+/level")
    worker.run_forever()
