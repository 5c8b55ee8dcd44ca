"""The bot learns from reviewer corrections on its own: the ``learn`` job, its settings and its refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from classify_factories import tiny_datasets
from routing_factories import add_tagged

from monitor.config import ConfigError, from_settings, parse_settings
from monitor.learning import (
    REFUSED_FILE,
    learn_from_reviews,
    refused_corrections,
    remember_refusal,
    review_records,
    unseen_corrections,
    untried_corrections,
)
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


def test_after_a_refused_candidate_the_job_waits_for_that_many_more(store: Store, tmp_path: Path) -> None:
    tiny_datasets(tmp_path / "data")
    config = _config(store, tmp_path, train_data="data", retrain_min_corrections=2)
    _corrections(store, 3)
    remember_refusal(config, 3)  # a candidate trained on all 3 lost to the active model
    assert refused_corrections(config) == 3 and unseen_corrections(config, store) == 3
    assert learn_from_reviews(config, store) == "0 new correction(s); retraining waits for 2"
    with store.session() as session:
        for mention_id in (1, 2):
            session.add(Label(mention_id=mention_id, field="insult", value=True, reviewer="bob"))
    assert untried_corrections(config, store) == 2, "two more than the refused candidate saw: the job refits"


def test_a_refusal_counts_only_while_the_model_it_lost_to_is_active(store: Store, tmp_path: Path) -> None:
    config = _config(store, tmp_path)
    record = tmp_path / "var" / "models" / REFUSED_FILE
    remember_refusal(config, 7)
    assert json.loads(record.read_text(encoding="utf-8"))["corrections"] == 7
    assert refused_corrections(config) == 7
    record.write_text(json.dumps({"active": str(tmp_path / "other"), "corrections": 7}), encoding="utf-8")
    assert refused_corrections(config) == 0, "another model became active: its refusals do not apply"
    record.write_text("{not json", encoding="utf-8")
    assert refused_corrections(config) == 0, "an unreadable record costs at most one needless refit"


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
    left = sorted(p.name for p in models.iterdir() if p.name != REFUSED_FILE)
    assert left == ["active", "active.versions"], "no candidate left"
    card = json.loads((models / "active" / "model_card.json").read_text(encoding="utf-8"))
    if outcome.endswith("promoted"):
        assert card["reviewer_corrections"] == 2
        assert unseen_corrections(config, store) == 0 and not (models / REFUSED_FILE).exists()
    else:
        assert card["reviewer_corrections"] == 0 and unseen_corrections(config, store) == 2
        assert refused_corrections(config) == 2, "the refusal is remembered"
        assert learn_from_reviews(config, store) == "0 new correction(s); retraining waits for 2"
