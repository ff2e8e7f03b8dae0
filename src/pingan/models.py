"""Imports every table module so that `Base.metadata` is complete (for Alembic and tests)."""

from pingan.antifraud import model as antifraud_model
from pingan.antifraud.orders import model as orders_model
from pingan.antifraud.registry import model as registry_model
from pingan.core import audit, auth, org

__all__ = ["antifraud_model", "orders_model", "registry_model", "audit", "auth", "org"]
