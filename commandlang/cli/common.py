"""Helpers the subcommands share: argument parsing that exits 2, caret rendering, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from typing import TYPE_CHECKING, Any

from ..diagnostics import Diagnostic

if TYPE_CHECKING:
    from ..api import Registry

__all__ = ["ArgumentParser", "caret", "load_or_report", "print_json"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad usage with exit code 2 without raising SystemExit into callers' tests."""

    def error(self, message: str) -> Any:  # noqa: D401 - argparse's signature
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def caret(text: str, diagnostic: Diagnostic) -> str:
    """The line of `text` the diagnostic's column falls on, with a ^ under that column."""
    column = max(1, diagnostic.column or 1)
    offset = column - 1
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line = text[start : end if end >= 0 else len(text)].replace("\t", " ")
    return f"  {line}\n  {' ' * _width(line[: offset - start])}^"


def _width(text: str) -> int:
    """How many terminal cells `text` takes: wide (CJK, emoji) 2, zero-width and combining 0, others 1."""
    width = 0
    for char in text:
        if char in "\u200b\u200c\u200d\ufeff" or unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, sort_keys=False))


def load_or_report(path: str, prog: str) -> "Registry | None":
    """Load a registry, or print why it cannot be used (to stderr) and return None (exit 2)."""
    from ..api import load_registry
    from ..diagnostics import RegistryError

    try:
        return load_registry(path)
    except RegistryError as exc:
        print(f"{prog}: the registry {path} has errors (run `commandlang lint {path}`):", file=sys.stderr)
        for diagnostic in exc.diagnostics:
            print("  " + diagnostic.format_line(), file=sys.stderr)
        return None
