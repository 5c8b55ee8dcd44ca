"""What every command shares: the config path, the loaded config and the store (lazily)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from collectors.base import SourceError
from monitor import config as config_module
from monitor.config import Config, ConfigError
from monitor.store import Store, StoreError


class InputError(Exception):
    """A user-supplied file or argument is unusable (named in the message)."""


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ConfigError, StoreError, SourceError, InputError)


@dataclass
class AppContext:
    config_path: Path | None
    debug: bool = False
    _config: Config | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = config_module.load(self.config_path)
        return self._config

    def store(self, *, check_schema: bool = True) -> Store:
        """The database of the config; refuses an outdated schema unless told not to check."""
        if self._store is None:
            self._store = Store(self.config.database_url, echo=self.config.settings.database.echo)
        if check_schema:
            self._store.check_schema()
        return self._store
