"""The `pingan` command: it only mounts each package's commands."""

from __future__ import annotations

import typer

from pingan.antifraud.banks.cli import bank_sim
from pingan.antifraud.mules.cli import app as mules_app
from pingan.antifraud.orders.cli import app as robot_app
from pingan.antifraud.outcomes.cli import app as outcomes_app
from pingan.antifraud.registry.cli import app as registry_app
from pingan.antifraud.reports.cli import app as reports_app
from pingan.antifraud.screening.cli import screen, stream_app
from pingan.antifraud.tracing.cli import app as trace_app
from pingan.antifraud.warnings.cli import app as warnings_app
from pingan.command.cli import app as command_app
from pingan.command.import_cli import app as incidents_app
from pingan.community.cli import app as community_app
from pingan.core.cli import audit_app, db_app, users_app
from pingan.demo import demo_app
from pingan.narcotics.cli import app as narcotics_app
from pingan.sensors.cli import app as sensors_app
from pingan.sim.classifier_cli import train_classifier
from pingan.sim.cli import app as sim_app
from pingan.sim.extract_cli import app as transactions_app
from pingan.sim.replay_cli import incidents_cmd, replay_cmd
from pingan.sim.scorer_training import train_scorer
from pingan.supervision.callbacks.cli import app as callbacks_app
from pingan.supervision.cli import app as supervision_app
from pingan.supervision.complaints.cli import app as complaints_app
from pingan.supervision.directives.cli import app as directives_app
from pingan.traffic.cli import app as accidents_app
from pingan.web import reactions
from pingan.web.cli import serve
from pingan.web.sweeps import sweep

app = typer.Typer(help="pingan (平安): smart-policing platform.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(reports_app, name="reports")
app.add_typer(registry_app, name="registry")
app.add_typer(robot_app, name="robot")
app.command("bank-sim")(bank_sim)
app.add_typer(trace_app, name="trace")
app.add_typer(mules_app, name="mules")
app.command("screen")(screen)
# Training reads the districts' labels (`sim.truth`), which screening may not import; mounted here.
app.command("train-scorer")(train_scorer)
app.add_typer(stream_app, name="stream")
app.add_typer(warnings_app, name="warnings")
# `pingan outcomes monthly`, not `pingan report`: one letter from `pingan reports` was one too few.
app.add_typer(outcomes_app, name="outcomes")
# Training lives in `sim` (it generates the texts), which `command` may not import; mounted here.
command_app.command("train-classifier")(train_classifier)
command_app.command("replay")(replay_cmd)
sim_app.command("incidents")(incidents_cmd)
app.add_typer(command_app, name="command")
app.add_typer(incidents_app, name="incidents")
app.add_typer(community_app, name="community")
app.add_typer(accidents_app, name="accidents")
app.add_typer(sim_app, name="sim")
app.add_typer(transactions_app, name="transactions")
app.add_typer(sensors_app, name="sensors")
app.add_typer(supervision_app, name="supervision")
app.add_typer(complaints_app, name="complaints")
app.add_typer(callbacks_app, name="callbacks")
app.add_typer(directives_app, name="directives")
app.add_typer(demo_app, name="demo")
app.add_typer(narcotics_app, name="narcotics")
app.command("serve")(serve)
app.command("sweep")(sweep)


@app.callback()
def _every_command() -> None:
    """pingan (平安): smart-policing platform."""
    # A report written by any command has the same consequences as one written through the API.
    reactions.install()


if __name__ == "__main__":
    app()
