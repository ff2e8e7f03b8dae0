"""Benchmark of the stop-payment robot: reports in through the API, orders out to a real bank-sim.

Workload (issue 3): N reports with 3 transfers each, 20 banks in bank-sim (median latency 50 ms,
1% transient errors), payee accounts held by holders with 2-8 cards each. A supervisor approves each
drafted finding through the API, which triggers the holder-linked stop-payments.

Intake: with `--intake-batch K` (default 20) the reports arrive as an intake system pushes them, K to
a request (`POST /api/v1/fraud-reports/batch`, one transaction, each report checked and audited as a
single one); `--intake-batch 1` posts them one by one (`POST /api/v1/fraud-reports`). Approvals: with
`--approve-batch K` (default 20) the supervisors decide up to K selected drafts of the queue in one
request (`POST /api/v1/findings/decisions`); `--approve-batch 1` decides them one by one. The JSON
says which was used.

Prints one JSON object: p99 report → direct orders sent, p99 approval → holder-linked orders sent,
the same two to bank acknowledgement, throughput in reports/s, whether every order ended
acknowledged/executed or rejected with a reason, and a baseline measured in the same run: the same
work done one order at a time, synchronously (create, send, wait for the acknowledgement, commit).

    python bench/stoppay.py --db sqlite
    python bench/stoppay.py --db postgres --reports 1000
    python bench/stoppay.py --outage 60      # also take one bank down for 60 s during the run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("PINGAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench password 1"  # noqa: S105 - a throwaway user of a throwaway database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def wait_robot(log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if b"robot running" in log.read_bytes():
            return
        time.sleep(0.1)
    raise TimeoutError("the robot did not start")


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))], 4)


def make_database(kind: str, tmp: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", None
    name = f"pingan_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), drop


def build_world(n_reports: int, seed: int, offset: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Reports and the KYC rows of their payee accounts' holders (2-8 cards each, over 20 banks)."""
    from tests.factories import card, national_id, report_payload

    from pingan.antifraud.banks.directory import BANKS

    rng = random.Random(seed)
    reports, kyc = [], []
    # Disjoint card serials and holder numbers per world: the baseline's accounts must not already
    # carry a live order from the main run (it would then skip them as duplicates and time nothing).
    serial = offset * 1_000_000
    for n in range(n_reports):
        holder = national_id(f"5101071990{(offset * 100_000 + n) % 10**7:07d}")
        k = rng.randint(2, 8)
        cards = []
        for _ in range(k):
            bank = rng.choice(BANKS)
            serial += 1
            number = card(bank.bin_prefix, serial)
            cards.append((bank.code, number))
            kyc.append(f"{holder},卡农{n},{bank.code},{number},debit,2024-01-0{1 + n % 9},active")
        transfers = [
            {
                "occurred_at": "2026-11-20T09:40:00+08:00",
                "amount_fen": rng.randint(1_000, 5_000_000),
                "payer_card": card("622588", 5_000_000 + offset * 10 + n),
                "payer_bank": "CMB",
                "payee_account": cards[i % k][1],
                "payee_bank": cards[i % k][0],
                "channel": "mobile_banking",
            }
            for i in range(3)
        ]
        reports.append(
            report_payload(external_ref=f"BENCH-{offset}-{n:06d}", transfers=transfers, suspects=[])
        )
    return reports, kyc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--reports", type=int, default=1000)
    ap.add_argument("--baseline-reports", type=int, default=40)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--error-rate", type=float, default=0.01)
    ap.add_argument("--reject-rate", type=float, default=0.02)
    ap.add_argument("--outage", type=float, default=0.0, help="take ICBC down this many seconds at the start")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--api-workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--intake-batch", type=int, default=20, help="reports per intake request (1: one by one)")
    ap.add_argument("--approve-batch", type=int, default=20, help="decisions per request (1: one by one)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pingan-bench-"))
    url, drop = make_database(args.db, tmp)
    os.environ["PINGAN_DATABASE_URL"] = url
    os.environ["PINGAN_DEMO"] = "1"
    sys.path.insert(0, str(REPO))
    from pingan.core import db
    from pingan.core.auth import do_add_user
    from pingan.core.migrate import upgrade
    from pingan.core.org import do_upsert_station
    from pingan.core.roles import Actor, Role

    upgrade(url)
    db.configure(url)
    system = Actor.system("bench")
    with db.transaction() as s:
        do_upsert_station(
            s, code="WH-YL", name="玉林派出所", lat=30.63, lon=104.06, area_geojson=None, actor=system
        )
        do_add_user(s, username="officer_bench", role=Role.OFFICER, password=PASSWORD, actor=system)
        do_add_user(s, username="supervisor_bench", role=Role.SUPERVISOR, password=PASSWORD, actor=system)

    reports, kyc = build_world(args.reports, 1, 0)
    base_reports, base_kyc = build_world(args.baseline_reports, 2, 1)
    kyc_file = tmp / "kyc.csv"
    kyc_file.write_text(
        "holder_national_id,holder_name,bank,account_number,kind,opened_on,status\n"
        + "\n".join(kyc + base_kyc),
        encoding="utf-8",
    )
    from pingan.antifraud.registry.imports import import_registry

    loaded = import_registry(kyc_file, actor=system)
    assert not loaded.rejected, loaded.rejected[:3]

    sim_port, api_port = free_port(), free_port()
    sim_url, api_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{api_port}"
    env = dict(os.environ)
    env.update(
        PINGAN_BANK_BASE_URL=sim_url,
        PINGAN_BANK_CALLBACK_URL=f"{api_url}/bank-interface/callbacks",
        PINGAN_LOG_JSON="1",
    )
    procs: list[subprocess.Popen[bytes]] = []
    log = (tmp / "processes.log").open("wb")
    quiet = {"stdout": log, "stderr": log}
    try:
        sim_cmd = [
            sys.executable,
            "-m",
            "pingan.cli",
            "bank-sim",
            "--port",
            str(sim_port),
            "--latency-ms",
            str(args.latency_ms),
            "--error-rate",
            str(args.error_rate),
            "--reject-rate",
            str(args.reject_rate),
            "--result-delay-ms",
            "50",
            "--seed",
            "3",
        ]
        if args.outage:
            sim_cmd += ["--down", f"ICBC:0:{args.outage}"]
        procs.append(subprocess.Popen(sim_cmd, cwd=REPO, env=env, **quiet))  # type: ignore[call-overload]
        procs.append(
            subprocess.Popen(  # type: ignore[call-overload]
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "pingan.web.main:app",
                    "--port",
                    str(api_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--workers",
                    str(args.api_workers),
                ],
                cwd=REPO,
                env=env,
                **quiet,
            )
        )
        procs.append(
            subprocess.Popen(  # type: ignore[call-overload]
                # The robot's own settings, as in service: its poll for results whose callback is
                # late (after 5 s) is a fallback, and run earlier it doubles the banks' traffic.
                [sys.executable, "-m", "pingan.cli", "robot", "run"],
                cwd=REPO,
                env=env,
                **quiet,
            )
        )
        wait_http(f"{sim_url}/healthz")
        wait_http(f"{api_url}/healthz")
        # The clock starts when the robot runs, as in service: its start-up (imports, measured at
        # ~20 s under a load average of 7) is no part of a report's latency.
        wait_robot(tmp / "processes.log")
        client = httpx.Client(base_url=api_url, timeout=30, limits=httpx.Limits(max_connections=32))

        def token(user: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        officer, supervisor = token("officer_bench"), token("supervisor_bench")
        stop = threading.Event()
        approved: set[int] = set()

        approver_errors: list[str] = []

        def decide(finding_id: int) -> None:
            try:
                r = client.post(
                    f"/api/v1/findings/{finding_id}/decision", json={"approve": True}, headers=supervisor
                )
            except httpx.HTTPError as exc:  # counted and reported; the queue shows what is left
                approver_errors.append(type(exc).__name__)
                return
            if r.status_code == 200:
                approved.add(finding_id)

        def decide_many(finding_ids: list[int]) -> None:
            try:
                r = client.post(
                    "/api/v1/findings/decisions",
                    json={"decisions": [{"finding_id": i, "approve": True} for i in finding_ids]},
                    headers=supervisor,
                )
            except httpx.HTTPError as exc:
                approver_errors.append(type(exc).__name__)
                return
            if r.status_code == 200:
                approved.update(finding_ids)

        def approver() -> None:
            # Supervisors working the approval queue through the API, as the page does (a few at once).
            k = args.approve_batch
            with ThreadPoolExecutor(4) as deciders:
                while not stop.is_set():
                    try:
                        queue = client.get("/api/v1/findings", headers=supervisor).json()
                    except httpx.HTTPError as exc:
                        approver_errors.append(type(exc).__name__)
                        continue
                    todo = [f["id"] for f in queue if f["id"] not in approved]
                    if k <= 1:
                        list(deciders.map(decide, todo))
                    else:
                        list(deciders.map(decide_many, [todo[i : i + k] for i in range(0, len(todo), k)]))
                    if not queue:
                        time.sleep(0.05)

        threading.Thread(target=approver, daemon=True).start()
        t0 = time.monotonic()
        with ThreadPoolExecutor(args.clients) as pool:
            if args.intake_batch <= 1:
                codes = list(
                    pool.map(
                        lambda body: (
                            client.post("/api/v1/fraud-reports", json=body, headers=officer).status_code
                        ),
                        reports,
                    )
                )
            else:
                k = args.intake_batch
                codes = list(
                    pool.map(
                        lambda chunk: (
                            client.post(
                                "/api/v1/fraud-reports/batch", json={"reports": chunk}, headers=officer
                            ).status_code
                        ),
                        [reports[i : i + k] for i in range(0, len(reports), k)],
                    )
                )
        t_registered = time.monotonic() - t0
        assert all(c == 201 for c in codes), (
            {c: codes.count(c) for c in set(codes)},
            str(tmp / "processes.log"),
        )

        from pingan.antifraud.orders.choices import FindingStatus, OrderReason, OrderState
        from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder

        def snapshot() -> list[RestrictionOrder]:
            # A read transaction: on SQLite it must not take the write lock the system under test needs.
            with db.read_transaction() as s:
                return list(s.execute(select(RestrictionOrder)).scalars())

        def progress() -> tuple[int, int, int, int]:
            """Direct orders, direct orders not yet sent, orders not yet ended, findings not yet decided."""
            ro = RestrictionOrder
            with db.read_transaction() as s:
                undecided = s.execute(
                    select(func.count()).where(PoliceFinding.status == FindingStatus.DRAFT)
                ).scalar_one() + (args.reports - s.execute(select(func.count(PoliceFinding.id))).scalar_one())
                direct = s.execute(
                    select(func.count(), func.count(ro.sent_at)).where(ro.reason == OrderReason.DIRECT_PAYEE)
                ).one()
                open_ = s.execute(
                    select(func.count()).where(ro.state.not_in([OrderState.EXECUTED, OrderState.REJECTED]))
                ).scalar_one()
            return int(direct[0]), int(direct[0]) - int(direct[1]), int(open_), int(undecided)

        direct_sent_at = None
        undecided = -1
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            n_direct, unsent, open_orders, undecided = progress()
            if direct_sent_at is None and n_direct and not unsent:
                direct_sent_at = time.monotonic() - t0
            # Decided as the database says: an approval whose answer timed out may still have gone through.
            if not undecided and not open_orders and direct_sent_at is not None:
                break
            time.sleep(0.2)
        t_all = time.monotonic() - t0
        stop.set()
        orders = snapshot()
        sim_stats = httpx.get(f"{sim_url}/admin/stats", timeout=10).json()

        def lat(reason: OrderReason, field: str) -> list[float]:
            return [
                (getattr(o, field) - o.origin_at).total_seconds()
                for o in orders
                if o.reason is reason and getattr(o, field) is not None
            ]

        good_end = sum(
            1
            for o in orders
            if o.state in (OrderState.ACKNOWLEDGED, OrderState.EXECUTED)
            or (o.state is OrderState.REJECTED and o.reject_code)
        )
        # ---- baseline: the same work one order at a time, synchronously -------------------------
        procs[2].terminate()
        procs[2].wait(30)
        baseline = run_baseline(base_reports, sim_url, env)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(30)
        db.get_engine().dispose()
        if drop is not None:
            drop()
    throughput = args.reports / direct_sent_at if direct_sent_at else 0.0
    out = {
        "figure": "stoppay_reports_per_s",
        "db": args.db,
        "value": round(throughput, 1),
        "baseline": "one_order_at_a_time_synchronous",
        "baseline_value": round(baseline["reports_per_s"], 1),
        "ratio": round(throughput / baseline["reports_per_s"], 1) if baseline["reports_per_s"] else None,
        "reports": args.reports,
        "orders": len(orders),
        "orders_direct": len([o for o in orders if o.reason is OrderReason.DIRECT_PAYEE]),
        "orders_holder_linked": len([o for o in orders if o.reason is OrderReason.HOLDER_LINKED]),
        "orders_ended_acknowledged_or_rejected_with_reason": good_end,
        "all_orders_ended": good_end == len(orders),
        "report_to_sent_p99_s": pct(lat(OrderReason.DIRECT_PAYEE, "sent_at"), 99),
        "approval_to_holder_linked_sent_p99_s": pct(lat(OrderReason.HOLDER_LINKED, "sent_at"), 99),
        "report_to_ack_p99_s": pct(lat(OrderReason.DIRECT_PAYEE, "acknowledged_at"), 99),
        "approval_to_holder_linked_ack_p99_s": pct(lat(OrderReason.HOLDER_LINKED, "acknowledged_at"), 99),
        "report_to_sent_p50_s": pct(lat(OrderReason.DIRECT_PAYEE, "sent_at"), 50),
        "report_to_ack_p50_s": pct(lat(OrderReason.DIRECT_PAYEE, "acknowledged_at"), 50),
        # Where the time to "sent" goes: the robot drafting the order after the report's commit,
        # then the sender claiming it.
        "report_to_drafted_p50_s": pct(lat(OrderReason.DIRECT_PAYEE, "created_at"), 50),
        "report_to_drafted_p99_s": pct(lat(OrderReason.DIRECT_PAYEE, "created_at"), 99),
        # The sender's share of report -> sent: from the order's drafting to its claim.
        "drafted_to_sent_p99_s": pct(
            [
                (o.sent_at - o.created_at).total_seconds()
                for o in orders
                if o.reason is OrderReason.DIRECT_PAYEE and o.sent_at is not None
            ],
            99,
        ),
        "baseline_report_to_ack_p99_s": baseline["to_ack_p99_s"],
        "registration_s": round(t_registered, 2),
        "all_direct_sent_s": round(direct_sent_at or -1, 2),
        "everything_ended_s": round(t_all, 2),
        "findings_left_undecided": undecided,
        "approval_request_errors": len(approver_errors),
        "bank_sim_duplicates": sim_stats["duplicates"],
        "bank_sim_received": sim_stats["received"],
        "outage_s": args.outage,
        "api_workers": args.api_workers,
        "intake": f"batches of {args.intake_batch}" if args.intake_batch > 1 else "one report a request",
        "approvals": f"up to {args.approve_batch} a request" if args.approve_batch > 1 else "one a request",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, ensure_ascii=False))


def run_baseline(reports: list[dict[str, Any]], sim_url: str, env: dict[str, str]) -> dict[str, Any]:
    """Register each report, then create, send and await the acknowledgement of each order in turn."""
    from pingan.antifraud.banks.adapter import HttpBankAdapter, TransientBankError
    from pingan.antifraud.banks.protocol import LegalBasisWire, OrderKindWire, OrderRequest
    from pingan.antifraud.orders import actions
    from pingan.antifraud.orders.choices import OrderKind, OrderReason, OutboxStatus
    from pingan.antifraud.orders.model import BankOutbox
    from pingan.antifraud.reports import actions as report_actions
    from pingan.antifraud.reports.schemas import ReportIn
    from pingan.core import clock, db
    from pingan.core.errors import Conflict
    from pingan.core.pii import PiiKind, decrypt
    from pingan.core.roles import Actor, Role
    from pingan.core.settings import BankSettings

    settings = BankSettings(base_url=sim_url, callback_url=env["PINGAN_BANK_CALLBACK_URL"])
    adapter = HttpBankAdapter(settings)
    robot_actor = Actor.system("baseline")
    # A report is a basis for a stop-payment only when a station officer registers it.
    officer = Actor(username="officer_bench", role=Role.OFFICER)
    to_ack: list[float] = []
    t0 = time.monotonic()
    for body in reports:
        start = time.monotonic()
        with db.transaction() as s:
            item = report_actions.NewReport(report=ReportIn.model_validate(body), actor=officer)
            report = report_actions.register_report(s, item).report
            refs = {
                (t.payee_bank, t.payee_account.pseudonym): actions.AccountRef(t.payee_bank, t.payee_account)
                for t in report.transfers
            }
            rid, origin = report.id, report.created_at
        for ref in refs.values():
            with db.transaction() as s:
                draft = actions.OrderDraft(
                    kind=OrderKind.STOP_PAYMENT,
                    reason=OrderReason.DIRECT_PAYEE,
                    account=ref,
                    actor=robot_actor,
                    report_id=rid,
                    origin_at=origin,
                )
                try:
                    actions.check_issue_order(s, draft)
                except Conflict:
                    continue
                order = actions.do_issue_order(s, draft)
                actions.do_mark_sent(s, order, actor=robot_actor)
                assert order.expires_at is not None
                msg = OrderRequest(
                    idempotency_key=order.idempotency_key,
                    order_id=order.id,
                    bank_code=order.bank_code,
                    kind=OrderKindWire.STOP_PAYMENT,
                    account_number=decrypt(PiiKind.CARD, order.account.cipher),
                    expires_at=order.expires_at,
                    basis=LegalBasisWire(kind="report", reference=f"report:{rid}", article="受案登记"),
                    callback_url=settings.callback_url,
                )
                for _attempt in range(20):
                    try:
                        ack = adapter.send_request(msg)
                        break
                    except TransientBankError:
                        time.sleep(0.05)
                actions.do_record_ack(s, order, ack, actor=robot_actor)
                for row in s.execute(select(BankOutbox).where(BankOutbox.order_id == order.id)).scalars():
                    row.status, row.delivered_at = OutboxStatus.DELIVERED, clock.now()
        to_ack.append(time.monotonic() - start)
    elapsed = time.monotonic() - t0
    adapter.close()
    return {"reports_per_s": len(reports) / elapsed, "to_ack_p99_s": pct(to_ack, 99)}


if __name__ == "__main__":
    main()
