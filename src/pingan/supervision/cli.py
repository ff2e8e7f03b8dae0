"""`pingan supervision`: the daily digest of deadline warnings, the breach sweep, and rule-pack checks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pingan.core import clock, db
from pingan.core.roles import Actor
from pingan.supervision import actions, queries, scores
from pingan.supervision.pack import RULES_DIR, RulePackError, load_dir
from pingan.supervision.rules import BEIJING

app = typer.Typer(
    help="Supervision of law enforcement (执法监督): deadlines, warnings, breaches.", no_args_is_help=True
)
_console = Console()


def run_sweep() -> str:
    """Re-evaluate the open cases whose deadlines have passed since their last step, recording the
    breaches and their quality deductions, in one transaction; returns what was done, in words."""
    now = clock.now()
    with db.transaction() as session:
        ids = actions.cases_to_sweep(session, now=now)
        n = actions.do_sweep(session, ids, now=now)
        added = scores.sync(session, now=now)
    return f"{n} case(s) re-evaluated, {added} quality deduction(s) added"


@app.command("sweep")
def sweep() -> None:
    """Re-evaluate the open cases whose deadlines have passed since their last step, recording the breaches."""
    _console.print(run_sweep())


@app.command("digest")
def digest(
    out: Annotated[
        Path | None, typer.Option(help="write one text file per recipient into this folder")
    ] = None,
) -> None:
    """The daily digest: each case officer's and supervisor's deadlines due soon or passed, after a sweep,
    sent to each of them in pingan (the warnings page and /supervision/digests), once a day."""
    now = clock.now()
    actor = Actor.system("supervision-digest")
    with db.transaction() as session:
        actions.do_sweep(session, actions.cases_to_sweep(session, now=now), now=now)
    with db.transaction() as session:
        lines = queries.digest(session, now=now)
        sent = actions.do_send_digest(session, lines, now=now, actor=actor)
    if sent.already_sent:
        _console.print(f"digest of {sent.day}: already sent today, nothing sent again")
        return
    for recipient, items in sorted(lines.items()):
        text = "\n".join(
            f"{i.case_number}\t{i.rule_id}\t{i.subject or '-'}\t"
            f"{i.due_at.astimezone(BEIJING):%Y-%m-%d %H:%M}\t{i.status.value}"
            for i in items
        )
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{recipient}.txt").write_text(text + "\n", encoding="utf-8")
        else:
            _console.print(f"[bold]{recipient}[/bold] ({len(items)})\n{text}", markup=True, highlight=False)
    _console.print(f"digest: {len(lines)} recipient(s), {sum(len(v) for v in lines.values())} line(s)")


@app.command("check-rules")
def check_rules(
    directory: Annotated[Path, typer.Argument(help="a folder of rule files")] = RULES_DIR,
) -> None:
    """Validate a folder of rule files as the loader would, naming the rule and field of the first fault."""
    try:
        pack = load_dir(directory)
    except RulePackError as exc:
        _console.print(f"[red]refused[/red]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    _console.print(f"{len(pack.rules)} rules, version {pack.version}")
