"""Load ``config.toml`` and validate it against the settings table in ``monitor.settings``.

A bad config is refused at start-up with a :class:`ConfigError` that names the file, the
line where possible, the key and the reason. Secrets come only from ``COMPLAINTWATCH_*``
environment variables and are kept out of ``repr`` so they never reach a log.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.settings import Settings, SourceSettings

ENV_PREFIX = "COMPLAINTWATCH_"
CONFIG_ENV = "COMPLAINTWATCH_CONFIG"
DATABASE_URL_ENV = "COMPLAINTWATCH_DATABASE_URL"


class ConfigError(Exception):
    """A config problem, phrased for the user: ``file:line: key: reason``."""


@dataclass(frozen=True)
class Config:
    """Validated settings plus what was resolved from the environment."""

    settings: Settings
    path: Path | None
    database_url: str
    #: Secrets per source name, from the environment; never printed.
    secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def source(self, name: str) -> SourceSettings:
        for source in self.settings.sources:
            if source.name == name:
                return source
        raise KeyError(f"no source named {name!r} in {self.path}")

    def enabled_sources(self) -> list[SourceSettings]:
        return [s for s in self.settings.sources if s.enabled]

    def brand_names(self, source: SourceSettings) -> list[str]:
        return list(source.brands) or [b.name for b in self.settings.brands]


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV, "config.toml"))


def load(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and resolve a config file; :class:`ConfigError` on any problem."""
    env = os.environ if env is None else env
    config_path = Path(path) if path is not None else default_config_path()
    text = _read(config_path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    locator = _Locator(config_path, text)
    settings = _build(Settings, raw, (), locator)
    _check_cross_references(settings, locator)
    _check_destination_options(settings, locator)
    database_url = env.get(DATABASE_URL_ENV) or _resolve_sqlite_path(settings.database.url, config_path)
    secrets = _resolve_secrets(settings, env, locator)
    return Config(settings=settings, path=config_path, database_url=database_url, secrets=secrets)


def from_settings(
    settings: Settings, database_url: str, secrets: Mapping[str, Mapping[str, str]] = {}
) -> Config:
    """A config built in code (tests, embedding); no file involved."""
    return Config(settings=settings, path=None, database_url=database_url, secrets=dict(secrets))


def parse_settings(raw: Mapping[str, Any], source: str = "<settings>") -> Settings:
    """Validate a mapping (as read from TOML) into :class:`Settings`."""
    return _build(Settings, raw, (), _Locator(Path(source), ""))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found (run `complaintwatch init` to create one)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None


class _Locator:
    """Finds the line of a dotted key in the TOML text, for error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def where(self, keys: tuple[str | int, ...]) -> str:
        names = [k for k in keys if isinstance(k, str)]
        line = self._find(names)
        place = f"{self.path}:{line}" if line else str(self.path)
        dotted = ".".join(f"[{k}]" if isinstance(k, int) else k for k in keys).replace(".[", "[")
        return f"{place}: {dotted}" if dotted else place

    def _find(self, names: list[str]) -> int | None:
        if not names:
            return None
        leaf, section = names[-1], ".".join(names[:-1])
        current = ""
        for number, line in enumerate(self.lines, start=1):
            header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?", line)
            if header:
                current = header.group(1)
                if current == ".".join(names):
                    return number
                continue
            if re.match(rf"\s*\"?{re.escape(leaf)}\"?\s*=", line) and current in (section, ""):
                return number
        return self._find(names[:-1])  # a key inside an inline table: the line of the table


def _build(cls: type, raw: Any, keys: tuple[str | int, ...], locator: _Locator) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{locator.where(keys)}: expected a table, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{locator.where((*keys, key))}: unknown setting (known here: {known})")
    values = {}
    for name, spec in fields.items():
        if name not in raw:
            if spec.metadata.get("required"):
                raise ConfigError(f"{locator.where((*keys, name))}: required setting is missing")
            continue
        values[name] = _convert(hints[name], raw[name], (*keys, name), locator, spec.metadata)
    return cls(**values)


def _convert(hint: Any, value: Any, keys: tuple[str | int, ...], locator: _Locator, meta: Mapping) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, keys, locator)  # type: ignore[arg-type]
    if origin is list:
        (item,) = typing.get_args(hint)
        _expect(isinstance(value, list), "a list", value, keys, locator)
        return [_convert(item, v, (*keys, i), locator, {}) for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(hint)
        _expect(isinstance(value, Mapping), "a table", value, keys, locator)
        return {str(k): _convert(item, v, (*keys, str(k)), locator, {}) for k, v in value.items()}
    if hint is Any:
        return value
    if hint is float:
        _expect(
            isinstance(value, int | float) and not isinstance(value, bool), "a number", value, keys, locator
        )
        value = float(value)
    elif hint in (int, str, bool):
        _expect(type(value) is hint, _TYPE_NAMES[hint], value, keys, locator)
    elif isinstance(hint, types.UnionType):
        return value
    _check_limits(value, keys, locator, meta)
    return value


_TYPE_NAMES = {int: "an integer", str: "a string", bool: "true or false"}


def _expect(ok: bool, wanted: str, value: Any, keys: tuple[str | int, ...], locator: _Locator) -> None:
    if not ok:
        raise ConfigError(f"{locator.where(keys)}: expected {wanted}, got {value!r}")


def _check_limits(value: Any, keys: tuple[str | int, ...], locator: _Locator, meta: Mapping) -> None:
    choices, minimum = meta.get("choices"), meta.get("minimum")
    if choices and value not in choices:
        raise ConfigError(f"{locator.where(keys)}: {value!r} is not one of {', '.join(choices)}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{locator.where(keys)}: {value!r} is below the minimum {minimum}")


def _check_cross_references(settings: Settings, locator: _Locator) -> None:
    brands = [b.name for b in settings.brands]
    _unique(brands, "brands", "name", locator)
    _unique([s.name for s in settings.sources], "sources", "name", locator)
    destinations = [d.name for d in settings.destinations]
    _unique(destinations, "destinations", "name", locator)
    for i, source in enumerate(settings.sources):
        for brand in source.brands:
            if brand not in brands:
                raise ConfigError(f"{locator.where(('sources', i, 'brands'))}: unknown brand {brand!r}")
    for i, rule in enumerate(settings.routing.rules):
        if rule.destination and rule.destination not in destinations:
            where = locator.where(("routing", "rules", i, "destination"))
            raise ConfigError(f"{where}: unknown destination {rule.destination!r}")


def _check_destination_options(settings: Settings, locator: _Locator) -> None:
    """Options the routing reads before anything is sent (the senders check their own when they send)."""
    for i, destination in enumerate(settings.destinations):
        if "max_chars" not in destination.options:
            continue
        value = destination.options["max_chars"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            where = locator.where(("destinations", i, "options", "max_chars"))
            raise ConfigError(f"{where}: expected a whole number of characters above 0, got {value!r}")


def _unique(names: list[str], section: str, key: str, locator: _Locator) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(f"{locator.where((section, i, key))}: duplicate {key} {name!r}")
        seen.add(name)


def _resolve_sqlite_path(url: str, config_path: Path) -> str:
    """Make a relative SQLite path relative to the config file, not to the working directory."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:":
        return url
    path = Path(url[len(prefix) :])
    if not path.is_absolute():
        path = (config_path.parent / path).resolve()
    return prefix + str(path)


def secret_env_name(source: SourceSettings, name: str) -> str:
    prefix = (source.secrets_prefix or source.platform).upper()
    return f"{ENV_PREFIX}{prefix}_{name.upper()}"


def _resolve_secrets(
    settings: Settings, env: Mapping[str, str], locator: _Locator
) -> dict[str, dict[str, str]]:
    from collectors import registry  # late: adapters are only needed when sources are configured

    resolved: dict[str, dict[str, str]] = {}
    for i, source in enumerate(settings.sources):
        try:
            required = registry.required_secrets(source.platform)
            optional = registry.optional_secrets(source.platform)
        except (ValueError, ImportError) as exc:
            raise ConfigError(f"{locator.where(('sources', i, 'platform'))}: {exc}") from None
        values = {
            n: env[secret_env_name(source, n)]
            for n in (*required, *optional)
            if env.get(secret_env_name(source, n))
        }
        missing = [secret_env_name(source, n) for n in required if n not in values]
        if missing and source.enabled:
            where = locator.where(("sources", i, "name"))
            raise ConfigError(
                f"{where}: source {source.name!r} needs the environment variable(s) {', '.join(missing)}"
            )
        resolved[source.name] = values
    return resolved


def redact_url(url: str) -> str:
    """The URL with any password replaced, for display."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
