"""`commandlang parse [--registry FILE] [--raw] [--json] [--role ROLE] TEXT`."""

from __future__ import annotations

import os
import sys

from ..registry.languages import resolve_language
from ..api import Registry, parse_raw
from ..diagnostics import CommandError, Diagnostic
from ..registry.types import to_json
from .common import ArgumentParser, caret, load_or_report, print_json


def _error_json(diagnostic: Diagnostic) -> dict[str, object]:
    return {
        "error": {
            "code": diagnostic.code,
            "message": diagnostic.message,
            "column": diagnostic.column,
            "argument": diagnostic.argument,
        }
    }


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="commandlang parse", description="Parse one chat message and print the invocation.")
    parser.add_argument("text", help="the chat message, e.g. '/refund 12345 amount=19.99'")
    parser.add_argument("--registry", default=None, help="the registry to bind against (default: ./commands.yaml)")
    parser.add_argument("--raw", action="store_true", help="no registry: print the untyped invocation")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument("--role", choices=["agent", "customer"], help="check that this role may run the command")
    parser.add_argument(
        "--language", help="read values as a conversation in this language would (19,99 in de); messages stay English"
    )
    args = parser.parse_args(argv)

    registry: Registry | None = None
    if not args.raw:
        path = args.registry or "commands.yaml"
        if args.registry is None and not os.path.exists(path):
            print(
                "commandlang parse: no ./commands.yaml here; pass --registry FILE, or --raw to parse without one",
                file=sys.stderr,
            )
            return 2
        registry = load_or_report(path, "commandlang parse")
        if registry is None:
            return 2

    try:
        if registry is None:
            result = parse_raw(args.text)
        else:
            language = resolve_language(args.language, registry.spec.settings.languages) if args.language else None
            call = registry.parse(args.text, role=args.role, language=language)
            result = call.to_json() if call is not None else None
    except CommandError as exc:
        if args.json:
            print_json(_error_json(exc.diagnostic))
        else:
            print(f"error[{exc.diagnostic.code}]: {exc.diagnostic.message}")
            print(caret(args.text, exc.diagnostic))
            if exc.diagnostic.hint:
                print(f"  hint: {exc.diagnostic.hint}")
        return 1

    if result is None:
        if args.json:
            print_json({"command": None})
        else:
            print("not a command (the message passes through as ordinary chat)")
        return 0
    if args.json:
        print_json(result)
        return 0
    print(f"command: {result['command']}")
    if registry is None:
        for index, value in enumerate(result["positionals"]):
            print(f"  [{index}] {value!r}")
        for key, value in result["options"].items():
            print(f"  {key} = {value!r}")
        for key, value in result["flags"].items():
            print(f"  --{key if value else 'no-' + key}")
    else:
        spec = registry.spec.commands[result["command"]]
        for arg in spec.args:
            value = result["args"][arg.name]
            print(f"  {arg.name} = {to_json(value)!r} ({arg.type})")
    return 0
