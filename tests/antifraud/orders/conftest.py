"""Fixtures of the stop-payment loop: a real bank-sim process, the robot as a real process, people and cards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from pingan.antifraud.banks.protocol import Acknowledgement, OrderResult
from pingan.antifraud.orders import actions, robot
from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports.schemas import ReportIn
from pingan.core import clock, db
from pingan.core.org import Station
from pingan.core.roles import Actor, Role
from tests.factories import card, national_id, report_payload

REPO = Path(__file__).resolve().parents[3]
# The receiving officer, logged in: only an officer's registration is a basis for a direct stop.
OFFICER = Actor(username="officer_li", role=Role.OFFICER)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    # A bound, not a timing: a process's imports took over 20 s on this 2-core machine under load.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not come up")


def database_url() -> str:
    return db.get_engine().url.render_as_string(hide_password=False)


@dataclass
class BankSim:
    """A running `pingan bank-sim` process on a loopback port."""

    url: str
    proc: subprocess.Popen[bytes]

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/admin/stats", timeout=5).json())

    def configure(self, **changes: Any) -> None:
        httpx.post(f"{self.url}/admin/config", json=changes, timeout=5).raise_for_status()

    def down(self, bank: str, seconds: float) -> None:
        httpx.post(f"{self.url}/admin/downtime", json={"bank": bank, "seconds": seconds}, timeout=5)


@pytest.fixture
def bank_sim(database: str) -> Iterator[BankSim]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pingan.cli",
            "bank-sim",
            "--port",
            str(port),
            "--latency-ms",
            "5",
            "--latency-sigma",
            "0.3",
            "--result-delay-ms",
            "5",
            "--seed",
            "7",
        ],
        cwd=REPO,
    )
    sim = BankSim(f"http://127.0.0.1:{port}", proc)
    try:
        wait_http(f"{sim.url}/healthz")
        yield sim
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class RobotProcess:
    """`pingan robot run` as a real process, restartable."""

    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pingan.cli", "robot", "run", "--poll-after-s", "0.5", "--batch", "40"],
            cwd=REPO,
            env=self.env,
        )
        self.procs.append(proc)
        return proc

    def kill9(self) -> None:
        self.procs[-1].send_signal(signal.SIGKILL)
        self.procs[-1].wait(10)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(15)


def robot_env(sim: BankSim, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PINGAN_DATABASE_URL=database_url(),
        PINGAN_BANK_BASE_URL=sim.url,
        # Nobody listens here: results come back by the robot's poll in these tests.
        PINGAN_BANK_CALLBACK_URL=f"http://127.0.0.1:{free_port()}/bank-interface/callbacks",
        PINGAN_BANK_BREAKER_OPEN_S="0.5",
        PINGAN_BANK_BACKOFF_BASE_S="0.05",
        PINGAN_BANK_BACKOFF_MAX_S="0.5",
        PINGAN_BANK_CONCURRENCY="16",
        # Short, so that a sender killed in a test hands its claims on within seconds (30 s in service).
        PINGAN_BANK_LEASE_S="3",
    )
    env.update(extra)
    return env


@pytest.fixture
def robot_process(bank_sim: BankSim) -> Iterator[RobotProcess]:
    rp = RobotProcess(robot_env(bank_sim))
    yield rp
    rp.stop()


@pytest.fixture
def robot_installed() -> Iterator[None]:
    robot.install()
    return


MULE_HOLDER = national_id("51010719900101003")
MULE_CCB = card("621700", 10_000 + 1)  # the account mule_report(1) pays
MULE_ICBC = card("622202", 777)
MULE_ABC = card("622848", 778)


def mule_report(n: int, *, banks: tuple[str, ...] = ("CCB",), amount_fen: int = 300_000) -> dict[str, Any]:
    """Report number `n`: victim pays one fresh mule account at each bank of `banks`."""
    prefixes = {"CCB": "621700", "ICBC": "622202", "ABC": "622848", "BOC": "621661", "CMB": "622588"}
    transfers = []
    for i, bank in enumerate(banks):
        transfers.append(
            {
                "occurred_at": "2026-11-20T09:40:00+08:00",
                "amount_fen": amount_fen,
                "payer_card": card("622588", 900_000 + n),
                "payer_bank": "CMB",
                "payee_account": card(prefixes[bank], 10_000 * (i + 1) + n),
                "payee_bank": bank,
                "channel": "mobile_banking",
            }
        )
    return report_payload(external_ref=f"510107-2026-{n:06d}", transfers=transfers, suspects=[])


def register(payload: dict[str, Any]) -> int:
    """Register a report as the receiving officer would; returns its id."""
    with db.transaction() as s:
        item = report_actions.NewReport(report=ReportIn.model_validate(payload), actor=OFFICER)
        return report_actions.register_report(s, item).report.id


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


BANK = Actor.system("bank:CCB")


class NoBank:
    """Maintenance never talks to a bank; the sender does."""

    def send_request(self, msg: object) -> None:
        raise AssertionError("maintenance sent a message")

    send_release = send_requests = inquire = send_request


def execute_at_bank(order_id: int) -> None:
    """Play the bank: the order is sent, acknowledged and executed."""
    with db.transaction() as s:
        order = actions.get_order(s, order_id)
        actions.do_mark_sent(s, order, actor=BANK)
        actions.do_record_ack(
            s,
            order,
            Acknowledgement(idempotency_key=order.idempotency_key, bank_ref="R1", status="accepted"),
            actor=BANK,
        )
        actions.do_record_result(
            s,
            order,
            OrderResult(
                idempotency_key=order.idempotency_key,
                bank_ref="R1",
                bank_code=order.bank_code,
                outcome="executed",
                held_amount_fen=300_000,
                at=clock.now(),
            ),
            actor=BANK,
        )


__all__ = ["Station"]
