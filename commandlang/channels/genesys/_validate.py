"""Small JSON-shape checks shared by the typed models (pure, no I/O).

Each helper raises `ModelError` naming the field path, so a 400 from the fake
(or a rejected Bot Connector request) says exactly what was wrong.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ...errors import ChannelError

__all__ = [
    "ModelError",
    "obj",
    "opt_str",
    "req_str",
    "opt_int",
    "opt_enum",
    "req_enum",
    "opt_list",
    "opt_str_map",
    "drop_none",
]


class ModelError(ChannelError, ValueError):
    """A payload that the real Genesys Cloud API would reject (or that it would never send)."""


def obj(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ModelError(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


def opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ModelError(f"{where}.{key}: expected a string, got {type(value).__name__}")
    return value


def req_str(data: Mapping[str, Any], key: str, where: str, *, allow_empty: bool = True) -> str:
    value = opt_str(data, key, where)
    if value is None:
        raise ModelError(f"{where}.{key} is required")
    if not allow_empty and not value.strip():
        raise ModelError(f"{where}.{key} must not be empty")
    return value


def opt_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelError(f"{where}.{key}: expected an integer, got {type(value).__name__}")
    return value


def opt_enum(data: Mapping[str, Any], key: str, where: str, allowed: Iterable[str]) -> str | None:
    value = opt_str(data, key, where)
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        raise ModelError(f"{where}.{key}: {value!r} is not one of {', '.join(allowed)}")
    return value


def req_enum(data: Mapping[str, Any], key: str, where: str, allowed: Iterable[str]) -> str:
    value = opt_enum(data, key, where, allowed)
    if value is None:
        raise ModelError(f"{where}.{key} is required")
    return value


def opt_list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ModelError(f"{where}.{key}: expected an array, got {type(value).__name__}")
    return value


def opt_str_map(data: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ModelError(f"{where}.{key}: expected an object of strings")
    return dict(value)


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    """JSON without the absent optional fields (Genesys omits them too)."""
    return {k: v for k, v in data.items() if v is not None}
