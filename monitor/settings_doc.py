"""Documentation generated from the settings table (README and `config show`)."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from monitor.settings import Settings


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is list:
        return f"list of {_type_name(typing.get_args(hint)[0])}"
    if origin is dict:
        return "table"
    if dataclasses.is_dataclass(hint):
        return "table"
    return getattr(hint, "__name__", str(hint))


def rows(cls: type = Settings, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, type, default, help) for every setting, nested sections flattened."""
    out: list[tuple[str, str, str, str]] = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        hint, key = hints[field.name], f"{prefix}{field.name}"
        item = typing.get_args(hint)[0] if typing.get_origin(hint) is list else None
        if dataclasses.is_dataclass(hint):
            out.extend(rows(hint, f"{key}."))  # type: ignore[arg-type]
        elif item is not None and dataclasses.is_dataclass(item):
            out.extend(rows(item, f"{key}[]."))  # type: ignore[arg-type]
        else:
            out.append((key, _type_name(hint), _default(field), field.metadata.get("help", "")))
    return out


def _default(field: dataclasses.Field) -> str:
    if field.metadata.get("required"):
        return "(required)"
    if field.default is not dataclasses.MISSING:
        return repr(field.default)
    if field.default_factory is not dataclasses.MISSING:
        return repr(field.default_factory())
    return ""


def settings_table() -> str:
    lines = ["| key | type | default | help |", "|---|---|---|---|"]
    lines += [f"| `{k}` | {t} | `{d}` | {h} |" for k, t, d, h in rows()]
    return "\n".join(lines)
