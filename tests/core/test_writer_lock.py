"""SQLite's one writer is chosen by a lock file beside the database: one process at a time, re-entrant in a thread."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pingan.core.db import WriterLock

TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("held")
else:
    print("free")
"""


def _seen_by_another_process(path: Path) -> str:
    return subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_another_process_cannot_write_while_one_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "pingan.db.writer-lock"
    lock = WriterLock(str(path))
    assert lock.acquire(timeout=1)
    assert _seen_by_another_process(path) == "held"
    lock.release()
    assert _seen_by_another_process(path) == "free"


def test_a_nested_write_in_the_same_thread_keeps_the_lock_until_the_outer_one_ends(tmp_path: Path) -> None:
    path = tmp_path / "pingan.db.writer-lock"
    lock = WriterLock(str(path))
    assert lock.acquire(timeout=1)
    assert lock.acquire(timeout=1)
    lock.release()
    assert _seen_by_another_process(path) == "held"
    lock.release()
    assert _seen_by_another_process(path) == "free"
