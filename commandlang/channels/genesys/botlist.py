"""The one bot list both Bot Connector products get, generated from the registry (pure, no I/O).

One bot (`GENESYS_BOT_ID`, default `commandlang`) with one version (the registry's version: a
content hash of commands.yaml and its templates, so an edited registry is a new version, as the DBC
spec asks: "add a new version to the bot, rather than modifying an existing version"). Its intents:

- one per command, named like the command (`refund`, `refund.cancel`), its arguments as entities
  typed for Architect: int -> Integer; decimal, float -> Decimal; bool -> Boolean; duration ->
  Duration; date, datetime -> Datetime; everything else String; `list[T]` -> the T collection;
- `commandlang_not_a_command` (`NOT_A_COMMAND`): what a `Complete` answer names when the customer's
  message was not a command, so the flow can continue on that intent's path (e.g. to an agent).

Genesys's limits (DBC spec "Bot Loading/Configuration"): 50 intents a version (so 49 commands
besides `NOT_A_COMMAND`), 50 entities an intent, names of at most 100 characters. `findings()`
reports what breaks them as lint findings; `build_bot()` refuses to build such a list (`BotListError`),
so the runtime never serves a list Genesys would refuse. Intent and entity names must be "displayable
characters without leading or trailing whitespace": the loader's name rules (letters, digits, `_`,
`-`, dots) already guarantee it, and `botmodels` checks it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ...diagnostics import Diagnostic, Severity
from ...registry.model import ArgSpec, CommandSpec, RegistrySpec, TypeSpec
from .botmodels import MAX_ITEMS, MAX_NAME, Bot, BotEntity, BotEntityValue, BotIntent, BotVersion
from ...errors import ChannelError

__all__ = [
    "NOT_A_COMMAND",
    "DEFAULT_BOT_ID",
    "DEFAULT_LANGUAGES",
    "BotListing",
    "BotListError",
    "build_bot",
    "supported_languages",
    "findings",
    "entity_type",
    "entity_values",
    "LINT_CODES",
]

NOT_A_COMMAND = "commandlang_not_a_command"
DEFAULT_BOT_ID = "commandlang"
#: A registry that declares no `settings.languages` (so `[en]`) lists `en-us`, the tag Genesys's own
#: examples use; a registry that declares its languages lists exactly those (`supported_languages`).
DEFAULT_LANGUAGES = ("en-us",)
BOT_NAME = "commandlang commands"
BOT_PROVIDER = "commandlang"  # DBC: "Genesys will use this info for analytics and reporting purposes"
BOT_DESCRIPTION = "Slash commands from the commandlang registry; other messages end as commandlang_not_a_command."

#: Every lint code this module reports (warnings in `commandlang lint`; errors when the runtime serves Genesys).
LINT_CODES = (
    "genesys_too_many_intents",
    "genesys_too_many_entities",
    "genesys_name_too_long",
    "genesys_reserved_intent",
)

_SCALAR = {
    "int": "Integer",
    "decimal": "Decimal",
    "float": "Decimal",
    "bool": "Boolean",
    "duration": "Duration",
    "date": "Datetime",
    "datetime": "Datetime",
}


class BotListError(ChannelError, ValueError):
    """The registry does not fit in a Genesys bot list; `.findings` says where and why."""

    def __init__(self, found: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.format_line() for d in found))
        self.findings = found


def entity_type(arg_type: TypeSpec) -> str:
    """The Architect type of an argument type (runtime.md 2)."""
    base = _SCALAR.get(arg_type.name, "String")
    return f"{base}Collection" if arg_type.is_list else base


def findings(spec: RegistrySpec, *, severity: Severity = "warning") -> list[Diagnostic]:
    """Where the registry breaks Genesys's bot-list limits, each at the command or argument's position."""
    found: list[Diagnostic] = []

    def at(code: str, message: str, pos: Any, hint: str, argument: str | None = None) -> None:
        found.append(
            Diagnostic(
                code=code,
                message=message,
                file=pos.file if pos else spec.path,
                line=pos.line if pos else None,
                column=pos.column if pos else None,
                hint=hint,
                severity=severity,
                argument=argument,
            )
        )

    commands = list(spec.commands.values())
    room = MAX_ITEMS - 1  # one intent is NOT_A_COMMAND
    if len(commands) > room:
        first = commands[room]
        at(
            "genesys_too_many_intents",
            f"{first.name}: the registry has {len(commands)} commands; a Genesys bot "
            f"version holds {MAX_ITEMS} intents, {room} commands besides {NOT_A_COMMAND}",
            first.position,
            f"Keep at most {room} commands in a registry served through a Genesys Bot Connector.",
        )
    for command in commands:
        if command.name == NOT_A_COMMAND:
            at(
                "genesys_reserved_intent",
                f"{command.name}: the intent name {NOT_A_COMMAND} is the Genesys bot's "
                "answer to a message that is not a command",
                command.position,
                "Rename the command.",
            )
        if len(command.name) > MAX_NAME:
            at(
                "genesys_name_too_long",
                f"{command.name[:40]}...: an intent name of {len(command.name)} characters; "
                f"Genesys takes at most {MAX_NAME}",
                command.position,
                f"Shorten the command name to {MAX_NAME} characters.",
            )
        if len(command.args) > MAX_ITEMS:
            extra = command.args[MAX_ITEMS]
            at(
                "genesys_too_many_entities",
                f"{command.name}: {len(command.args)} arguments; a Genesys intent holds {MAX_ITEMS} entities",
                extra.position or command.position,
                f"Keep at most {MAX_ITEMS} arguments on a command served through a Genesys Bot Connector.",
                extra.name,
            )
        for arg in command.args:
            if len(arg.name) > MAX_NAME:
                at(
                    "genesys_name_too_long",
                    f"{command.name}: an entity (argument) name of {len(arg.name)} "
                    f"characters; Genesys takes at most {MAX_NAME}",
                    arg.position or command.position,
                    f"Shorten the argument name to {MAX_NAME} characters.",
                    arg.name,
                )
    return found


def _intent(command: CommandSpec) -> BotIntent:
    return BotIntent(command.name, tuple(BotEntity(a.name, entity_type(a.type)) for a in command.args))


@dataclass(frozen=True, slots=True)
class BotListing:
    """The bot generated from one registry, and what answering needs beyond it (which commands end the session)."""

    bot: Bot
    commands: Mapping[str, CommandSpec]

    @property
    def version(self) -> BotVersion:
        return self.bot.versions[0]

    def command(self, name: str | None) -> CommandSpec | None:
        return self.commands.get(name) if name else None

    def ends_bot_session(self, name: str | None) -> bool:
        command = self.command(name)
        return bool(command is not None and command.ends_bot_session)


def supported_languages(spec: RegistrySpec) -> tuple[str, ...]:
    """The bot version's `supportedLanguages`: the registry's `settings.languages` (lower-case BCP 47 tags, as
    the SDK's BotConnectorBotVersion asks: "EG 'en-us' or 'es'"), or `en-us` for an undeclared `[en]`.

    Whether Genesys matches a flow in `de-de` to a bot listing `de` is in no source we have: list the tags
    your flows use (`de-de`); our own lookup falls back from `de-de` to `de` either way."""
    languages = spec.settings.languages
    return DEFAULT_LANGUAGES if languages == ("en",) else languages


def build_bot(
    spec: RegistrySpec, version: str, *, bot_id: str = DEFAULT_BOT_ID, languages: Iterable[str] | None = None
) -> BotListing:
    """The bot list of a registry; raises `BotListError` when it breaks Genesys's limits."""
    found = findings(spec, severity="error")
    if found:
        raise BotListError(found)
    intents = tuple(_intent(c) for c in spec.commands.values()) + (BotIntent(NOT_A_COMMAND),)
    listed = tuple(languages) if languages is not None else supported_languages(spec)
    bot = Bot(bot_id, BOT_NAME, (BotVersion(version, listed, intents),), BOT_PROVIDER, BOT_DESCRIPTION)
    return BotListing(bot, spec.commands)


def _duration(seconds: float) -> str:
    """Seconds as an ISO-8601 duration (`PT1H30M`, `P1DT2H`, `PT0S`); Architect's Duration takes no years or months."""
    sign = "-" if seconds < 0 else ""
    millis = round(abs(seconds) * 1000)
    days, millis = divmod(millis, 86_400_000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs = f"{millis // 1000}.{millis % 1000:03d}".rstrip("0").rstrip(".") if millis else ""
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n) + (f"{secs}S" if secs else "")
    text = (f"{days}D" if days else "") + (f"T{time}" if time else "")
    return f"{sign}P{text or 'T0S'}"


def _value(arg: ArgSpec, value: Any) -> str:
    """One value (in the args' JSON form, as commands are stored) as the string Architect reads."""
    name = arg.type.name
    if name == "bool":
        return "true" if value else "false"
    if name == "duration" and isinstance(value, (int, float)):
        return _duration(float(value))
    if name == "date" and isinstance(value, str) and "T" not in value:
        return f"{value}T00:00:00"  # a Datetime needs a time; a date is the start of that day
    return str(value)


def entity_values(command: CommandSpec, args: Mapping[str, Any]) -> tuple[BotEntityValue, ...]:
    """The command's bound arguments (JSON form) as entity values, in declaration order.

    A sensitive argument is never sent: its value would leave commandlang for the flow's variables and
    Genesys's records (and what we store is masked anyway). An argument without a value is left out."""
    out = []
    for arg in command.args:
        if arg.sensitive or args.get(arg.name) is None:
            continue
        value, kind = args[arg.name], entity_type(arg.type)
        if arg.type.is_list:
            items = value if isinstance(value, (list, tuple)) else [value]
            out.append(BotEntityValue(arg.name, kind, values=tuple(_value(arg, v) for v in items)))
        else:
            out.append(BotEntityValue(arg.name, kind, _value(arg, value)))
    return tuple(out)
