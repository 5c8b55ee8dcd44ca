"""Config loading: every setting validated against the one table, errors name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import config as config_module
from monitor.config import ConfigError, redact_url
from monitor.settings_doc import rows

TEMPLATE = Path(__file__).resolve().parents[1] / "monitor" / "templates" / "config.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_demo_config_is_valid(tmp_path):
    path = write(tmp_path, TEMPLATE.read_text(encoding="utf-8"))
    config = config_module.load(path, env={})
    assert [s.platform for s in config.enabled_sources()] == ["replay"]
    assert len(config.settings.brands) == 6
    assert config.database_url == f"sqlite:///{tmp_path / 'var' / 'complaintwatch.db'}"


def test_unknown_key_names_file_line_and_key(tmp_path):
    path = write(tmp_path, '[database]\nurl = "sqlite:///x.db"\n\n[scheduler]\nclasify_interval_s = 3\n')
    with pytest.raises(ConfigError) as error:
        config_module.load(path, env={})
    message = str(error.value)
    assert f"{path}:5: scheduler.clasify_interval_s: unknown setting" in message
    assert "classify_interval_s" in message  # the known keys are listed


def test_wrong_type_is_refused_with_its_line(tmp_path):
    path = write(tmp_path, '[[brands]]\nname = "A"\nterms = "not a list"\n')
    with pytest.raises(
        ConfigError, match=r"config.toml:3: brands\[0\].terms: expected a list, got 'not a list'"
    ):
        config_module.load(path, env={})


def test_bad_choice_and_minimum(tmp_path):
    path = write(tmp_path, '[[sources]]\nname = "s"\nplatform = "myspace"\n')
    with pytest.raises(ConfigError, match=r"sources\[0\].platform: 'myspace' is not one of replay, twitter"):
        config_module.load(path, env={})
    path = write(tmp_path, "[scheduler]\nclassify_batch = 0\n")
    with pytest.raises(ConfigError, match="classify_batch: 0 is below the minimum 1"):
        config_module.load(path, env={})


def test_missing_required_key_and_unknown_brand(tmp_path):
    path = write(tmp_path, '[[brands]]\nterms = ["x"]\n')
    with pytest.raises(ConfigError, match=r"brands\[0\].name: required setting is missing"):
        config_module.load(path, env={})
    path = write(tmp_path, '[[sources]]\nname = "r"\nplatform = "replay"\nbrands = ["Nope"]\n')
    with pytest.raises(ConfigError, match="unknown brand 'Nope'"):
        config_module.load(path, env={})


def test_a_reply_accounts_max_chars_must_be_a_positive_whole_number(tmp_path):
    head = '[[destinations]]\nname = "social"\nkind = "dm"\nurl = "https://social.example"\n'
    for bad in ('"500"', "0", "true", "12.5"):
        path = write(tmp_path, head + f"options = {{ max_chars = {bad} }}\n")
        with pytest.raises(
            ConfigError, match=r"config.toml:5: destinations\[0\].options.max_chars: expected a whole number"
        ):
            config_module.load(path, env={})
    config = config_module.load(write(tmp_path, head + "options = { max_chars = 1000 }\n"), env={})
    assert config.settings.destinations[0].options["max_chars"] == 1000


def test_malformed_toml_and_missing_file(tmp_path):
    path = write(tmp_path, "[database\nurl = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_module.load(path, env={})
    with pytest.raises(ConfigError, match="config file not found"):
        config_module.load(tmp_path / "absent.toml", env={})


def test_missing_secret_names_the_environment_variable(tmp_path):
    path = write(tmp_path, '[[brands]]\nname = "A"\n\n[[sources]]\nname = "x"\nplatform = "twitter"\n')
    with pytest.raises(ConfigError) as error:
        config_module.load(path, env={})
    assert "source 'x' needs the environment variable(s) COMPLAINTWATCH_TWITTER_BEARER_TOKEN" in str(
        error.value
    )
    config = config_module.load(path, env={"COMPLAINTWATCH_TWITTER_BEARER_TOKEN": "s3cret"})
    assert config.secrets["x"]["bearer_token"] == "s3cret"
    assert "s3cret" not in repr(config)  # secrets never reach a log through repr


def test_secrets_prefix_selects_another_variable(tmp_path):
    text = (
        '[[brands]]\nname = "A"\n\n[[sources]]\nname = "x2"\nplatform = "twitter"\n'
        'secrets_prefix = "X_SECOND"\n'
    )
    config = config_module.load(write(tmp_path, text), env={"COMPLAINTWATCH_X_SECOND_BEARER_TOKEN": "t"})
    assert config.secrets["x2"] == {"bearer_token": "t"}


def test_database_url_from_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, '[database]\nurl = "sqlite:///a.db"\n')
    url = "postgresql+psycopg://u:pw@db/x"
    assert config_module.load(path, env={"COMPLAINTWATCH_DATABASE_URL": url}).database_url == url
    assert redact_url(url) == "postgresql+psycopg://u:***@db/x"


def test_every_setting_has_help_and_a_type():
    table = rows()
    assert len(table) > 30
    for key, type_name, _default, help_text in table:
        assert help_text, f"{key} has no help"
        assert type_name, f"{key} has no type"
