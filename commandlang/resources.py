"""Files shipped with commandlang: the grammar, the sample registry and its templates.

In a wheel they live in `commandlang/_data/` (see pyproject.toml); in a source
checkout they stand at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_path", "grammar_path", "sample_registry_path"]

_PACKAGE = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """The path of a shipped file or folder (`grammar/commandlang.lark`, `commands.yaml`, `templates`)."""
    installed = _PACKAGE / "_data" / name
    if installed.exists():
        return installed
    return _PACKAGE.parent / name


def grammar_path() -> Path:
    return data_path("grammar/commandlang.lark")


def sample_registry_path() -> Path:
    return data_path("commands.yaml")
