"""A real pingan server process and a real headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`pingan serve` on a fresh SQLite file, seeded with the demo stations and users."""
    root = tmp_path_factory.mktemp("live")
    env = {
        **os.environ,
        "PINGAN_DATABASE_URL": f"sqlite:///{root / 'pingan.db'}",
        "PINGAN_DATA_DIR": str(root),
        "PINGAN_DEMO": "1",
    }
    pingan = [sys.executable, "-m", "pingan.cli"]
    subprocess.run([*pingan, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [sys.executable, "-c", "from pingan.demo import seed_people; seed_people()"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (root / "server.log").open("w")
    proc = subprocess.Popen([*pingan, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"server did not start: {(root / 'server.log').read_text()}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("CI=true and /usr/bin/chromium is missing (apt-get install chromium)")
        pytest.skip("Debian chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield b
        b.close()
