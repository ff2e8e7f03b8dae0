"""Shared fixtures. Database tests run twice: on a SQLite file and on a real PostgreSQL server.

PostgreSQL is expected on 127.0.0.1:5432 with trust auth (override with PINGAN_TEST_PG_URL). Each
test run creates its own database and drops it at the end. When the server is unreachable, the
PostgreSQL variants skip with a message saying how to start it; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

import pingan.web.models  # noqa: F401 - every table registered
from pingan.core import db
from pingan.core.auth import User, do_add_user, issue_token
from pingan.core.db import Base
from pingan.core.migrate import upgrade
from pingan.core.org import Station, do_upsert_station
from pingan.core.roles import Actor, Role
from pingan.core.settings import get_settings

PG_ADMIN_URL = os.environ.get("PINGAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_HOWTO = (
    "PostgreSQL is not reachable at 127.0.0.1:5432; start it with "
    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
    "(or set PINGAN_TEST_PG_URL)"
)


# The test files that publish or subscribe on the one Mosquitto broker of 127.0.0.1:1883: they use the
# same topics, so under `pytest -n N` (how `make test` runs) they share one worker. Their tests carry
# the `mqtt` mark, and a marked test outside this list stops the run.
MQTT_FILES = frozenset(
    {
        "tests/sensors/test_mqtt.py",
        "tests/sensors/test_sim_devices.py",
        "tests/traffic/test_noise_mqtt.py",
        "tests/e2e/test_safety_alert_in_browser.py",
        "tests/e2e/test_event_alerts_in_browser.py",
        "tests/e2e/test_event_telemetry_in_browser.py",
    }
)


# This run's topic root. The broker is the machine's, and another run beside this one (another
# checkout's tests, a demo's ingest) may publish under `pingan/` on it at the same time: under a
# root of its own, this run neither reads their messages nor hands them its own.
MQTT_ROOT = f"pingan-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def _own_topic_root(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Broker tests (the `mqtt` mark) and the processes they start publish and subscribe under
    MQTT_ROOT; the rest read topics under the default root, `pingan`."""
    if request.node.get_closest_marker("mqtt") is None:
        yield
        return
    monkeypatch.setenv("PINGAN_SENSORS_TOPIC_ROOT", MQTT_ROOT)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("mqtt") and item.nodeid.split("::", 1)[0] not in MQTT_FILES:
            raise pytest.UsageError(
                f"{item.nodeid} is marked mqtt: add its file to MQTT_FILES in tests/conftest.py"
            )


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Each file's tests on one worker (its module fixtures are built once), and the broker's files
    on one worker together. The scheduler sees test ids only, not marks, hence the list."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFileBrokerTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "mqtt" if path in MQTT_FILES else path

    return ByFileBrokerTogether(config, log)


def _pg_reachable() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as c:
            c.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "pingan-test.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not _pg_reachable():
        if IN_CI:
            pytest.fail(f"CI=true and {PG_HOWTO}")
        pytest.skip(PG_HOWTO)
    name = f"pingan_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    db.get_engine().dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def bypass_append_only(conn: Connection) -> None:
    """Let this transaction change audit entries, as a database superuser could (PostgreSQL refuses
    it by trigger otherwise): the test harness's wipe, and tests that play an attacker."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))


def _wipe() -> None:
    with db.get_engine().begin() as conn:
        bypass_append_only(conn)
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty, migrated database; the test runs once on SQLite and once on PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    db.configure(url)
    _wipe()
    yield request.param
    _wipe()


@pytest.fixture
def session(database: str) -> Iterator[Session]:
    s = db.new_session()
    yield s
    s.rollback()
    s.close()


SYSTEM = Actor.system("test")


@pytest.fixture
def station_yulin(database: str) -> Station:
    with db.transaction() as s:
        return do_upsert_station(
            s, code="WH-YL", name="玉林派出所", lat=30.6353, lon=104.0597, area_geojson=None, actor=SYSTEM
        )


def make_user(username: str, role: Role, *, station_code: str | None = None) -> User:
    with db.transaction() as s:
        return do_add_user(
            s,
            username=username,
            role=role,
            password="correct horse battery",
            station_code=station_code,
            actor=SYSTEM,
        )


@pytest.fixture
def officer_li(database: str) -> User:
    """An officer of the Yulin station (WH-YL), where the tests' reports and warnings are."""
    return make_user("officer_li", Role.OFFICER, station_code="WH-YL")


@pytest.fixture
def analyst_zhang(database: str) -> User:
    return make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST)


@pytest.fixture
def supervisor_liu(database: str) -> User:
    return make_user("supervisor_liu", Role.SUPERVISOR)


@pytest.fixture
def dispatcher_chen(database: str) -> User:
    return make_user("dispatcher_chen", Role.DISPATCHER)


def bearer(user: User) -> dict[str, str]:
    """Authorization header for `user`."""
    return {"Authorization": f"Bearer {issue_token(user)}"}


@pytest.fixture
def client(database: str, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    from pingan.web.app import create_app

    # Page tests read in English: the client asks for it, as a browser set to English would. A module
    # marked `browser_language(None)` gets a browser that names no language, so pages in Chinese.
    marker = request.node.get_closest_marker("browser_language")
    language = marker.args[0] if marker else "en"
    headers = {"Accept-Language": language} if language else {}
    # https, as outside demo mode the cookies are Secure and a client sends them over TLS only.
    with TestClient(create_app(), base_url="https://testserver", headers=headers) as c:
        yield c


SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """A Playwright-driven Chromium for the module's tests. Module scope, not session: Playwright's sync
    API runs an event loop in this thread while it lives, so an `asyncio.run` in a later file on the
    same xdist worker would fail; and one instance a thread is all it allows, which one module at a
    time keeps."""
    from tests.browser import chromium

    with chromium() as b:
        yield b
