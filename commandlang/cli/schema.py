"""`commandlang schema`: print the JSON Schema of commands.yaml (for editors via yaml-language-server)."""

from __future__ import annotations

import json

from ..registry.schema import registry_schema
from .common import ArgumentParser


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="commandlang schema", description="Print the JSON Schema of commands.yaml.")
    parser.parse_args(argv)
    print(json.dumps(registry_schema(), indent=2))
    return 0
