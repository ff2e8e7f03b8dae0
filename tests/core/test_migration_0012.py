"""Migration 0012 seals the names already stored: appellants are encrypted, name masks lose their length."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import MetaData, Table, create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url

from pingan.core.migrate import alembic_config
from pingan.core.pii import PiiKind, decrypt
from tests.conftest import IN_CI, PG_ADMIN_URL, PG_HOWTO, _pg_reachable

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0011(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to 0011 (on SQLite, then on PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'at-0011.db'}"
        command.upgrade(alembic_config(url), "0011")
        yield url
        return
    if not _pg_reachable():
        if IN_CI:
            pytest.fail(PG_HOWTO)
        pytest.skip(PG_HOWTO)
    name = f"pingan_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "0011")
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _placeholder_row(conn: Connection, table: str) -> dict[str, object]:
    """A value for every required column of `table`: the appeal needs an order to belong to, and
    nothing in the migration reads the order."""
    row: dict[str, object] = {}
    for col in inspect(conn).get_columns(table):
        if col["nullable"] or col.get("default") is not None:
            continue
        try:
            kind = col["type"].python_type
        except NotImplementedError:
            kind = str
        row[col["name"]] = {int: 1, bool: False, datetime: NOW}.get(kind, "x")
    return row


def _seed(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        order = _placeholder_row(conn, "restriction_order")
        conn.execute(Table("restriction_order", MetaData(), autoload_with=conn).insert().values(order))
        conn.execute(
            text(
                "INSERT INTO order_appeal (id, order_id, appellant, statement, status, filed_at, filed_by,"
                " decision_due_at) VALUES (1, 1, '欧阳娜娜', '这是我的工资卡，与案件无关。', 'pending',"
                " :now, 'officer_li', :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO account_holder (id, national_id_pseudonym, national_id_cipher, national_id_masked,"
                " name_cipher, name_masked, created_at) VALUES (1, 'p', 'c', 'm', 'c', '诸*', :now)"
            ),
            {"now": NOW},
        )
    engine.dispose()


def test_existing_appellants_are_encrypted_and_masks_no_longer_show_a_names_length(url_at_0011: str) -> None:
    _seed(url_at_0011)
    command.upgrade(alembic_config(url_at_0011), "0012")
    engine = create_engine(url_at_0011)
    with engine.connect() as conn:
        cipher, masked = conn.execute(
            text("SELECT appellant_cipher, appellant_masked FROM order_appeal")
        ).one()
        holder_mask = conn.execute(text("SELECT name_masked FROM account_holder")).scalar_one()
        columns = conn.execute(text("SELECT * FROM order_appeal")).keys()
    engine.dispose()
    assert decrypt(PiiKind.NAME, cipher) == "欧阳娜娜"
    assert (masked, holder_mask) == ("欧**", "诸**")
    assert "appellant" not in columns


def test_the_downgrade_gives_the_appellants_name_back(url_at_0011: str) -> None:
    _seed(url_at_0011)
    command.upgrade(alembic_config(url_at_0011), "0012")
    command.downgrade(alembic_config(url_at_0011), "0011")
    engine = create_engine(url_at_0011)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT appellant FROM order_appeal")).scalar_one() == "欧阳娜娜"
    engine.dispose()
