"""Every domain's reactions to other domains' events, installed in each process that writes.

Events are delivered in-process after commit (`pingan.core.events`). A report registered through
the API, by `pingan reports import`, by `pingan sim load` or by the demo feed must have the same
consequences (direct stop-payments, watch-listed payees, outcome tracking), and an approved finding
must list its holders' other accounts wherever it was approved, so the web app and the CLI both
install the same set here rather than each picking its own.
"""

from __future__ import annotations

from pingan.core import events


def install() -> None:
    """Subscribe the robot, the watchlist (reported payees, holder links), the outcome tracker and the
    report classifier's override log and sensor acknowledgements, and register the complaint
    extension with the approvals queue (idempotent)."""
    from pingan.antifraud.orders import robot
    from pingan.antifraud.outcomes import actions as outcomes_actions
    from pingan.antifraud.reports.pages import EVENT_REPORT_LABELLED
    from pingan.antifraud.watchlist import actions as watchlist_actions
    from pingan.antifraud.watchlist import holder_links
    from pingan.sensors import actions as sensors_actions
    from pingan.supervision.complaints import actions as complaints_actions

    robot.install()
    watchlist_actions.install()
    holder_links.install()
    outcomes_actions.install()
    events.subscribe(EVENT_REPORT_LABELLED, log_typology_override)
    sensors_actions.install()
    complaints_actions.install()


def log_typology_override(event: events.DomainEvent) -> None:
    """A report saved with another typology than the classifier suggested: the officer's choice is
    training data for the report model (`classify.record_override`), as the call-taker's is for calls."""
    from pingan.command import classify

    p = event.payload
    model = classify.loaded_model("report")
    if model is None or str(p["chosen"]) not in model.labels:
        return
    classify.record_override("report", str(p["text"]), str(p["suggested"]), str(p["chosen"]), by=str(p["by"]))
