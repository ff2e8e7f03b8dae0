"""The audit chain stays linear when several processes append to it at once.

Each process is a real Python process on the same database, appending audited transactions of one
to three entries as fast as it can. The heads serialise them: on PostgreSQL each lane's head row is
locked by the UPDATE that advances it (a transaction takes a free lane with SKIP LOCKED), on SQLite
the one write lock. Afterwards every lane verifies end to end, with no sequence number twice and no
entry linked from two successors (a fork).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from itertools import pairwise

from sqlalchemy import select

from pingan.core import db
from pingan.core.audit import AuditEntry, verify_chain
from tests.antifraud.orders.conftest import REPO, database_url

WRITERS = 4
TRANSACTIONS = 60

_WRITER = """
import sys
from pingan.core import audit, db
from pingan.core.roles import Actor, Role

me = int(sys.argv[1])
actor = Actor(f"writer_{me}", Role.OFFICER, 1)
with db.get_engine().connect():  # connected before the start, so that none starts late
    pass
print("ready", flush=True)
sys.stdin.readline()  # all writers start together
for i in range(int(sys.argv[2])):
    with db.transaction() as s:
        for k in range(1 + i % 3):
            audit.record(s, actor=actor, action="probe.write", object_type="probe", object_id=f"{me}:{i}:{k}")
"""


def test_several_processes_appending_at_once_leave_every_lane_one_unforked_chain(database: str) -> None:
    env = dict(os.environ, PINGAN_DATABASE_URL=database_url())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(w), str(TRANSACTIONS)],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for w in range(WRITERS)
    ]
    # Every writer has imported and connected before any starts: on a loaded machine the imports
    # alone differ by seconds, and the first writer would be done before the last began.
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline() == b"ready\n"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        p.stdin.flush()
        p.stdin.close()
    assert [p.wait(180) for p in procs] == [0] * WRITERS
    per_writer = sum(1 + i % 3 for i in range(TRANSACTIONS))
    with db.transaction() as s:
        report = verify_chain(s)
        rows = s.execute(
            select(AuditEntry.lane, AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.object_id).where(
                AuditEntry.action == "probe.write"
            )
        ).all()
    assert report.ok, report.reason
    assert len(rows) == WRITERS * per_writer
    assert len({r.object_id for r in rows}) == WRITERS * per_writer, "every entry written once"
    assert max(Counter((r.lane, r.seq) for r in rows).values()) == 1
    assert max(Counter((r.lane, r.prev_hash) for r in rows).values()) == 1, "no entry has two successors"
    # The writers really overlapped: their entries interleave in the chain.
    by_lane = sorted(rows, key=lambda r: (r.lane, r.seq))
    switches = sum(1 for a, b in pairwise(by_lane) if a.object_id.split(":")[0] != b.object_id.split(":")[0])
    assert switches > WRITERS
