"""Classifier commands: classify-file, train and evaluate (thin wrappers over ``classify``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from monitor.cli import cli
from monitor.cli.context import AppContext, InputError
from monitor.config import ConfigError
from monitor.store.models import Label, Mention
from monitor.tagging import TRAINABLE_FIELDS, active_artifacts, load_tagger

DATA_ENV = "COMPLAINTWATCH_TRAIN_DATA"


def _tagger(app: AppContext) -> Any:
    """The configured tagger, or the bundled one when there is no config file."""
    try:
        return load_tagger(app.config)
    except ConfigError:
        if app.config_path is not None:
            raise
        return load_tagger(None)


@cli.command("classify-file")
@click.argument("in_path", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("out_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option(
    "--on-error",
    type=click.Choice(["raise", "record"]),
    default="raise",
    show_default=True,
    help="A malformed line stops the run (raise) or is written back with an `error` field (record).",
)
@click.option("--brand-contact", "contacts", multiple=True, help="Public contact data that is not PII.")
@click.pass_obj
def classify_file(
    app: AppContext, in_path: Path, out_path: Path, batch_size: int, on_error: str, contacts: tuple[str, ...]
) -> None:
    """Tag every line of IN_PATH (JSON objects with `text`, optional `lang`) into OUT_PATH."""
    from classify.files import MalformedLine
    from classify.files import classify_file as run

    if not in_path.is_file():
        raise InputError(f"{in_path}: no such file")
    try:
        summary = run(
            in_path,
            out_path,
            _tagger(app),
            batch_size=batch_size,
            errors=on_error,  # type: ignore[arg-type]
            brand_contacts=contacts,
        )
    except (MalformedLine, ValueError) as exc:
        raise InputError(str(exc)) from None
    rate = summary.lines / summary.seconds if summary.seconds else 0.0
    click.echo(
        f"{summary.lines} line(s): {summary.tagged} tagged, {summary.refused} refused, "
        f"{summary.malformed} malformed, in {summary.seconds:.1f} s ({rate:.0f} lines/s)",
        err=True,
    )


def _data_dir(data: Path | None) -> Path:
    folder = data or (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
    if folder is None:
        raise InputError(f"name the labeled data folder with --data or ${DATA_ENV} (e.g. ../shared/data)")
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of labeled JSONL datasets")
    return folder


def review_records(app: AppContext) -> list[dict[str, Any]]:
    """Reviewer corrections from the database, as the trainer takes them (newest label per field wins)."""
    with app.store().session() as session:
        rows = session.execute(
            select(Label.mention_id, Label.field, Label.value, Mention.text, Mention.lang)
            .join(Mention, Mention.id == Label.mention_id)
            .where(Label.field.in_(TRAINABLE_FIELDS), Mention.text.is_not(None))
            .order_by(Label.id)
        ).all()
    latest = {(r.mention_id, r.field): r for r in rows}
    return [{"text": r.text, "lang": r.lang, "field": r.field, "value": r.value} for r in latest.values()]


@cli.command()
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"Labeled datasets (default ${DATA_ENV}).",
)
@click.option("--include-reviews", is_flag=True, help="Add reviewer corrections stored in the database.")
@click.option(
    "--unfreeze-layers",
    type=click.IntRange(0, 6),
    default=2,
    show_default=True,
    help="Top encoder layers to fine-tune (0: heads only, minutes on a CPU).",
)
@click.option("--epochs", type=click.IntRange(1), default=2, show_default=True)
@click.option(
    "--lexical/--no-lexical",
    default=True,
    show_default=True,
    help="Fit the character n-gram channel and mix it with the encoder (the German figures need it).",
)
@click.option(
    "--lexical-only",
    is_flag=True,
    help="Keep the active model's encoder and heads; refit only the n-gram channel, its shares and the "
    "thresholds (minutes on a CPU: the quick way to learn from reviewer corrections).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Candidate folder (default var/models/<timestamp> next to the config).",
)
@click.option(
    "--promote/--no-promote",
    default=True,
    show_default=True,
    help="Make the candidate active when it is not worse on the dev splits.",
)
@click.pass_obj
def train(
    app: AppContext,
    data: Path | None,
    include_reviews: bool,
    unfreeze_layers: int,
    epochs: int,
    lexical: bool,
    lexical_only: bool,
    out: Path | None,
    promote: bool,
) -> None:
    """Train a candidate model; it replaces the active one only when it is not worse on dev."""
    from classify.train import TrainConfig, install_artifact, promote_if_not_worse
    from classify.train import train as run

    folder = _data_dir(data)
    settings = app.config.settings.classifier
    reviews = review_records(app) if include_reviews else []
    click.echo(f"{len(reviews)} reviewer correction(s) included", err=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    candidate = out or app.config.base_dir / "var" / "models" / stamp
    if lexical_only and not lexical:
        raise click.UsageError("--lexical-only refits the n-gram channel; it cannot go with --no-lexical")
    config = TrainConfig(
        model=settings.model or None,
        unfreeze_layers=unfreeze_layers,
        epochs=epochs,
        lexical=lexical,
        encoder_from=str(active_artifacts(app.config)) if lexical_only else None,
    )
    run(folder, candidate, extra_records=reviews, config=config, log=lambda line: click.echo(line, err=True))
    if promote:
        target = app.config.base_dir / "var" / "models" / "active"
        current = active_artifacts(app.config)
        if current != target and current.is_dir() and not target.exists():
            install_artifact(current, target)  # compare against what is active now, not against nothing
        promoted = promote_if_not_worse(
            candidate, target, folder, log=lambda line: click.echo(line, err=True)
        )
        click.echo(f"{'promoted' if promoted else 'kept the active model; candidate stays in'} {candidate}")
        if promoted and settings.artifacts:
            click.echo(
                f"note: [classifier] artifacts = {settings.artifacts!r} pins the bot's model; "
                f"it uses {target} only once that setting is removed",
                err=True,
            )


@cli.command()
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"Labeled datasets with dev splits (default ${DATA_ENV}).",
)
@click.pass_obj
def evaluate(app: AppContext, data: Path | None) -> None:
    """Print every dev-split figure: per dataset, per label, per language, legal cues and PII."""
    from classify.evaluate import evaluate as run

    run(_tagger(app), _data_dir(data), log=click.echo)
