"""`${VAR}` and `${VAR:-default}` in registry values, expanded from an environment passed in."""

from __future__ import annotations

import re
from typing import Mapping

__all__ = ["interpolate"]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(text: str, env: Mapping[str, str], missing: list[str]) -> str:
    """Expand variables; names that are unset and have no default are appended to `missing`."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                missing.append(name)
                return ""
            return default
        return value

    return _VARIABLE.sub(replace, text) if "${" in text else text
