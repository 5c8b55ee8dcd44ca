"""``complaintwatch users``: local dashboard accounts (add, list, disable, enable, role, password).

The person at the shell acts as :data:`monitor.users.LOCAL_OPERATOR` (they hold the database
anyway); the library still validates names, roles and passwords and protects the last admin.
Passwords are prompted for (twice, hidden) or read from standard input with ``--password-stdin``,
never taken as an argument, so they stay out of shell history and ``ps``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from monitor import users as users_lib
from monitor.cli import cli
from monitor.cli.context import AppContext, InputError
from monitor.users import LOCAL_OPERATOR, Account, UserError

PASSWORD_STDIN_HELP = "Read the password from the first line of standard input."


@cli.group()
def users() -> None:
    """Manage dashboard accounts and their roles (agent, advocate, manager, admin)."""


def _password(from_stdin: bool) -> str:
    if not from_stdin:
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise InputError("--password-stdin: standard input held no password (expected one line)")
    return password


def _change(app: AppContext, operation: Callable[..., Account], name: str, *args: object) -> Account:
    """Run one ``monitor.users`` change as the local operator; a refusal becomes a one-line error."""
    try:
        with app.store().session() as session:
            return operation(session, LOCAL_OPERATOR, name, *args)
    except UserError as exc:
        raise InputError(str(exc)) from None


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(users_lib.ROLES), required=True, help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help=PASSWORD_STDIN_HELP)
@click.pass_obj
def add(app: AppContext, name: str, role: str, password_stdin: bool) -> None:
    """Create the local account NAME."""
    account = _change(app, users_lib.add_user, name, role, _password(password_stdin))
    click.echo(f"added {account.name} ({account.role}): pages {', '.join(account.pages())}")


@users.command("list")
@click.pass_obj
def list_(app: AppContext) -> None:
    """Every account with its role and state."""
    with app.store().session() as session:
        accounts = users_lib.list_users(session)
    if not accounts:
        click.echo("no users yet: complaintwatch users add NAME --role admin")
        return
    width = max(len(a.name) for a in accounts)
    for account in accounts:
        state = "disabled" if account.disabled else "enabled"
        click.echo(f"{account.name:<{width}}  {account.role:<8}  {state}")


@users.command("disable")
@click.argument("name")
@click.pass_obj
def disable(app: AppContext, name: str) -> None:
    """Refuse NAME's sign-ins and actions from now on (open dashboard sessions included)."""
    _change(app, users_lib.set_disabled, name, True)
    click.echo(f"disabled {name}")


@users.command("enable")
@click.argument("name")
@click.pass_obj
def enable(app: AppContext, name: str) -> None:
    """Allow a disabled account again."""
    _change(app, users_lib.set_disabled, name, False)
    click.echo(f"enabled {name}")


@users.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(users_lib.ROLES))
@click.pass_obj
def role(app: AppContext, name: str, role: str) -> None:
    """Give NAME another role."""
    account = _change(app, users_lib.set_role, name, role)
    click.echo(f"{account.name} is now {account.role}")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help=PASSWORD_STDIN_HELP)
@click.pass_obj
def password(app: AppContext, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME."""
    _change(app, users_lib.set_password, name, _password(password_stdin))
    click.echo(f"password of {name} changed")
