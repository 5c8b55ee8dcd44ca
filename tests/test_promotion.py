"""Installing a trained artifact as the active one: one atomic swap, a rollback version, no debris."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import classify.train as train_module
from classify.tagger import ARTIFACTS_DIR, Tagger, artifact_version
from classify.train import KEEP_VERSIONS, install_artifact


def _variant(tmp_path: Path, name: str, complaint_threshold: float) -> Path:
    """A copy of the committed artifact with its own complaint threshold (so its version differs)."""
    folder = tmp_path / name
    shutil.copytree(ARTIFACTS_DIR, folder)
    config = json.loads((folder / "tagger.json").read_text(encoding="utf-8"))
    config["thresholds"]["complaint"] = complaint_threshold
    (folder / "tagger.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_each_install_swaps_one_link_and_keeps_the_previous_version(tmp_path: Path) -> None:
    first, second, third = (_variant(tmp_path, f"v{i}", 0.5 + i / 10) for i in range(3))
    active = tmp_path / "models" / "active"
    installed = [install_artifact(source, active) for source in (first, second)]
    assert active.is_symlink() and active.resolve() == installed[1].resolve()
    assert _files(active) == _files(second)
    assert installed[0].exists(), "the version before stays for a rollback"
    install_artifact(third, active)
    versions = active.parent / "active.versions"
    assert len(list(versions.iterdir())) == KEEP_VERSIONS, "older versions and no staging folders"
    assert not installed[0].exists()
    assert _files(active) == _files(third)
    assert artifact_version(active, "m") == artifact_version(third, "m")


def test_a_folder_from_before_versioning_is_kept_as_the_rollback_version(tmp_path: Path) -> None:
    old, new = _variant(tmp_path, "old", 0.6), _variant(tmp_path, "new", 0.7)
    active = tmp_path / "active"
    shutil.copytree(old, active)
    install_artifact(new, active)
    assert active.is_symlink() and _files(active) == _files(new)
    [legacy] = (tmp_path / "active.versions").glob("before-versioning*")
    assert _files(legacy) == _files(old)


def test_an_install_that_fails_midway_leaves_the_active_artifact_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = _variant(tmp_path, "old", 0.6), _variant(tmp_path, "new", 0.7)
    active = tmp_path / "active"
    install_artifact(old, active)
    copied: list[str] = []

    def copy_then_fail(source: Path, target: Path) -> None:
        if copied:
            raise OSError(28, "No space left on device")
        copied.append(source.name)
        shutil.copyfile(source, target)

    monkeypatch.setattr(train_module, "_copy_durably", copy_then_fail)
    with pytest.raises(OSError, match="No space left"):
        install_artifact(new, active)
    assert _files(active) == _files(old)
    assert Tagger.load(artifacts=active).version == Tagger.load(artifacts=old).version
    monkeypatch.undo()
    install_artifact(new, active)
    leftovers = [p.name for p in (tmp_path / "active.versions").iterdir() if p.name.startswith(".")]
    assert leftovers == [], "the next install removes the abandoned staging folder"
    assert _files(active) == _files(new)


def test_a_running_pipeline_picks_up_a_promoted_model(tmp_path: Path, store) -> None:
    from monitor.config import from_settings, parse_settings
    from monitor.pipeline import Pipeline

    first, second = _variant(tmp_path, "first", 0.6), _variant(tmp_path, "second", 0.7)
    active = tmp_path / "active"
    install_artifact(first, active)
    settings = parse_settings({"brands": [{"name": "Acme"}], "classifier": {"artifacts": str(active)}})
    pipeline = Pipeline(from_settings(settings, store.url), store)
    loaded = pipeline.tagger
    assert loaded.version == artifact_version(first, loaded.version.split("@")[0])
    pipeline.classify()
    assert pipeline.tagger is loaded, "nothing promoted: the loaded model stays"
    install_artifact(second, active)
    pipeline.classify()
    assert pipeline.tagger.version == artifact_version(second, loaded.version.split("@")[0])
