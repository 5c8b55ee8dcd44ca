"""The ``complaintwatch`` command line: thin, it parses arguments and calls the library.

Each area has its own module of commands; they all attach to :data:`cli`. Expected failures
(a bad config, a database that cannot be opened, unreadable input) print one line to stderr
and exit with code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from monitor.cli.context import EXPECTED_ERRORS, AppContext

pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    envvar="COMPLAINTWATCH_CONFIG",
    help="Config file (default: ./config.toml, or $COMPLAINTWATCH_CONFIG).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="complaintwatch")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """complaintwatch: social-media complaint monitor and moderation-audit bot."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "urllib3", "apscheduler", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
    ctx.obj = AppContext(config_path=config_path, debug=debug)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point with the one-line error contract."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except EXPECTED_ERRORS as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


# Command modules register themselves on `cli` when imported (keep this list sorted).
from monitor.cli import (  # noqa: E402,F401
    audit,
    classify,
    core,
    routing,
    users,
)
