"""The `pingan` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from pingan.antifraud.mules.cli import app as mules_app
from pingan.antifraud.outcomes.cli import app as report_app
from pingan.antifraud.screening.cli import screen, stream_app
from pingan.antifraud.tracing.cli import app as trace_app
from pingan.core import db
from pingan.core.roles import Actor, Role

app = typer.Typer(help="pingan (平安): smart-policing platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
reports_app = typer.Typer(help="Fraud reports (报案).", no_args_is_help=True)
demo_app = typer.Typer(help="The demo district.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(reports_app, name="reports")
app.add_typer(demo_app, name="demo")
app.add_typer(trace_app, name="trace")
app.add_typer(mules_app, name="mules")
app.command("screen")(screen)
app.add_typer(stream_app, name="stream")
app.add_typer(report_app, name="report")

console = Console()
err_console = Console(stderr=True)


@app.callback()
def _every_command() -> None:
    """pingan (平安): smart-policing platform."""
    from pingan.web import reactions

    # A report written by any command has the same consequences as one written through the API.
    reactions.install()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from pingan.core.migrate import upgrade

    upgrade()
    console.print("[green]database is at the newest migration[/green]")


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[Role, typer.Option(help="the user's role")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    display_name: str = "",
    station: Annotated[str | None, typer.Option(help="home station code")] = None,
) -> None:
    """Create a user with one role."""
    from pingan.core.auth import check_new_user, do_add_user
    from pingan.core.errors import DomainError

    try:
        with db.transaction() as session:
            check_new_user(session, username=name, role=role, password=password)
            do_add_user(
                session,
                username=name,
                role=role,
                password=password,
                display_name=display_name,
                station_code=station,
                actor=Actor.system("cli"),
            )
    except DomainError as exc:
        err_console.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(2) from None
    console.print(f"user [bold]{name}[/bold] created with role {role.value}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit chain; print OK or the first broken entry (exit 1)."""
    from pingan.core.audit import verify_chain

    with db.transaction() as session:
        report = verify_chain(session)
    if report.ok:
        console.print(f"OK: {report.entries} entries, chain intact")
        return
    console.print(
        f"BROKEN at entry id={report.broken_id} seq={report.broken_seq}: {report.reason} "
        f"({report.entries} entries read)"
    )
    raise typer.Exit(1)


@reports_app.command("import")
def reports_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Import fraud reports from CSV or JSONL; bad reports are quarantined beside the file."""
    from pingan.antifraud.reports.imports import ImportSummary, import_reports

    summary: ImportSummary | None = None
    with Progress(
        TextColumn("[bold]importing[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=as_json,
    ) as bar:
        task = bar.add_task(file.name, total=None)

        def progress(advance: int, total: int) -> None:
            bar.update(task, advance=advance, total=total)

        try:
            summary = import_reports(file, actor=Actor.system("import"), progress=progress)
        except Exception:
            err_console.print("[red]import stopped by an error; batches committed before it are kept[/red]")
            raise
    assert summary is not None
    if as_json:
        console.print_json(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        for r in summary.rejected:
            console.print(f"[yellow]rejected[/yellow] {r}")
        console.print(
            f"imported {summary.imported}, rejected {len(summary.rejected)}, duplicates {summary.duplicates}"
        )
        if summary.quarantine:
            console.print(f"rejected lines copied unchanged to {summary.quarantine}")
    if summary.rejected:
        raise typer.Exit(3)


@demo_app.command("seed")
def demo_seed(
    district: Annotated[Path, typer.Option(help="where the demo district is generated")] = Path(
        "var/district"
    ),
    max_accounts: Annotated[int | None, typer.Option(help="load only the first N registry accounts")] = None,
) -> None:
    """Seed the demo: stations, one user per role, a generated district's registry and reports (idempotent)."""
    from pingan.demo import seed_demo

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"loading {stage}", total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = seed_demo(district, max_accounts=max_accounts, progress=progress)
    console.print(
        f"demo seeded: {result.stations} stations, {result.users_created} new users, {result.accounts:,} registry "
        f"accounts, {result.reports_created} new reports ({result.reports_total} in all); "
        f"{result.held_back} reports held back to arrive live"
    )


@demo_app.command("run")
def demo_run(
    district: Annotated[Path, typer.Option(help="the seeded demo district")] = Path("var/district"),
    host: str = "127.0.0.1",
    port: int = 8000,
    feed_every_s: Annotated[float, typer.Option(help="seconds between live reports")] = 8.0,
) -> None:
    """Run the demo: bank-sim, the robot, a live report feed and the web server, all stopped together."""
    from pingan.core.settings import get_settings
    from pingan.demo import run_demo

    get_settings().check_production_keys()
    run_demo(district, host=host, port=port, feed_every_s=feed_every_s)


@app.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
) -> None:
    """Run the web server."""
    import uvicorn

    from pingan.core.settings import get_settings

    get_settings().check_production_keys()
    uvicorn.run("pingan.web.main:app", host=host, port=port, reload=reload)


registry_app = typer.Typer(help="The account registry (holders, accounts and cards).", no_args_is_help=True)
robot_app = typer.Typer(help="The stop-payment robot (数字警察助理).", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
app.add_typer(robot_app, name="robot")


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Import a bank's KYC extract (CSV or Parquet); bad rows are quarantined beside the file."""
    from pingan.antifraud.registry.imports import import_registry

    summary = import_registry(file, actor=Actor.system("registry-import"))
    if as_json:
        console.print_json(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        for r in summary.rejected:
            console.print(f"[yellow]rejected[/yellow] {r}")
        console.print(f"imported {summary.imported}, rejected {len(summary.rejected)}")
        if summary.quarantine:
            console.print(f"rejected rows copied unchanged to {summary.quarantine}")
    if summary.rejected:
        raise typer.Exit(3)


@app.command("bank-sim")
def bank_sim(
    host: str = "127.0.0.1",
    port: int = 8700,
    latency_ms: Annotated[float, typer.Option(help="median answer latency")] = 50.0,
    latency_sigma: Annotated[float, typer.Option(help="log-normal spread of the latency")] = 0.5,
    result_delay_ms: Annotated[float, typer.Option(help="delay of the result callback after the ack")] = 50.0,
    error_rate: Annotated[float, typer.Option(help="share of transient 503 answers")] = 0.0,
    reject_rate: Annotated[float, typer.Option(help="share of orders rejected with a reason")] = 0.0,
    callback_loss_rate: Annotated[float, typer.Option(help="share of result callbacks dropped")] = 0.0,
    callback_url: Annotated[str | None, typer.Option(help="pingan's callback endpoint")] = None,
    down: Annotated[
        list[str] | None, typer.Option(help="downtime window BANK:AFTER_S:FOR_S (repeatable)")
    ] = None,
    seed: int | None = None,
) -> None:
    """Run the bank simulator: every bank of the directory, on its own port."""
    from pingan.antifraud.banks.sim import SimConfig, run_sim

    windows = []
    for w in down or []:
        bank, after, length = w.split(":")
        windows.append((bank.upper(), float(after), float(length)))
    config = SimConfig(
        latency_ms=latency_ms,
        latency_sigma=latency_sigma,
        result_delay_ms=result_delay_ms,
        error_rate=error_rate,
        reject_rate=reject_rate,
        callback_loss_rate=callback_loss_rate,
        callback_url=callback_url,
        seed=seed,
    )
    run_sim(config, host=host, port=port, down=windows)


@robot_app.command("run")
def robot_run(
    poll_after_s: Annotated[float, typer.Option(help="ask the bank when no result arrived by then")] = 5.0,
    batch: int = 200,
) -> None:
    """Run the robot worker: outbox sender, result poll, renewals and alerts, until SIGTERM/SIGINT."""
    import signal
    import threading

    from pingan.antifraud.banks.adapter import HttpBankAdapter
    from pingan.antifraud.orders.jobs import RobotWorker
    from pingan.core.settings import get_settings

    # The robot's event handlers are installed for every command by `_every_command`.
    settings = get_settings().bank
    adapter = HttpBankAdapter(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    err_console.print(f"robot running; banks at {settings.base_url}")
    RobotWorker(adapter, settings, batch=batch, poll_after_s=poll_after_s).run(stop)
    adapter.close()


from pingan.sim.cli import app as sim_app  # noqa: E402 - sub-apps are mounted after the core commands

app.add_typer(sim_app, name="sim")

from pingan.antifraud.warnings.cli import app as warnings_app  # noqa: E402 - sub-apps are mounted after the core commands

app.add_typer(warnings_app, name="warnings")

if __name__ == "__main__":
    app()
