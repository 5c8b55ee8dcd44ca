"""The bot learns from reviewer corrections on its own: the ``learn`` job, its settings and its refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from classify_factories import tiny_datasets
from routing_factories import add_tagged

from monitor.config import ConfigError, from_settings, parse_settings
from monitor.learning import learn_from_reviews, review_records, unseen_corrections
from monitor.pipeline import Pipeline
from monitor.scheduler import job_table
from monitor.store import Store
from monitor.store.models import Label


def _config(store: Store, tmp_path: Path, **classifier: object):
    settings = parse_settings({"brands": [{"name": "Telvia"}], "classifier": classifier})
    # A config file in tmp_path: var/models and a relative train_data are read from there.
    return replace(from_settings(settings, store.url), path=tmp_path / "config.toml")


def _corrections(store: Store, count: int) -> None:
    with store.session() as session:
        for i in range(count):
            mention = add_tagged(session, f"n{i}", f"Telvia, Rechnung {i} ist doppelt abgebucht!")
            session.flush()
            session.add(Label(mention_id=mention.id, field="complaint", value=True, reviewer="alice"))


def test_without_train_data_the_bot_does_not_retrain(store: Store, tmp_path: Path) -> None:
    config = _config(store, tmp_path)
    assert "learn" not in job_table(Pipeline(config, store))
    assert learn_from_reviews(config, store) == "retraining is off ([classifier] train_data is empty)"


def test_a_train_data_that_is_not_a_folder_is_refused_at_start_up(store: Store, tmp_path: Path) -> None:
    config = _config(store, tmp_path, train_data="no-such-folder")
    with pytest.raises(ConfigError, match=r"\[classifier\] train_data: .*no-such-folder is not a folder"):
        job_table(Pipeline(config, store))


def test_the_job_waits_for_enough_new_corrections(store: Store, tmp_path: Path) -> None:
    tiny_datasets(tmp_path / "data")
    config = _config(store, tmp_path, train_data="data", retrain_min_corrections=5)
    assert job_table(Pipeline(config, store))["learn"][0] == 86400.0
    _corrections(store, 3)
    with store.session() as session:  # a second word on the same tag of the same post is one correction
        session.add(Label(mention_id=1, field="complaint", value=False, reviewer="bob"))
    assert unseen_corrections(config, store) == 3 == len(review_records(store))
    assert learn_from_reviews(config, store) == "3 new correction(s); retraining waits for 5"
    assert not (tmp_path / "var").exists(), "nothing trained"


@pytest.mark.slow
def test_enough_corrections_refit_the_model_and_leave_no_candidate_behind(
    store: Store, tmp_path: Path
) -> None:
    tiny_datasets(tmp_path / "data")
    config = _config(store, tmp_path, train_data="data", retrain_min_corrections=2)
    _corrections(store, 2)
    assert len(review_records(store)) == 2

    outcome = learn_from_reviews(config, store)

    assert outcome.startswith("retrained on 2 correction(s): "), outcome
    models = tmp_path / "var" / "models"
    assert (models / "active").is_symlink(), "the model active before is kept as a version to compare with"
    assert sorted(p.name for p in models.iterdir()) == ["active", "active.versions"], "no candidate left"
    card = json.loads((models / "active" / "model_card.json").read_text(encoding="utf-8"))
    if outcome.endswith("promoted"):
        assert card["reviewer_corrections"] == 2
        assert unseen_corrections(config, store) == 0
    else:
        assert card["reviewer_corrections"] == 0 and unseen_corrections(config, store) == 2
