"""A real pingan server process and Debian's headless Chromium, for the tests that drive a browser.

`serve()` starts `pingan serve` on a free port over a fresh SQLite file seeded with the demo stations
and users; `chromium()` launches Debian's Chromium through Playwright (never a downloaded browser).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """`pingan serve` on `root/pingan.db`, seeded with the demo stations and users; yields its base URL."""
    env = {
        **os.environ,
        "PINGAN_DATABASE_URL": f"sqlite:///{root / 'pingan.db'}",
        "PINGAN_DATA_DIR": str(root),
        "PINGAN_DEMO": "1",
    }
    pingan = [sys.executable, "-m", "pingan.cli"]
    # Migrate and seed in one interpreter: each start of pingan costs seconds on a busy machine.
    migrate_and_seed = (
        "from pingan.core.migrate import upgrade; "
        "upgrade(); from pingan.demo import seed_people; seed_people()"
    )
    subprocess.run([sys.executable, "-c", migrate_and_seed], env=env, check=True, capture_output=True)
    port = free_port()
    log_path = root / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([*pingan, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            else:
                raise RuntimeError(f"server did not start: {log_path.read_text()}")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright; skips (fails under CI) when it is not installed."""
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("CI=true and /usr/bin/chromium is missing (make browser installs it)")
        pytest.skip("Debian chromium is not installed: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
