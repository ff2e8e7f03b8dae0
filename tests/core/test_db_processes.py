"""Two real processes writing to one SQLite file at once both succeed (no "database is locked").

A deferred transaction that reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT when the
other process committed in between, whatever the busy timeout; `db.transaction()` therefore begins
IMMEDIATE, and read sessions stay deferred so that they never hold the write lock.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pingan.core import audit, db
from pingan.core.audit import AuditEntry, verify_chain
from pingan.core.migrate import upgrade
from pingan.core.roles import Actor, Role

WRITER = textwrap.dedent(
    """
    import sys
    from sqlalchemy import func, select
    from pingan.core import audit, db
    from pingan.core.audit import AuditEntry
    from pingan.core.roles import Actor, Role

    db.configure(sys.argv[1])
    who = Actor(sys.argv[2], Role.OFFICER, 1)
    for i in range(int(sys.argv[3])):
        with db.transaction() as s:
            # read, then write: the pattern that fails under a deferred BEGIN
            seen = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
            audit.record(s, actor=who, action="write", object_type="t", object_id=f"{i}:{seen}")
        with db.read_transaction() as s:
            s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    print("done", flush=True)
    """
)


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    upgrade(url)
    return url


def _spawn(url: str, name: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, name, str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_writing_to_one_sqlite_file_both_succeed(sqlite_file: str) -> None:
    procs = [_spawn(sqlite_file, "officer_li", 150), _spawn(sqlite_file, "officer_wang", 150)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert out.strip() == "done"
    db.configure(sqlite_file)
    try:
        with db.read_transaction() as s:
            assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 300
            assert verify_chain(s).ok
    finally:
        db.get_engine().dispose()


def test_an_open_read_session_does_not_block_another_process_writing(sqlite_file: str) -> None:
    db.configure(sqlite_file)
    try:
        with db.read_transaction() as reader:
            reader.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
            writer = _spawn(sqlite_file, "officer_li", 5)
            _out, err = writer.communicate(timeout=60)
            assert writer.returncode == 0, err[-2000:]
        with db.transaction() as s:
            audit.record(
                s, actor=Actor("officer_wang", Role.OFFICER, 2), action="w", object_type="t", object_id=1
            )
        with db.read_transaction() as s:
            assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 6
    finally:
        db.get_engine().dispose()
