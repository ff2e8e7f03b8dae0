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
    rate = Gauge(
        "pingan_stop_payment_rate",
        "Involved accounts stopped with money held ÷ every involved account (never ordered: not stopped)",
        ["accounts"],
        registry=registry,
    )
    nothing_held = Gauge(
        "pingan_stop_payment_nothing_held_rate",
        "Involved accounts stopped with nothing held (an executed hold of 0) ÷ every involved account",
        ["accounts"],
        registry=registry,
    )
    involved = Gauge(
        "pingan_involved_accounts",
        "Accounts involved in reports, by what became of them",
        ["accounts", "outcome"],
        registry=registry,
    )
    for name, outcomes in (("all", f.involved), ("direct", f.direct), ("holder_linked", f.holder_linked)):
        if outcomes.rate is not None:
            rate.labels(accounts=name).set(outcomes.rate)
        if outcomes.nothing_held_rate is not None:
            nothing_held.labels(accounts=name).set(outcomes.nothing_held_rate)
        for outcome, n in (
            ("stopped", outcomes.stopped),
            ("stopped_nothing_held", outcomes.stopped_nothing_held),
            ("not_stopped", outcomes.not_stopped),
        ):
            involved.labels(accounts=name, outcome=outcome).set(n)
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
