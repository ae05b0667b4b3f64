"""The `commandlang` command line: one module per subcommand, each `main(argv) -> int`.

Exit codes follow the contract: 0 success, 1 findings or a rejected input,
2 unusable input or bad usage.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["main", "SUBCOMMANDS"]

#: subcommand -> (module, one-line summary)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("parse", "parse one chat message and print the invocation"),
    "lint": ("lint", "check registries and their templates"),
    "schema": ("schema", "print the JSON Schema of commands.yaml"),
    "test": ("test", "run the registry's examples that have a canned backend answer or expectations"),
    "render": ("render", "preview a command's reply for a channel (genesys, text, json)"),
    "serve": ("serve", "run the runtime service (--demo: with a demo backend and chat page)"),
    "demo-backend": ("demo_backend", "serve the demo backend for the sample commands (with fault injection)"),
    "token": ("token", "issue a signed token for the state sync WebSocket"),
    "audit": ("audit", "list approval requests, approvals, denials and timeouts from the state store"),
    "fake-genesys": ("fake_genesys", "run a fake Genesys Cloud on loopback for tests and SDKs"),
    "genesys": ("genesys", "Genesys Cloud: print the Bot Connector bot list (bots), upload it (push-bots)"),
}


def _usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: commandlang <command> [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {summary}" for name, (_, summary) in SUBCOMMANDS.items()]
    lines += ["", "`commandlang <command> --help` describes each one."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from .. import __version__

        print(f"commandlang {__version__}")
        return 0
    entry = SUBCOMMANDS.get(args[0])
    if entry is None:
        print(f"commandlang: unknown command {args[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f".{entry[0]}", __name__)
    try:
        return int(module.main(args[1:]))
    except KeyboardInterrupt:
        return 130
