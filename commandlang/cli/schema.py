"""`commandlang schema [--write FILE]`: the JSON Schema of commands.yaml (for editors via yaml-language-server).

Printed on stdout, or written to FILE (`--write commandlang-schema.json` next to
the registry: the sample registry's `# yaml-language-server: $schema=...` line
points at that file, which ships beside it and a test keeps up to date).
"""

from __future__ import annotations

import json
import sys

from ..registry.schema import registry_schema
from .common import ArgumentParser


def schema_text() -> str:
    """The schema as the file holds it (stable key order, a newline at the end)."""
    return json.dumps(registry_schema(), indent=2) + "\n"


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="commandlang schema", description="Print (or write) the JSON Schema of commands.yaml.")
    parser.add_argument("--write", metavar="FILE", help="write the schema to FILE instead of printing it")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.write is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.write, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        print(f"commandlang schema: cannot write {args.write}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.write}")
    return 0
