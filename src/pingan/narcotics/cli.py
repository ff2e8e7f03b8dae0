"""`pingan narcotics`: import wastewater data, check the EUDA table, list rises, export the bulletin."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pingan.core import clock, db
from pingan.core.errors import DomainError
from pingan.core.roles import Actor
from pingan.narcotics import actions, analysis, bulletin, imports, queries
from pingan.narcotics.choices import EudaVerdict

app = typer.Typer(
    help="Wastewater drug monitoring (污水+大数据): sewershed aggregates only.", no_args_is_help=True
)
import_app = typer.Typer(
    help="Import sites, lab results and the published reference tables.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
_console = Console()

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="the reference tables' folder (default ../shared/data/wastewater)"),
]


def _report(result: actions.ImportResult, path: Path) -> None:
    _console.print(
        f"{path.name}: {result.lines} lines, {result.written} written, {len(result.quarantined)} quarantined"
    )
    for q in result.quarantined[:20]:
        _console.print(f"  line {q.line}, field {q.field}: {q.reason.value}: {q.message}")
    if len(result.quarantined) > 20:
        _console.print(f"  … and {len(result.quarantined) - 20} more (all in the quarantine table)")


def _run(kind: str, path: Path, today: date | None = None) -> None:
    actor = Actor.system("import")
    try:
        with db.transaction() as session:
            if kind == "sites":
                result = actions.do_import_sites(session, actor, path)
            elif kind == "lab":
                result = actions.do_import_lab(session, actor, path, today=today)
            elif kind == "euda":
                result = actions.do_import_euda(session, actor, path)
            else:
                result = actions.do_import_statcan(session, actor, path)
    except (imports.FileError, UnicodeDecodeError, DomainError) as exc:
        raise typer.BadParameter(str(exc)) from None
    _report(result, path)


def _data(data: Path | None, name: str) -> Path:
    path = (data or imports.default_data_dir()) / name
    if not path.exists():
        raise typer.BadParameter(f"--data: {path} not found")
    return path


@import_app.command("sites")
def import_sites(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="sites CSV, EUDA site-info layout")
    ],
) -> None:
    """Sites: SiteID, Country, City, Location, Latitude, Longitude, Population."""
    _run("sites", file)


@import_app.command("lab")
def import_lab(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="lab results CSV")],
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD: dates after it are quarantined")] = None,
) -> None:
    """Lab results: sample_date, site, metabolite, concentration_ng_l, flow_m3_day."""
    try:
        day = date.fromisoformat(today) if today else None
    except ValueError:
        raise typer.BadParameter("--today: give a date as YYYY-MM-DD") from None
    _run("lab", file, day)


@import_app.command("reference")
def import_reference(data: DataOpt = None) -> None:
    """The EUDA sites and city table and the Statistics Canada table, read in place from --data."""
    _run("sites", _data(data, imports.SITES_FILE))
    _run("euda", _data(data, imports.EUDA_FILE))
    _run("statcan", _data(data, imports.STATCAN_FILE))


def euda_summary(c: analysis.EudaCheck) -> list[str]:
    """The EUDA reproduction in lines: cells reproduced exactly ÷ cells compared, then every other
    verdict with its count."""
    share = f" ({c.exact_share:.1%})" if c.exact_share is not None else ""
    return [
        f"{c.rows} rows, {c.sites} sites: {c.count(EudaVerdict.EXACT)} of {c.compared} stored means "
        f"reproduced exactly{share}",
        "consistent with the printed days, not derivable from them: "
        f"{c.count(EudaVerdict.HALF_CENT_TIE)} half-cent ties printed rounded down, "
        f"{c.count(EudaVerdict.DAY_ROUNDING)} within the rounding of the day values",
        "inconsistent with the printed days: "
        f"{c.count(EudaVerdict.DAYS_ONE_COLUMN_OFF)} day values printed one column off, "
        f"{c.count(EudaVerdict.BLANK_DAY)} using a blank day, {c.count(EudaVerdict.NOT_DERIVABLE)} not derivable",
        f"{c.count(EudaVerdict.ABSENT)} not compared (no stored mean, or no day printed)",
    ]


@app.command("check-euda")
def check_euda(
    every: Annotated[
        bool,
        typer.Option("--all", help="list the cells consistent with rounding too, not only the inconsistent"),
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="write every cell not reproduced exactly to this CSV file")
    ] = None,
) -> None:
    """Recompute the stored EUDA weekday, weekend and daily means from the day values; list each cell
    the publisher's day values cannot give, with its printed values and the reason."""
    with db.read_transaction() as session:
        c = queries.euda_check(session)
    for line in euda_summary(c):
        _console.print(line, soft_wrap=True, markup=False)
    shown = c.cells if every else c.inconsistent
    for x in shown:
        days = " ".join("–" if d is None else str(d) for d in x.days)
        _console.print(
            f"  {x.site} {x.year} {x.metabolite} {x.mean}: published {x.stored}, recomputed {x.recomputed} "
            f"[{x.verdict.value}] days Wed..Tue {days}: {x.reason}",
            soft_wrap=True,
            markup=False,
        )
    if report is not None:
        report.write_text(analysis.euda_report_csv(c), encoding="utf-8")
        _console.print(f"{report}: {len(c.cells)} cells", soft_wrap=True, markup=False)


@app.command("rises")
def rises() -> None:
    """The Statistics Canada months that rose significantly on the same month a year earlier."""
    with db.read_transaction() as session:
        tests, n = queries.statcan_rises(session)
    flagged = [t for t in tests if t.rise.significant]
    _console.print(f"{n} year-over-year tests (one-sided z, Benjamini-Hochberg q=0.05): {len(flagged)} rises")
    for t in flagged:
        r = t.rise
        _console.print(
            f"  {t.geo} · {t.measure} · {r.month}: {r.load:g} vs {r.baseline:g} ({r.baseline_month}), z={r.z:.2f}"
        )


@app.command("bulletin")
def export_bulletin(
    out: Annotated[Path, typer.Argument(help="the file to write: .csv or .xlsx")],
) -> None:
    """Write the wastewater bulletin (per site and residue; per place and measure) as CSV or XLSX."""
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise typer.BadParameter("OUT: give a .csv or .xlsx file name")
    with db.read_transaction() as session:
        rows = bulletin.rows(session, today=clock.now().date())
    out.write_bytes(bulletin.to_xlsx(rows) if out.suffix.lower() == ".xlsx" else bulletin.to_csv(rows))
    _console.print(f"{out}: {len(rows)} rows")
