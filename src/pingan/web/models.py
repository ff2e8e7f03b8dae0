"""Imports every table module so that `Base.metadata` is complete (for Alembic and tests)."""

from pingan.antifraud.mules.review import model as mules_review_model
from pingan.antifraud.orders import model as orders_model
from pingan.antifraud.outcomes import model as outcomes_model
from pingan.antifraud.registry import model as registry_model
from pingan.antifraud.reports import model as antifraud_model
from pingan.antifraud.risk import model as risk_model
from pingan.antifraud.warnings import model as warnings_model
from pingan.antifraud.warnings.visits import model as visits_model
from pingan.antifraud.watchlist import model as watchlist_model
from pingan.command import model as command_model
from pingan.command import roadmodel as command_roadmodel
from pingan.community import model as community_model
from pingan.core import audit, auth, org, pulse
from pingan.narcotics import model as narcotics_model
from pingan.sensors import model as sensors_model
from pingan.supervision import model as supervision_model
from pingan.supervision.callbacks import model as callbacks_model
from pingan.supervision.complaints import model as complaints_model
from pingan.supervision.directives import model as directives_model
from pingan.traffic import model as traffic_model

__all__ = [
    "antifraud_model",
    "audit",
    "auth",
    "callbacks_model",
    "command_model",
    "command_roadmodel",
    "community_model",
    "complaints_model",
    "directives_model",
    "mules_review_model",
    "narcotics_model",
    "orders_model",
    "org",
    "outcomes_model",
    "pulse",
    "registry_model",
    "risk_model",
    "sensors_model",
    "supervision_model",
    "traffic_model",
    "visits_model",
    "warnings_model",
    "watchlist_model",
]
