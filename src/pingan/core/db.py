"""The SQLAlchemy 2 engine, sessions and shared column types. SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.orm.session import SessionTransactionOrigin
from sqlalchemy.types import TypeDecorator

from pingan.core.clock import ensure_utc
from pingan.core.settings import get_settings

# One naming convention so that Alembic autogenerate produces stable constraint names on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every pingan table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(enum: type[StrEnum], *, length: int = 32) -> Enum:
    """A column type storing a StrEnum by its value as VARCHAR on every engine (no native ENUM to migrate)."""
    return Enum(
        enum, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members]
    )


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always UTC-aware in Python, whatever the engine stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return ensure_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions lazily and behind SQLAlchemy's back, which makes SAVEPOINT
    # release commit work early. Take transaction control away from the driver and let the
    # "begin" hook below issue BEGIN, as the SQLAlchemy SQLite dialect documentation advises.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit (measured here: 1.4 ms -> 0.03 ms
    # per commit, and every commit holds the one write lock). A commit survives the process being
    # killed, which is what the outbox's exactly-once rests on; only an OS crash or power loss can
    # lose the last commits. Production runs PostgreSQL, with synchronous_commit on.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# SQLite has one writer at a time. A deferred transaction that reads and then writes fails at once
# with SQLITE_BUSY_SNAPSHOT when another process committed in between (busy_timeout cannot help:
# its snapshot is stale), so a transaction that will write takes the write lock up front with
# BEGIN IMMEDIATE, and waits for it under busy_timeout. Reads stay deferred and never hold it.
# The ORM decides per transaction (`_sqlite_session_begin`): an explicit `session.begin()` (and so
# `transaction()`) is a write transaction; an autobegun one (an auth check, a page GET) is a read.
_ORM = "pingan_orm"
_MODE = "pingan_begin"  # session.info key: "read" or "write" overrides the rule above


def _sqlite_begin(conn: Any) -> None:
    if conn.get_execution_options().get(_ORM):
        return  # a session's connection: `_sqlite_session_begin` issues the BEGIN
    conn.exec_driver_sql("BEGIN")


def _sqlite_session_begin(session: Session, transaction: SessionTransaction, connection: Any) -> None:
    if transaction.parent is not None or not connection.get_execution_options().get(_ORM):
        return  # a savepoint (its SAVEPOINT is the dialect's), or not a session connection
    mode = session.info.get(_MODE)
    write = mode == "write" or (mode is None and transaction.origin is SessionTransactionOrigin.BEGIN)
    if not write:
        connection.exec_driver_sql("BEGIN")
        return
    url = connection.engine.url
    with _write_locks_guard:
        lock = _write_locks.get(str(url))
        if lock is None:
            lock = _write_locks[str(url)] = WriterLock(_lock_file(url.database))
    if not lock.acquire(timeout=_WRITE_LOCK_WAIT_S):
        raise TimeoutError(f"no SQLite write lock after {_WRITE_LOCK_WAIT_S} s")
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        lock.release()
        raise
    session.info[_HOLDS] = lock


def _sqlite_session_committed(session: Session) -> None:
    # Released as soon as COMMIT is done, before the after-commit event handlers run: they open
    # transactions of their own, and must not hold this lock while waiting for a pooled connection
    # that a thread queued on the lock holds (a deadlock seen under the benchmark).
    if (lock := session.info.pop(_HOLDS, None)) is not None:
        lock.release()


def _sqlite_session_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and (lock := session.info.pop(_HOLDS, None)) is not None:
        lock.release()  # rolled back, or closed


class WriterLock:
    """Who may write a SQLite file next: threads of a process queue on a lock of their own, processes
    on an exclusive `flock` of a file beside the database.

    Without it, every waiting writer polls SQLite's busy handler, which sleeps up to 100 ms between
    tries: under load (the benchmark's 40 request threads) that starved some writers past
    busy_timeout, and across processes (two server workers and the robot) it left the database idle
    while the next writer slept (measured: the server processes' CPU mostly idle while reports queued
    for the lock). The kernel wakes a process blocked on `flock` the moment the lock is released, and
    releases it if the holder dies. Re-entrant within a thread, as a nested write transaction is.
    """

    def __init__(self, path: str | None) -> None:
        self._threads = threading.RLock()
        self._depth = 0
        self._path = path
        self._fd: int | None = None
        self._pid = 0

    def acquire(self, *, timeout: float) -> bool:
        """Take the lock (False when another thread of this process held it past `timeout`)."""
        if not self._threads.acquire(timeout=timeout):
            return False
        try:
            if self._depth == 0 and self._path is not None:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1
        return True

    def release(self) -> None:
        """Give the lock to the next writer."""
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def _file(self) -> int:
        # Opened per process: a forked child must not share its parent's open file (and so its lock).
        if self._fd is None or self._pid != os.getpid():
            assert self._path is not None
            self._fd, self._pid = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        return self._fd


def _lock_file(database: str | None) -> str | None:
    """The lock file of a SQLite database file (none for an in-memory database)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}.writer-lock"


_write_locks: dict[str, WriterLock] = {}
_write_locks_guard = threading.Lock()
_HOLDS = "pingan_write_lock"
_WRITE_LOCK_WAIT_S = 60.0


event.listen(Session, "after_begin", _sqlite_session_begin)
event.listen(Session, "after_commit", _sqlite_session_committed, insert=True)
event.listen(Session, "after_transaction_end", _sqlite_session_end)


T = TypeVar("T")


class PendingUntilCommit(Generic[T]):
    """Items a transaction queues on its session to act on at commit (audit entries, domain events).

    They are dropped with the transaction: on rollback, on a close without commit, and, for the
    items queued inside a savepoint, when that savepoint rolls back (the items queued before it
    still commit). The owner reads them at commit, with `peek` or `take`.
    """

    def __init__(self, key: str) -> None:
        self._key = key  # the session.info key; one per kind of item
        event.listen(Session, "after_soft_rollback", self._drop)
        event.listen(Session, "after_transaction_end", self._forget)

    def add(self, session: Session, item: T) -> None:
        """Queue `item` on `session`'s transaction, inside its innermost savepoint if one is open."""
        session.info.setdefault(self._key, []).append((item, session.get_nested_transaction()))

    def peek(self, session: Session) -> list[T]:
        """The items queued on `session`, in order, left queued."""
        return [item for item, _savepoint in session.info.get(self._key, [])]

    def take(self, session: Session) -> list[T]:
        """The items queued on `session`, in order, no longer queued."""
        return [item for item, _savepoint in session.info.pop(self._key, [])]

    def _drop(self, session: Session, previous: SessionTransaction) -> None:
        if not previous.nested:
            session.info.pop(self._key, None)
            return
        # A savepoint rolled back: only the items queued inside it go; earlier ones still commit.

        def inside(t: SessionTransaction | None) -> bool:
            while t is not None:
                if t is previous:
                    return True
                t = t.parent
            return False

        pending: list[tuple[T, SessionTransaction | None]] = session.info.get(self._key, [])
        pending[:] = [(item, sp) for item, sp in pending if not inside(sp)]

    def _forget(self, session: Session, transaction: SessionTransaction) -> None:
        # Closed without commit or rollback (session.close()): nothing that was pending happened.
        if transaction.parent is None:
            session.info.pop(self._key, None)


def make_engine(url: str) -> Engine:
    """Create an engine for `url`; a SQLite file's folder is created when missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A connection per request thread (the server has 40) plus those of after-commit handlers:
        # SQLite connections are cheap, and a request must not wait for the pool.
        engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=20, max_overflow=80)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    if parsed.get_backend_name() == "postgresql":
        event.listen(engine, "connect", _binary_arrays)
    return engine


def _binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    # Lists (the arrays of `core.bulk`) sent in PostgreSQL's binary format, as psycopg sends
    # numbers and timestamps: its default text format quotes and escapes every element in Python,
    # 0.5-2.7 ms for 200 strings or JSON documents against 0.06 ms in binary (measured here).
    from psycopg.types.array import ListBinaryDumper

    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def configure(url: str | None = None) -> Engine:
    """(Re)bind the process to the database at `url`, or at the configured URL."""
    global _engine, _sessionmaker
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(url or get_settings().database_url)
    bind = _engine.execution_options(**{_ORM: True}) if _engine.dialect.name == "sqlite" else _engine
    _sessionmaker = sessionmaker(bind=bind, expire_on_commit=False)
    return _engine


def get_engine() -> Engine:
    """The process engine, configured on first use."""
    return _engine if _engine is not None else configure()


def new_session() -> Session:
    """A new session on the process engine; the caller closes it."""
    if _sessionmaker is None:
        configure()
    assert _sessionmaker is not None
    return _sessionmaker()


@contextmanager
def transaction() -> Iterator[Session]:
    """A write transaction: commits on success, rolls back on any error (SQLite: BEGIN IMMEDIATE)."""
    session = new_session()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


@contextmanager
def read_transaction() -> Iterator[Session]:
    """A read-only transaction, rolled back at the end; on SQLite it never takes the write lock."""
    session = new_session()
    session.info[_MODE] = "read"
    try:
        yield session
    finally:
        session.close()


def session_dependency() -> Iterator[Session]:
    """FastAPI dependency: one session per request, closed afterwards."""
    session = new_session()
    try:
        yield session
    finally:
        session.close()
