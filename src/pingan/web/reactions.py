"""Every domain's reactions to other domains' events, installed in each process that writes.

Events are delivered in-process after commit (`pingan.core.events`). A report registered through
the API, by `pingan reports import`, by `pingan sim load` or by the demo feed must have the same
consequences (direct stop-payments, watch-listed payees, outcome tracking), and an approved finding
must list its holders' other accounts wherever it was approved, so the web app and the CLI both
install the same set here rather than each picking its own.
"""

from __future__ import annotations


def install() -> None:
    """Subscribe the robot, the watchlist (reported payees, holder links), the outcome tracker and the
    sensor acknowledgements (idempotent)."""
    from pingan.antifraud.orders import robot
    from pingan.antifraud.outcomes import actions as outcomes_actions
    from pingan.antifraud.watchlist import actions as watchlist_actions
    from pingan.antifraud.watchlist import holder_links
    from pingan.sensors import actions as sensors_actions

    robot.install()
    watchlist_actions.install()
    holder_links.install()
    outcomes_actions.install()
    sensors_actions.install()
