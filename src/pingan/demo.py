"""The demo district: a `tiny` synthetic district of Chengdu's Wuhou district, demo users, and a live feed.

`seed_demo` generates the district with `pingan.sim` (fixed seed) when missing, loads its stations,
account registry and about 60% of its fraud reports (about 50 at `tiny` scale; the campaigns' shared
mule cards make linked-case clusters), and creates one user per role. The imported reports are
confirmed by the demo's station officer, so the robot stops their payees. `feed_reports` registers
the rest one by one, as that officer, while the demo runs. Seeding is idempotent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich import progress as rich_progress
from rich.console import Console
from sqlalchemy import func, select

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.antifraud.reports import actions
from pingan.antifraud.reports.choices import ReportIntake
from pingan.antifraud.reports.model import FraudReport
from pingan.antifraud.reports.schemas import ReportIn
from pingan.command.seed import HISTORY_WEEKS, seed_command
from pingan.core import clock, db
from pingan.core.auth import User, do_add_user
from pingan.core.logging import get_logger
from pingan.core.org import Station, do_upsert_station
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings
from pingan.sensors.seed import seed_sensors
from pingan.sim import generate
from pingan.sim.accidents import seed as seed_accidents
from pingan.sim.dbload import Progress, load_district
from pingan.sim.disputes import DisputeParams
from pingan.sim.disputes import seed as seed_disputes
from pingan.sim.geography import district_stations
from pingan.sim.street import seed as seed_street
from pingan.supervision.callbacks import simulate as callbacks_simulate
from pingan.supervision.complaints import queries as complaint_queries
from pingan.supervision.complaints import simulate as complaints_simulate
from pingan.supervision.seed import seed_supervision

log = get_logger("demo")
DEMO_PASSWORD = "pingan-demo-2026"  # noqa: S105 - the documented password of the demo users

# The district's stations come from the synthetic-district geography: one list for the demo,
# the generator and the tests.
STATIONS = district_stations()

DEMO_USERS: tuple[tuple[str, Role, str], ...] = (
    ("analyst", Role.ANTIFRAUD_ANALYST, "反诈中心 张敏"),
    ("supervisor", Role.SUPERVISOR, "法制大队 刘建国"),
    ("officer", Role.OFFICER, "玉林所 王磊"),
    ("dispatcher", Role.DISPATCHER, "指挥中心 陈静"),
    ("traffic", Role.TRAFFIC_POLICE, "交警大队 孙涛"),
    ("auditor", Role.AUDITOR, "督察 赵雪"),
    ("legal", Role.LEGAL_SUPERVISOR, "法制室 孙立"),
    ("admin", Role.ADMIN, "系统管理员"),
)

# The station officer who registers the demo's reports (受案登记).
DEMO_OFFICER = "officer"

DEMO_SEED = 2026
# The seed of the district's generated road graph (`sim.roads`), stored for routing and for accidents.
DEMO_ROADS_SEED = 1
DEMO_SCALE = "tiny"
# The share of the district's reports held back at seeding and registered one by one while the
# demo runs, so that a visitor sees reports flowing into orders and the banks' answers arriving.
FEED_SHARE = 0.4
# The demo's year of disputes: a fifth of the dispute calls taken in, and a few walk-ins a week.
DEMO_DISPUTES = DisputeParams(seed=DEMO_SEED, taken_in_share=0.2, walk_ins_per_day=0.25)


@dataclass(frozen=True)
class SeedResult:
    """What seeding did."""

    stations: int
    users_created: int
    reports_created: int
    reports_total: int
    accounts: int
    held_back: int
    command_units: int = 0
    command_incidents: int = 0


def seed_people(*, password: str = DEMO_PASSWORD) -> int:
    """Stations and the demo users; returns how many users were created (0 on a second run)."""
    actor = Actor.system("demo-seed")
    created = 0
    with db.transaction() as session:
        for st in STATIONS:
            if session.get(Station, st.code) is None:
                area = json.dumps({"type": "Polygon", "coordinates": st.polygon()})
                do_upsert_station(
                    session,
                    code=st.code,
                    name=st.name,
                    lat=st.lat,
                    lon=st.lon,
                    area_geojson=area,
                    actor=actor,
                )
        for username, role, display in DEMO_USERS:
            if session.execute(select(User.id).where(User.username == username)).first() is None:
                do_add_user(
                    session,
                    username=username,
                    role=role,
                    password=password,
                    display_name=display,
                    station_code="WH-YL" if role is Role.OFFICER else None,
                    actor=actor,
                )
                created += 1
    return created


def ensure_district(root: Path) -> Path:
    """The demo district in `root`, generated with the synthetic-district generator when missing."""
    if not (root / "manifest.json").exists():
        generate(DEMO_SCALE, DEMO_SEED, root)
    return root


def split_reports(root: Path, feed_share: float = FEED_SHARE) -> tuple[Path, Path]:
    """Split the district's reports (ordered by report time) into a part to seed and a part to feed live."""
    lines = [
        line for line in (root / "reports.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    cut = len(lines) - int(len(lines) * feed_share)
    seed_part, feed_part = root / "demo-seed-reports.jsonl", root / "demo-feed-reports.jsonl"
    seed_part.write_text("".join(f"{line}\n" for line in lines[:cut]), encoding="utf-8")
    feed_part.write_text("".join(f"{line}\n" for line in lines[cut:]), encoding="utf-8")
    return seed_part, feed_part


def seed_roads(seed: int = DEMO_ROADS_SEED) -> bool:
    """Store the district's generated road graph for the recommendations, unless one is stored."""
    from pingan.command.roads import do_store_roads, has_roads
    from pingan.sim.roads import generate_roads

    with db.transaction() as session:
        if has_roads(session):
            return False
        do_store_roads(session, generate_roads(seed))
    return True


def seed_demo(
    root: Path,
    *,
    password: str = DEMO_PASSWORD,
    max_accounts: int | None = None,
    feed_share: float = FEED_SHARE,
    progress: Progress | None = None,
) -> SeedResult:
    """Seed stations, users, the registry and most reports of a generated district; idempotent."""
    users_created = seed_people(password=password)
    # The command centre's units and a few open incidents, so that the dispatcher finds work.
    command_units, command_incidents = seed_command(now=clock.now())
    seed_roads()
    # The smart communities' detectors and the first Yulin unit's holster and tracker (docs/sensors.md).
    seed_sensors(now=clock.now())
    # A year of supervised cases with measures, seized property and their late and missing steps.
    seed_supervision(now=clock.now(), password=password)
    ensure_district(root)
    seed_part, feed_part = split_reports(root, feed_share)
    loaded = load_district(root, max_accounts=max_accounts, reports_file=seed_part, progress=progress)
    # Imported reports wait for an officer (受案登记): the station's officer confirms them, and the
    # robot stops their payees' accounts, before screening reads the watchlist they feed.
    confirm_reports(loaded.reports.report_ids, actor=demo_officer())
    screen_district(root)
    with db.transaction() as session:
        total = int(session.execute(select(func.count()).select_from(FraudReport)).scalar_one())
    held_back = sum(1 for line in feed_part.read_text(encoding="utf-8").splitlines() if line.strip())
    return SeedResult(
        stations=loaded.stations,
        users_created=users_created,
        reports_created=loaded.reports.imported,
        reports_total=total,
        accounts=loaded.accounts,
        held_back=held_back,
        command_units=command_units,
        command_incidents=command_incidents,
    )


def seed_complaints(*, now: datetime, per_station_year: int = 12) -> tuple[int, int, int]:
    """Two years of the simulator's complaints (once), and the 110 call-backs of the weeks whose
    incidents the command seed closed, the dissatisfied callers' complaints with them (each week
    once). Returns (complaints, call-backs made, complaints from call-backs)."""
    complaints = 0
    with db.transaction() as session:
        if complaint_queries.complaints_total(session) == 0:
            complaints = complaints_simulate.load(session, seed=1, per_station_year=per_station_year, now=now)
    with db.transaction() as session:
        written = callbacks_simulate.load(
            session, seed=1, since=now - timedelta(weeks=HISTORY_WEEKS), now=now
        )
    return complaints, written.called, written.complaints


def _traffic_officer() -> Actor:
    """The demo's traffic police officer, who records the seeded accidents."""
    username = next(u for u, role, _display in DEMO_USERS if role is Role.TRAFFIC_POLICE)
    return Actor(username, Role.TRAFFIC_POLICE)


def demo_officer() -> Actor:
    """The demo's station officer (玉林所), as the logged-in user who registers and confirms reports."""
    with db.transaction() as session:
        user = session.execute(select(User).where(User.username == DEMO_OFFICER)).scalar_one()
        return user.actor()


def confirm_reports(report_ids: list[int], *, actor: Actor, batch: int = 200) -> int:
    """Confirm, as `actor`, those of these reports that wait for an officer; returns how many."""
    confirmed = 0
    for start in range(0, len(report_ids), batch):
        with db.transaction() as session:
            for report_id in report_ids[start : start + batch]:
                report = actions.get_report(session, report_id)
                if report.intake is not ReportIntake.AWAITING_OFFICER:
                    continue
                actions.check_confirm_report(report, actor=actor)
                actions.do_confirm_report(session, report, actor=actor)
                confirmed += 1
    return confirmed


def screen_district(root: Path) -> None:
    """Screen the district's transactions against the live watchlist, recording risk events and warning plans.

    The first week is history (first-seen payees, escalation state); flags start after it. This is
    `pingan screen` itself, so the demo shows what the command does.
    """
    from pingan.antifraud.screening.cli import screen

    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    since = date.fromisoformat(manifest["start"]) + timedelta(days=7)
    screen(
        root, since=f"{since.isoformat()}T00:00:00+08:00", until=None, watchlist="db", persist=True, out=None
    )


def feed_reports(feed_file: Path, *, every_s: float, stop: threading.Event) -> int:
    """Register the held-back reports one at a time, `every_s` apart, as the station's officer would;
    returns how many."""
    actor = demo_officer()
    fed = 0
    for line in feed_file.read_text(encoding="utf-8").splitlines():
        if stop.wait(every_s):
            break
        if not line.strip():
            continue
        report = ReportIn.model_validate(json.loads(line))
        with db.transaction() as session:
            exists = session.execute(
                select(FraudReport.id).where(FraudReport.external_ref == report.external_ref)
            ).first()
            if exists is None:
                actions.register_report(session, actions.NewReport(report=report, actor=actor))
                fed += 1
                log.info("demo report registered", external_ref=report.external_ref)
    return fed


def _die_with_parent() -> None:
    # uvicorn ends its process by re-raising SIGTERM after shutdown, which skips `finally` blocks;
    # the kernel's parent-death signal makes sure bank-sim and the robot never outlive the demo.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        pass


def run_demo(
    root: Path, *, host: str = "127.0.0.1", port: int = 8000, bank_port: int = 8700, feed_every_s: float = 8.0
) -> None:
    """Run the demo: bank-sim and the robot worker as their own processes, the live report feed, and
    the web server in this process. Everything started here stops when the server stops."""
    import uvicorn

    callback = f"http://{host}:{port}/bank-interface/callbacks"
    os.environ.setdefault("PINGAN_BANK_BASE_URL", f"http://127.0.0.1:{bank_port}")
    os.environ.setdefault("PINGAN_BANK_CALLBACK_URL", callback)
    get_settings.cache_clear()  # read again, with the bank addresses just set
    pingan = [sys.executable, "-m", "pingan.cli"]
    # Bank answers take about half a second, so a visitor can watch orders move from sent to acknowledged.
    bank_sim = [
        *pingan,
        "bank-sim",
        "--port",
        str(bank_port),
        "--latency-ms",
        "500",
        "--result-delay-ms",
        "1500",
    ]
    bank_sim += ["--reject-rate", "0.05", "--callback-url", callback]
    children = [
        subprocess.Popen(bank_sim, env=os.environ.copy(), preexec_fn=_die_with_parent),  # noqa: S603 - our own CLI
        subprocess.Popen([*pingan, "robot", "run"], env=os.environ.copy(), preexec_fn=_die_with_parent),  # noqa: S603
        # Warnings go to the outbox channel (texts recorded, call audio rendered), as DESIGN.md sets for the demo.
        subprocess.Popen([*pingan, "warnings", "send"], env=os.environ.copy(), preexec_fn=_die_with_parent),  # noqa: S603
        # The 110 breach alarm: each breach once, to the dispatchers' queue page.
        subprocess.Popen(  # noqa: S603
            [*pingan, "command", "breaches", "--alarm", "--every", "10"],
            env=os.environ.copy(),
            preexec_fn=_die_with_parent,
        ),
        # What time alone breaches (case deadlines, complaint clocks, mediation deadlines), each minute.
        subprocess.Popen(  # noqa: S603
            [*pingan, "sweep", "--every", "60"], env=os.environ.copy(), preexec_fn=_die_with_parent
        ),
        # The MQTT ingest (docs/mqtt.md): it keeps trying to connect while no broker answers.
        subprocess.Popen([*pingan, "sensors", "ingest"], env=os.environ.copy(), preexec_fn=_die_with_parent),  # noqa: S603
    ]
    stop = threading.Event()
    feeder = threading.Thread(
        target=feed_reports,
        args=(root / "demo-feed-reports.jsonl",),
        kwargs={"every_s": feed_every_s, "stop": stop},
        name="demo-feed",
        daemon=True,
    )
    feeder.start()
    try:
        uvicorn.run("pingan.web.main:app", host=host, port=port)
    finally:
        stop.set()
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


# `pingan demo`: the commands that seed and run this demo.
demo_app = typer.Typer(help="The demo district.", no_args_is_help=True)
_err_console = Console(stderr=True)
_console = Console()


@demo_app.command("seed")
def demo_seed(
    district: Annotated[Path, typer.Option(help="where the demo district is generated")] = Path(
        "var/district"
    ),
    max_accounts: Annotated[int | None, typer.Option(help="load only the first N registry accounts")] = None,
) -> None:
    """Seed the demo: stations, one user per role, a generated district's registry and reports (idempotent)."""
    with rich_progress.Progress(
        rich_progress.TextColumn("{task.description}"),
        rich_progress.BarColumn(),
        rich_progress.MofNCompleteColumn(),
        rich_progress.TimeElapsedColumn(),
        console=_err_console,
    ) as bar:
        tasks: dict[str, rich_progress.TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"loading {stage}", total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = seed_demo(district, max_accounts=max_accounts, progress=progress)
    # A year of community disputes drawn from the simulated 110 calls, so that the mediation pages have
    # substance. Here, not in `seed_demo`: writing ~700 disputes takes a minute or two, which the
    # demo's tests need not pay (`tests/community/test_sim.py` tests the simulator).
    now = clock.now()
    disputes = seed_disputes(replace(DEMO_DISPUTES, until=now.date()), now=now)
    # Complaints and the weekly 110 call-backs, so that the complaints queue, the call-back page and
    # the bulletin have substance; here for the same reason as the disputes.
    complaints, called, from_callbacks = seed_complaints(now=now)
    # Two years of the simulator's road accidents, so that the traffic brigade's pages have substance.
    from pingan.sim.roads import generate_roads

    roads = generate_roads(DEMO_ROADS_SEED)
    accidents = seed_accidents(roads, now=now, years=2, actor=_traffic_officer())
    # The street's last weeks: noise levels, racing reports and operations, violations, a campaign.
    street = seed_street(roads, now=now, actor=_traffic_officer())
    _console.print(
        f"demo seeded: {result.stations} stations, {result.users_created} new users, {result.accounts:,} registry "
        f"accounts, {result.reports_created} new reports ({result.reports_total} in all); "
        f"{result.held_back} reports held back to arrive live; command: {result.command_units} new units, "
        f"{result.command_incidents} new incidents; community: {disputes} new disputes; complaints: "
        f"{complaints} new, {called} new 110 call-backs, {from_callbacks} complaints from them; traffic: "
        f"{accidents} new accidents, {street.readings} noise readings, {street.reports} racing reports, "
        f"{street.operations} operations, {street.violations} violations, {street.campaigns} campaigns"
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

    get_settings().check_production_keys(bank_codes=BANKS_BY_CODE)
    run_demo(district, host=host, port=port, feed_every_s=feed_every_s)
