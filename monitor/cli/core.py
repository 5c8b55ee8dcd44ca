"""Core commands: init, config check, db upgrade, run, the one-shot stages, status, export."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import IO

import click

from monitor import export as export_module
from monitor import status_report
from monitor.cli import cli
from monitor.cli.context import AppContext, InputError
from monitor.config import redact_url
from monitor.keeper import ProcessKeeper
from monitor.learning import train_data_dir
from monitor.pipeline import Pipeline
from monitor.sources import make_source


def _pipeline(app: AppContext) -> Pipeline:
    return Pipeline(app.config, app.store())


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.option(
    "--demo-accounts",
    is_flag=True,
    help="When the database has no accounts yet, create admin/agent/advocate/manager with random passwords.",
)
@click.pass_obj
def init(app: AppContext, force: bool, demo_accounts: bool) -> None:
    """Create config.toml (the demo on the bundled replay source) and the database."""
    target = app.config_path or Path("config.toml")
    if target.exists() and not force:
        click.echo(f"{target} exists; keeping it (use --force to overwrite)")
    else:
        demo = resources.files("monitor").joinpath("templates/config.toml").read_text(encoding="utf-8")
        target.write_text(demo, encoding="utf-8")
        click.echo(f"wrote {target}")
    app.config_path = target
    before, after = app.store(check_schema=False).upgrade()
    click.echo(f"database {redact_url(app.config.database_url)}: schema {before or 'none'} -> {after}")
    if demo_accounts:
        _create_demo_accounts(app)


def _create_demo_accounts(app: AppContext) -> None:
    """One account per role for a first look; the passwords go to a file only the owner can read."""
    from monitor import users as users_lib

    with app.store().session() as session:
        if users_lib.list_users(session):
            return
        lines = []
        for role in ("admin", "agent", "advocate", "manager"):
            password = secrets.token_urlsafe(12)
            users_lib.add_user(session, users_lib.LOCAL_OPERATOR, role, role, password)
            lines.append(f"{role:<9} {password}")
    path = app.config.base_dir / "var" / "demo-accounts.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("# name     password (sign in at the dashboard)\n" + "\n".join(lines) + "\n", "utf-8")
    click.echo(f"demo accounts (also in {path}):")
    for line in lines:
        click.echo(f"  {line}")


@cli.group()
def config() -> None:
    """Inspect and validate the configuration."""


@config.command("check")
@click.pass_obj
def config_check(app: AppContext) -> None:
    """Validate config.toml, the secrets in the environment, every source and the database."""
    settings = app.config.settings
    for source in app.config.enabled_sources():
        make_source(app.config, app.store(check_schema=False), source)
    store = app.store(check_schema=False)
    current, head = store.current_revision(), store.head_revision()
    learning_from = train_data_dir(app.config)  # refuses a train_data that is not a folder
    click.echo(f"config {app.config.path}: OK")
    click.echo(f"  brands: {', '.join(b.name for b in settings.brands) or 'none'}")
    click.echo(
        f"  sources: {', '.join(f'{s.name} ({s.platform})' for s in app.config.enabled_sources()) or 'none'}"
    )
    click.echo(f"  database: {redact_url(app.config.database_url)} (schema {current or 'none'}, code {head})")
    if current != head:
        click.echo("  run `complaintwatch db upgrade` before `complaintwatch run`")
    click.echo(f"  learning from reviewers: {learning_from or 'off ([classifier] train_data is empty)'}")


@config.command("show")
def config_show() -> None:
    """Print every setting with its type, default and help."""
    from monitor.settings_doc import settings_table

    click.echo(settings_table())


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: AppContext) -> None:
    """Apply pending migrations (safe to run again)."""
    before, after = app.store(check_schema=False).upgrade()
    click.echo(f"schema {before or 'none'} -> {after}")


@cli.command()
@click.option("--dashboard/--no-dashboard", default=True, show_default=True, help="Also serve the dashboard.")
@click.pass_obj
def run(app: AppContext, dashboard: bool) -> None:
    """Run the bot: every job on its schedule until Ctrl-C or SIGTERM."""
    from monitor.scheduler import AlreadyRunning, run_forever

    pipeline = _pipeline(app)
    keeper = ProcessKeeper("dashboard", lambda: _start_dashboard(app)).open() if dashboard else None
    try:
        run_forever(pipeline, threading.Event())
    except AlreadyRunning as exc:
        raise InputError(str(exc)) from None
    finally:
        if keeper is not None:
            keeper.close()


@cli.command()
@click.option("--once", is_flag=True, required=True, help="Run one collection pass and exit.")
@click.option("--source", "sources", multiple=True, help="Only these sources (default: all enabled).")
@click.pass_obj
def collect(app: AppContext, once: bool, sources: tuple[str, ...]) -> None:
    """Collect new mentions from the sources."""
    pipeline = _pipeline(app)
    names = sources or tuple(s.name for s in app.config.enabled_sources())
    for name in names:
        _known_source(app, name)
        click.echo(str(pipeline.collect(name)))


@cli.command()
@click.option("--once", is_flag=True, required=True, help="Classify what is pending and exit.")
@click.option("--limit", type=int, default=None, help="Most posts to classify.")
@click.pass_obj
def classify(app: AppContext, once: bool, limit: int | None) -> None:
    """Classify collected mentions that have no classification yet."""
    pipeline = _pipeline(app)
    total = 0
    while True:
        done = pipeline.classify(limit=limit)
        total += done
        if not done or limit:
            break
    click.echo(f"classified {total} mention(s) with {pipeline.tagger.version if total else 'the tagger'}")


@cli.command()
@click.option("--once", is_flag=True, required=True, help="Route what is pending and exit.")
@click.pass_obj
def route(app: AppContext, once: bool) -> None:
    """Route classified complaints to queues (and outbox messages)."""
    click.echo(f"routed {_pipeline(app).route()} mention(s)")


@cli.command()
@click.option("--once", is_flag=True, required=True, help="Run one re-check pass and exit.")
@click.option("--all", "everything", is_flag=True, help="Re-check every stored post, not only the due ones.")
@click.pass_obj
def recheck(app: AppContext, once: bool, everything: bool) -> None:
    """Re-check stored posts: deleted, removed, author suspended…"""
    click.echo(str(_pipeline(app).recheck(everything=everything)))


@cli.command()
@click.option("--port", type=int, default=None, help="Port (default from config).")
@click.pass_obj
def dashboard(app: AppContext, port: int | None) -> None:
    """Serve the Streamlit dashboard."""
    process = _start_dashboard(app, port)
    try:
        process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=10)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(app: AppContext, as_json: bool) -> None:
    """Counts per stage, each job's last run, source health and budgets, errors."""
    with app.store().session() as session:
        report = status_report.build(session, app.config)
    click.echo(json.dumps(report, indent=2, default=str) if as_json else status_report.render(report))


@cli.group()
def export() -> None:
    """Export data."""


@export.command("mentions")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="File (default stdout)."
)
@click.pass_obj
def export_mentions(app: AppContext, fmt: str, out: Path | None) -> None:
    """One record per mention with its latest classification, post status and author status."""
    with _output(out) as stream, app.store().session() as session:
        count = export_module.write_mentions(session, stream, fmt)
    if out:
        click.echo(f"wrote {count} mention(s) to {out}", err=True)


@contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    """The file to write to, or stdout."""
    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        yield handle


def _known_source(app: AppContext, name: str) -> None:
    try:
        app.config.source(name)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None


def _start_dashboard(app: AppContext, port: int | None = None) -> subprocess.Popen[bytes]:
    settings = app.config.settings.dashboard
    script = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
    if not script.exists():
        raise InputError(f"dashboard app not found at {script}")
    env = dict(os.environ, COMPLAINTWATCH_CONFIG=str(Path(app.config.path or "config.toml").resolve()))
    streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or "streamlit"
    command = [
        streamlit,
        "run",
        str(script),
        "--server.address",
        settings.host,
        "--server.port",
        str(port or settings.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    click.echo(f"dashboard: http://{settings.host}:{port or settings.port}")
    return subprocess.Popen(command, env=env, cwd=script.parent)
