"""Build configured sources, with their persistent state kept in the database."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from sqlalchemy import delete, select

from collectors.base import BrandQuery, Source, SourceSpec
from collectors.registry import build_source
from monitor.config import Config
from monitor.settings import BrandSettings, SourceSettings
from monitor.store import Store
from monitor.store.models import SourceState


class DatabaseState(MutableMapping[str, str]):
    """A source's small key-value store, written through to ``source_state`` at once."""

    def __init__(self, store: Store, source: str) -> None:
        self._store = store
        self._source = source

    def __getitem__(self, key: str) -> str:
        with self._store.session() as session:
            row = session.get(SourceState, (self._source, key))
            if row is None:
                raise KeyError(key)
            return row.value

    def __setitem__(self, key: str, value: str) -> None:
        with self._store.session() as session:
            session.merge(SourceState(source=self._source, key=key, value=value))

    def __delitem__(self, key: str) -> None:
        with self._store.session() as session:
            result = session.execute(
                delete(SourceState).where(SourceState.source == self._source, SourceState.key == key)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        with self._store.session() as session:
            keys = session.scalars(select(SourceState.key).where(SourceState.source == self._source)).all()
        return iter(keys)

    def __len__(self) -> int:
        return len(list(iter(self)))


def make_source(config: Config, store: Store, settings: SourceSettings) -> Source:
    """Build the adapter of one configured source."""
    spec = SourceSpec(
        name=settings.name,
        platform=settings.platform,
        brand=",".join(config.brand_names(settings)),
        api_base_url=settings.api_base_url or None,
        options=dict(settings.options),
        secrets=dict(config.secrets.get(settings.name, {})),
        state=DatabaseState(store, settings.name),
        base_dir=config.base_dir,
    )
    return build_source(spec)


def brand_query(brand: BrandSettings) -> BrandQuery:
    return BrandQuery(
        brand=brand.name,
        terms=tuple(brand.terms) or (brand.name,),
        handles=tuple(brand.handles),
        languages=tuple(brand.languages),
    )
