"""The stop-payment loop's figures as Prometheus gauges (for `/metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.orm import Session

from pingan.antifraud.orders.choices import OrderState
from pingan.antifraud.orders.queries import figures


def add_order_figures(registry: CollectorRegistry, session: Session) -> None:
    """Add the order figures, read fresh from the database, to `registry`."""
    f = figures(session)
    by_state = Gauge("pingan_orders", "Restriction orders per state", ["state"], registry=registry)
    for state in OrderState:
        by_state.labels(state=state.value).set(f.by_state.get(state.value, 0))
    rate = Gauge("pingan_stop_payment_rate", "Executed ÷ involved accounts", ["accounts"], registry=registry)
    if f.stop_payment_rate is not None:
        rate.labels(accounts="direct").set(f.stop_payment_rate)
    if f.holder_linked_rate is not None:
        rate.labels(accounts="holder_linked").set(f.holder_linked_rate)
    Gauge("pingan_orders_held_fen", "Amount held by executed orders, fen", registry=registry).set(f.held_fen)
    Gauge("pingan_orders_expiring_24h", "Executed orders expiring in the next 24 h", registry=registry).set(
        f.expiring_24h
    )
    lat = Gauge(
        "pingan_order_latency_seconds",
        "From report (or finding approval) to order sent / acknowledged",
        ["stage", "quantile"],
        registry=registry,
    )
    for stage, values in (("sent", f.to_sent_s), ("acknowledged", f.to_ack_s)):
        for q, v in values.items():
            if v is not None:
                lat.labels(stage=stage, quantile=q).set(v)
