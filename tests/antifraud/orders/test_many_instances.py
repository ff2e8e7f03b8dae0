"""Two API processes and two robot senders on one PostgreSQL database, with one sender killed mid-batch.

Reports are registered through both API processes at once (the robot drafts their orders there),
each sender takes its own messages (`FOR UPDATE SKIP LOCKED`, under a lease), the bank answers by
callback to one API process or the other, and one sender is killed with SIGKILL while a batch of
its claims is in flight. The other sender takes those claims over when their lease runs out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from pingan.antifraud.orders.choices import OrderState, OutboxStatus
from pingan.antifraud.orders.model import BankOutbox, RestrictionOrder
from pingan.core import db
from pingan.core.auth import User
from tests.antifraud.orders.conftest import (
    REPO,
    BankSim,
    database_url,
    free_port,
    mule_report,
    robot_env,
    wait_for,
    wait_http,
)
from tests.conftest import bearer

REPORTS = 60
BANKS = ("CCB", "ICBC", "ABC")
ENDED = {OrderState.EXECUTED, OrderState.REJECTED}


@dataclass
class Api:
    url: str
    proc: subprocess.Popen[bytes]


def _start_api() -> Api:
    port = free_port()
    # Demo mode: the server accepts the tests' built-in keys (the same keys as this process, so that
    # the officer's token from `bearer` is valid there).
    env = dict(os.environ, PINGAN_DATABASE_URL=database_url(), PINGAN_DEMO="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pingan.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
    )
    return Api(f"http://127.0.0.1:{port}", proc)


@pytest.fixture
def two_apis(database: str) -> Iterator[list[Api]]:
    if database == "sqlite":
        pytest.skip("several API and robot processes share a PostgreSQL database; SQLite has one writer")
    apis = [_start_api(), _start_api()]
    try:
        for api in apis:
            # Two servers importing at once on a loaded 2-core machine: a bound, not a timing.
            wait_http(f"{api.url}/healthz", timeout=240)
        yield apis
    finally:
        for api in apis:
            api.proc.terminate()
            api.proc.wait(15)


def _sender(sim: BankSim, name: str, api: Api) -> subprocess.Popen[bytes]:
    # A 6 s lease: a claimed batch (0.6 s at the bank, more on a loaded machine) is never taken over
    # while its sender lives, and the survivor takes the killed sender's claims within seconds.
    env = robot_env(
        sim, PINGAN_BANK_CALLBACK_URL=f"{api.url}/bank-interface/callbacks", PINGAN_BANK_LEASE_S="6"
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pingan.cli",
            "robot",
            "run",
            "--name",
            name,
            "--batch",
            "40",
            "--poll-after-s",
            "2",
        ],
        cwd=REPO,
        env=env,
    )


def _count(*where: object) -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(BankOutbox).where(*where)).scalar_one())


def _orders() -> list[RestrictionOrder]:
    with db.transaction() as s:
        return list(s.execute(select(RestrictionOrder)).scalars())


def _register_through(api: Api, headers: dict[str, str], numbers: range, failures: list[str]) -> None:
    # Bounds, not timings: under CI the other test group shares the two cores.
    with httpx.Client(base_url=api.url, headers=headers, timeout=120) as c:
        for n in numbers:
            r = c.post("/api/v1/fraud-reports", json=mule_report(n, banks=BANKS))
            if r.status_code != 201:
                failures.append(f"{api.url} report {n}: {r.status_code} {r.text[:200]}")


def test_two_senders_with_one_killed_mid_batch_send_every_order_exactly_once_through_two_apis(
    station_yulin: object, officer_li: User, bank_sim: BankSim, two_apis: list[Api]
) -> None:
    headers = bearer(officer_li)
    failures: list[str] = []
    # The first half registered through both APIs at once, before any sender runs.
    first = [
        threading.Thread(target=_register_through, args=(api, headers, range(i, REPORTS // 2, 2), failures))
        for i, api in enumerate(two_apis)
    ]
    for t in first:
        t.start()
    for t in first:
        t.join()
    senders = [_sender(bank_sim, "sender-a", two_apis[0]), _sender(bank_sim, "sender-b", two_apis[1])]
    try:
        wait_for(
            lambda: _count(BankOutbox.status == OutboxStatus.DELIVERED) > 0,
            timeout=240,
            what="the first deliveries",
        )
        # From here each bank answers in about 0.6 s: a batch that sender-a claims stays in flight long
        # enough to be seen, and well inside the bank timeout (2 s) and the claim's lease.
        bank_sim.configure(latency_ms=600.0, latency_sigma=0.1)
        # The second half while both senders run.
        second = [
            threading.Thread(
                target=_register_through, args=(api, headers, range(REPORTS // 2 + i, REPORTS, 2), failures)
            )
            for i, api in enumerate(two_apis)
        ]
        for t in second:
            t.start()
        wait_for(
            lambda: (
                _count(BankOutbox.status == OutboxStatus.IN_FLIGHT, BankOutbox.claimed_by == "sender-a") > 0
            ),
            timeout=240,
            what="a batch of sender-a in flight",
        )
        senders[0].send_signal(signal.SIGKILL)
        senders[0].wait(10)
        stranded = _count(BankOutbox.status == OutboxStatus.IN_FLIGHT, BankOutbox.claimed_by == "sender-a")
        assert stranded > 0, "the kill must land while sender-a holds messages in flight"
        for t in second:
            t.join()
        assert failures == []
        total = REPORTS * len(BANKS)
        assert len(_orders()) == total
        bank_sim.configure(latency_ms=5.0)
        wait_for(
            lambda: _count(BankOutbox.status == OutboxStatus.DELIVERED) == total,
            timeout=240,
            what="all delivered",
        )
        stats = bank_sim.stats()
        assert stats["duplicates"] == 0, "no order reached its bank twice"
        assert stats["received"] == stats["unique"] == total
        assert set(stats["keys"]) == {o.idempotency_key for o in _orders()}
        assert _count(BankOutbox.claimed_by == "sender-a") == 0, "the survivor took over every stranded claim"
        wait_for(lambda: all(o.state in ENDED for o in _orders()), timeout=120, what="every order ended")
    finally:
        for p in senders:
            if p.poll() is None:
                p.terminate()
                p.wait(15)
