"""The official SDK's models as the oracle for the bot bodies we send through the public API.

`sdk_problems("BotList", body)` walks the body along the model's `swagger_types`, `attribute_map`
and `allowed_values`: a field the model does not have, a wrong JSON type or a value outside an enum
is a problem. The SDK is imported on first use (about 2 s; Python keeps it for the session).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["sdk_problems"]

_SCALARS = {"str": str, "int": int, "float": (int, float), "bool": bool, "object": object}


def _model(name: str) -> Any:
    import PureCloudPlatformClientV2 as sdk  # noqa: N813 - the SDK's own name

    return getattr(sdk, name)


def _allowed(cls: Any, attribute: str) -> list[str] | None:
    """The enum of a model's attribute, read from its setter (the SDK keeps it there)."""
    import inspect

    setter = getattr(cls, attribute).fset
    match = re.search(r"allowed_values = \[(.*?)\]", inspect.getsource(setter), re.S)
    return re.findall(r'"([^"]*)"', match.group(1)) if match else None


def sdk_problems(type_name: str, data: Any, where: str = "$") -> list[str]:
    """Every way `data` (JSON) disagrees with the SDK type `type_name` (`BotList`, `list[ReplyMessage]`, ...)."""
    if data is None:
        return []
    if type_name.startswith("list["):
        if not isinstance(data, list):
            return [f"{where}: expected an array"]
        return [p for i, item in enumerate(data) for p in sdk_problems(type_name[5:-1], item, f"{where}[{i}]")]
    if type_name.startswith("dict("):
        inner = type_name[5:-1].split(", ", 1)[1]
        if not isinstance(data, dict):
            return [f"{where}: expected an object"]
        return [p for key, item in data.items() for p in sdk_problems(inner, item, f"{where}.{key}")]
    if type_name in _SCALARS:
        wanted = _SCALARS[type_name]
        ok = isinstance(data, wanted) and not (type_name in ("int", "float") and isinstance(data, bool))
        return [] if ok else [f"{where}: expected {type_name}, got {type(data).__name__}"]
    cls = _model(type_name)
    instance = cls()
    if not isinstance(data, dict):
        return [f"{where}: expected a {type_name} object"]
    by_json = {json_name: attr for attr, json_name in instance.attribute_map.items()}
    problems = [f"{where}.{key}: {type_name} has no such field" for key in data if key not in by_json]
    for key, value in data.items():
        attr = by_json.get(key)
        if attr is None:
            continue
        problems += sdk_problems(instance.swagger_types[attr], value, f"{where}.{key}")
        allowed = _allowed(cls, attr)
        if allowed and isinstance(value, str) and value not in allowed:
            problems.append(f"{where}.{key}: {value!r} is not one of {type_name}.{attr}'s {allowed}")
    return problems
