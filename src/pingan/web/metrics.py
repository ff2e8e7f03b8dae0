"""Prometheus text exposition of each loop's outcome figures."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select

from pingan.antifraud.orders.metrics import add_order_figures
from pingan.antifraud.reports.model import FraudReport
from pingan.antifraud.warnings.figures import add_warning_figures
from pingan.core.db import new_session
from pingan.sensors.queries import add_sensor_figures


def render_metrics() -> str:
    """Current figures in Prometheus text format, read fresh from the database."""
    registry = CollectorRegistry()
    reports = Gauge("pingan_fraud_reports", "Registered fraud reports", ["typology"], registry=registry)
    loss = Gauge("pingan_fraud_reported_loss_fen", "Reported loss in fen", registry=registry)
    session = new_session()
    try:
        for typ, n, amount in session.execute(
            select(
                FraudReport.typology, func.count(), func.coalesce(func.sum(FraudReport.total_amount_fen), 0)
            ).group_by(FraudReport.typology)
        ):
            reports.labels(typology=typ.value).set(n)
            loss.inc(int(amount))
        add_order_figures(registry, session)
        add_warning_figures(registry, session)
        add_sensor_figures(registry, session)
    finally:
        session.close()
    return generate_latest(registry).decode()
