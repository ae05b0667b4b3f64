"""`commandlang serve [--demo] [--flag VALUE ...]`: run the runtime service.

Every setting is a flag and an environment variable (`--help` lists them
with their defaults); flags win over the environment.
"""

from __future__ import annotations

import sys

import trio

from ..diagnostics import RegistryError
from ..errors import ChannelError
from ..registry.types import format_duration
from ..runtime.config import SETTINGS, ConfigError, ServiceConfig
from ..runtime.logs import configure_logging
from ..runtime.stores import store_url
from .common import ArgumentParser


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="commandlang serve",
        description="Run the commandlang runtime: channels in, commands run, replies out, live state for agents.",
        epilog="Each flag may also be set by its environment variable; flags win.",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=None,
        help="start the demo backend in-process and the sample registry (when ./commands.yaml is absent); "
        "open the printed URL to chat",
    )
    for setting in SETTINGS:
        default = "(unset)" if setting.kind == "secret" or setting.default == "" else setting.default
        if setting.kind == "switch":
            default = "on" if setting.default else "off"
        elif setting.kind == "duration":
            default = format_duration(setting.default)  # as it is written: 7d, not 604800.0
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            default=None,
            metavar=setting.kind.split(":")[0].upper(),
            help=f"{setting.help} [env {setting.env}; default {default}]",
        )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = ServiceConfig.from_sources(vars(args))
        _, store_setting = store_url(config)  # a URL no store serves is refused before anything starts
    except ConfigError as exc:
        print(f"commandlang serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_format, config.log_level, secrets=config.secrets())
    from ..app.service import Service
    from ..runtime.store import StoreUnavailable

    service = Service(config)
    try:
        trio.run(service.serve)
    except BaseException as raised:  # noqa: BLE001 - sorted below; anything else is re-raised
        leaf = _leaf(raised)
        if isinstance(leaf, RegistryError):
            print(
                f"commandlang serve: the registry {config.registry} has errors; fix them and start again:",
                file=sys.stderr,
            )
            for diagnostic in leaf.diagnostics:
                print("  " + diagnostic.format_line(), file=sys.stderr)
            return 2
        if isinstance(leaf, OSError):
            print(
                f"commandlang serve: {leaf.strerror or leaf} ({getattr(leaf, 'filename', None) or 'listen'})",
                file=sys.stderr,
            )
            return 2
        # what we raise on purpose for the operator to fix; any other exception is a bug: its traceback shows
        if isinstance(leaf, (ConfigError, ChannelError)):
            print(f"commandlang serve: {leaf}", file=sys.stderr)
            return 2
        if isinstance(leaf, StoreUnavailable):  # the state store cannot be opened: nothing may run unrecorded
            where = f"the state file {config.db}" if store_setting == "COMMANDLANG_DB" else store_setting
            print(f"commandlang serve: {leaf} (check {where})", file=sys.stderr)
            return 2
        if isinstance(leaf, KeyboardInterrupt):
            return 130
        raise
    return 0


def _leaf(exc: BaseException) -> BaseException:
    """The one error inside Trio's exception groups (start-up failures arrive wrapped)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
