"""Search several streams (terms, hashtags) in resumable sweeps, one page per call, in turn.

An adapter that searches more than one stream walks each in *sweeps* (newest first, down to what the last
sweep saw) and keeps, per stream, a platform-specific sweep state: a dataclass with a ``finish()`` that
closes the running sweep. ``search_streams`` runs one page of the current stream and moves on to the next
stream when that sweep finishes; the page is ``exhausted`` once the last stream finished its sweep.

The cursor is JSON, ``{"current": <stream>, "streams": {<stream>: <sweep fields>}, "v": 1}`` with sorted
keys; cursors already stored in users' databases are in this format, so it must not change. An unreadable
cursor is logged and the sweeps start over.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import Field, asdict, dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from collectors.base import Mention, Page

log = logging.getLogger(__name__)

CURSOR_VERSION = 1


class SweepState(Protocol):
    """Where one stream stands, as the platform needs it.

    A dataclass: its fields are what the cursor stores for the stream, each with a default (a stream not
    yet swept).
    """

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def finish(self) -> None:
        """The running sweep reached its floor: the next one starts from what this one saw."""


S = TypeVar("S", bound=SweepState)


@dataclass
class StreamCursor(Generic[S]):
    """The stream being swept (None: start with the first) and every stream's sweep state."""

    current: str | None = None
    streams: dict[str, S] = field(default_factory=dict)

    @classmethod
    def decode(cls, text: str | None, sweep_type: type[S], where: str) -> StreamCursor[S]:
        """The cursor in ``text``; an empty one when there is none or it cannot be read."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != CURSOR_VERSION:
                raise ValueError(f"cursor version {data.get('v')!r}")
            streams = {key: sweep_type(**value) for key, value in data["streams"].items()}
            return cls(data.get("current"), streams)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("%s: unreadable cursor (%s); starting over", where, exc)
            return cls()

    def encode(self) -> str:
        """The cursor as stored: sorted-key JSON, every stream's sweep fields included."""
        streams = {key: asdict(sweep) for key, sweep in self.streams.items()}
        return json.dumps({"v": CURSOR_VERSION, "current": self.current, "streams": streams}, sort_keys=True)


def search_streams(
    streams: list[str],
    cursor: str | None,
    *,
    sweep_type: type[S],
    fetch: Callable[[str, S], tuple[list[dict], bool]],
    mention: Callable[[dict], Mention],
    provenance: Callable[[str], dict[str, Any]],
    where: str,
) -> Page:
    """One page of the current stream, read by ``fetch`` as (new raw posts, sweep finished).

    Streams no longer searched are dropped from the cursor; with no streams at all the page is empty and
    exhausted.
    """
    position = StreamCursor.decode(cursor, sweep_type, where)
    if not streams:
        return Page([], position.encode(), exhausted=True)
    key = position.current if position.current in streams else streams[0]
    sweep = position.streams.setdefault(key, sweep_type())
    posts, finished = fetch(key, sweep)
    mentions = [mention(raw) for raw in posts]
    exhausted = False
    if finished:
        sweep.finish()
        following = streams.index(key) + 1
        exhausted = following == len(streams)
        position.current = None if exhausted else streams[following]
    else:
        position.current = key
    position.streams = {k: v for k, v in position.streams.items() if k in streams}
    return Page(mentions, position.encode(), exhausted=exhausted, request=provenance(key))
