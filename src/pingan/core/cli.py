"""Commands of the core: `pingan db`, `pingan users` and `pingan audit`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pingan.core import db
from pingan.core.roles import Actor, Role

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from pingan.core.migrate import upgrade

    upgrade()
    console.print("[green]database is at the newest migration[/green]")


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[Role, typer.Option(help="the user's role")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    display_name: str = "",
    station: Annotated[str | None, typer.Option(help="home station code")] = None,
) -> None:
    """Create a user with one role."""
    from pingan.core.auth import check_new_user, do_add_user
    from pingan.core.errors import DomainError

    try:
        with db.transaction() as session:
            check_new_user(session, username=name, role=role, password=password)
            do_add_user(
                session,
                username=name,
                role=role,
                password=password,
                display_name=display_name,
                station_code=station,
                actor=Actor.system("cli"),
            )
    except DomainError as exc:
        err_console.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(2) from None
    console.print(f"user [bold]{name}[/bold] created with role {role.value}")


@users_app.command("deactivate")
def users_deactivate(name: str) -> None:
    """Deactivate a user: they can no longer log in, and their tokens stop working at once."""
    from pingan.core.auth import check_deactivate_user, do_deactivate_user
    from pingan.core.errors import DomainError

    try:
        with db.transaction() as session:
            user = check_deactivate_user(session, name, actor=Actor.system("cli"))
            do_deactivate_user(session, user, actor=Actor.system("cli"))
    except DomainError as exc:
        err_console.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(2) from None
    console.print(f"user [bold]{name}[/bold] deactivated")


def _set_district_grant(name: str, *, granted: bool) -> None:
    from pingan.core.auth import check_district_grant, do_set_district_grant
    from pingan.core.errors import DomainError

    try:
        with db.transaction() as session:
            user = check_district_grant(session, name, actor=Actor.system("cli"))
            do_set_district_grant(session, user, granted=granted, actor=Actor.system("cli"))
    except DomainError as exc:
        err_console.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(2) from None
    what = "granted" if granted else "revoked"
    console.print(f"district-wide view {what} for officer [bold]{name}[/bold]")


@users_app.command("grant-district")
def users_grant_district(name: str) -> None:
    """Let an officer see every station's reports, warnings and visits; each such list read is audited."""
    _set_district_grant(name, granted=True)


@users_app.command("revoke-district")
def users_revoke_district(name: str) -> None:
    """Take an officer's district-wide view away: they see their own station's records again."""
    _set_district_grant(name, granted=False)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="a checkpoint file (`pingan audit checkpoint`): also check the log still holds each one"
        ),
    ] = None,
) -> None:
    """Walk the audit chain; print OK or the first broken entry (exit 1)."""
    from pingan.core.audit import Checkpoint, verify_chain, verify_checkpoint

    with db.read_transaction() as session:
        report = verify_chain(session)
        if not report.ok:
            console.print(
                f"BROKEN at entry id={report.broken_id} seq={report.broken_seq}: {report.reason} "
                f"({report.entries} entries read)"
            )
            raise typer.Exit(1)
        checked = 0
        if checkpoint is not None:
            for n, line in enumerate(checkpoint.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    problem = verify_checkpoint(session, Checkpoint.from_json(line))
                except (ValueError, KeyError, TypeError) as exc:
                    problem = f"not a checkpoint: {exc}"
                if problem is not None:
                    console.print(f"BROKEN: {checkpoint.name} line {n}: {problem}")
                    raise typer.Exit(1)
                checked += 1
    suffix = f"; {checked} checkpoints hold" if checkpoint is not None else ""
    console.print(f"OK: {report.entries} entries, chain intact{suffix}")


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[
        Path, typer.Option(help="append the signed checkpoint to this file, outside the database")
    ],
) -> None:
    """Sign every lane's head with the audit key and append it to OUT (one JSON line)."""
    from pingan.core.audit import checkpoint
    from pingan.core.files import append_private

    with db.read_transaction() as session:
        cp = checkpoint(session)
    append_private(out, cp.as_json() + "\n")
    heads = ", ".join(f"lane {lane} at {head['seq']}" for lane, head in cp.lanes.items()) or "empty log"
    console.print(f"checkpoint appended to {out}: {heads}")
