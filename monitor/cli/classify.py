"""Classifier commands: classify-file, train and evaluate (thin wrappers over ``classify``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from monitor.cli import cli
from monitor.cli.context import AppContext, InputError
from monitor.config import ConfigError
from monitor.learning import retrain
from monitor.tagging import active_artifacts, load_tagger

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
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=512,
    show_default=True,
    help="Lines per tagger call; the tagger sorts them by length into forward passes (more: less padding).",
)
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


@cli.command()
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"Labeled datasets (default ${DATA_ENV}).",
)
@click.option("--include-reviews", is_flag=True, help="Add reviewer corrections stored in the database.")
# Defaults are the committed model's recipe (classify.train.TrainConfig; a test keeps them equal). They are
# spelled out rather than read from TrainConfig so that `complaintwatch --help` does not import torch.
@click.option(
    "--unfreeze-layers",
    type=click.IntRange(0, 6),
    default=4,
    show_default=True,
    help="Top encoder layers to fine-tune (0: heads only, minutes on a CPU).",
)
@click.option("--epochs", type=click.IntRange(1), default=3, show_default=True)
@click.option(
    "--embedding-rank",
    type=click.IntRange(0),
    default=32,
    show_default=True,
    help="Rank of the trained correction of the word-piece embeddings (0: embeddings stay frozen, "
    "the German figures drop).",
)
@click.option(
    "--ema-decay",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.998,
    show_default=True,
    help="Fine-tuning ends on a moving average of the weights with this decay (0: the last step's weights).",
)
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
    embedding_rank: int,
    ema_decay: float,
    lexical: bool,
    lexical_only: bool,
    out: Path | None,
    promote: bool,
) -> None:
    """Train a candidate model; it replaces the active one only when it is not worse on dev."""
    from classify.train import TrainConfig

    folder = _data_dir(data)
    settings = app.config.settings.classifier
    if lexical_only and not lexical:
        raise click.UsageError("--lexical-only refits the n-gram channel; it cannot go with --no-lexical")
    config = TrainConfig(
        model=settings.model or None,
        unfreeze_layers=unfreeze_layers,
        epochs=epochs,
        embedding_rank=embedding_rank,
        ema_decay=ema_decay,
        lexical=lexical,
        encoder_from=str(active_artifacts(app.config)) if lexical_only else None,
    )
    from classify.data import DataError

    try:
        result = retrain(
            app.config,
            app.store(),
            folder,
            config,
            include_reviews=include_reviews,
            out=out,
            promote=promote,
            log=lambda line: click.echo(line, err=True),
        )
    except DataError as exc:
        raise InputError(str(exc)) from None
    if promote:
        kept = "kept the active model; candidate stays in"
        click.echo(f"{'promoted' if result.promoted else kept} {result.candidate}")
    if result.promoted and settings.artifacts:
        click.echo(
            f"note: [classifier] artifacts = {settings.artifacts!r} pins the bot's model; "
            "it uses var/models/active only once that setting is removed",
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
    from classify.data import DataError
    from classify.evaluate import evaluate as run

    try:
        run(_tagger(app), _data_dir(data), log=click.echo)
    except DataError as exc:
        raise InputError(str(exc)) from None
