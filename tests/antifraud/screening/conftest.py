"""Fixtures of the early-warning tests: a tiny district, the rules, a NATS server with unique subjects."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pingan.antifraud.screening.ruleset import RuleSet, load_rules
from pingan.antifraud.screening.stream import NATS_HOWTO

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic district (2,000 persons, 14 days), generated once per run."""
    from pingan.sim import generate

    out = tmp_path_factory.mktemp("district") / "tiny"
    generate("tiny", 1, out, workers=1)
    return out


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_rules()


def _nats_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=2):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class NatsNames:
    """A stream and subject prefix of this test alone, so that parallel runs never collide."""

    prefix: str
    stream: str
    durable: str


@pytest.fixture
def nats_names() -> Iterator[NatsNames]:
    if not _nats_up():
        if IN_CI:
            pytest.fail(f"CI=true and {NATS_HOWTO}")
        pytest.skip(NATS_HOWTO)
    tag = uuid.uuid4().hex[:10]
    names = NatsNames(prefix=f"test{tag}.tx", stream=f"TEST_{tag}", durable=f"screen_{tag}")
    yield names
    asyncio.run(_drop_stream(names.stream))


async def _drop_stream(name: str) -> None:
    import nats

    nc = await nats.connect("nats://127.0.0.1:4222")
    # The test may have failed before it created the stream.
    with contextlib.suppress(Exception):
        await nc.jetstream().delete_stream(name)
    await nc.close()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark (two cores, no UI, few shuffle partitions) for the run. Without Java the Spark
    tests skip outside CI; under CI (which installs Java: `make java`) a missing Java is a failure."""
    from pingan.antifraud.screening import spark_job

    if not spark_job.java_available():
        if IN_CI:
            pytest.fail("no Java runtime under CI: `make java` installs openjdk-17-jre-headless")
        pytest.skip("no Java runtime (install openjdk-17-jre-headless) for the Spark engine's tests")
    session = spark_job.session("local[2]", shuffle_partitions=4)
    yield session
    session.stop()
