"""`/help` and `/help NAME`, generated from the registry and filtered by the caller's role.

A command the caller may not run is treated as if it did not exist: `/help`
does not list it and `/help NAME` says there is no such command, so help
never tells a customer about agent-only tools.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import TypedDict

from ..registry.types import describe, format_duration, to_json
from ..registry.model import ArgSpec, CommandSpec, RegistrySpec
from .errors import star_sensitive
from .approvals import roles_phrase
from .model import Button, Card, Carousel, QuickReply, Reply

__all__ = ["help_reply", "help_index", "help_command", "visible_commands"]

# Every channel shows this many quick replies (Genesys's is the smallest limit, replies/limits.py); with
# more commands than that, /help lists them on cards instead: 3 buttons a card, 10 cards a carousel.
MAX_HELP_QUICK_REPLIES = 10
_PER_CARD = 3
_MAX_CARDS = 10


def visible_commands(registry: RegistrySpec, role: str | None) -> list[CommandSpec]:
    """The commands `role` may run (all of them when role is None), sorted by name."""
    return sorted(
        (spec for spec in registry.commands.values() if role is None or role in spec.roles), key=lambda s: s.name
    )


def help_reply(registry: RegistrySpec, role: str | None, name: str | None = None) -> Reply:
    """`/help` when `name` is empty, else `/help NAME` (with or without its slash)."""
    name = (name or "").strip().lstrip("/").lower()
    if not name:
        return help_index(registry, role)
    return help_command(registry, role, name)


def help_index(registry: RegistrySpec, role: str | None) -> Reply:
    """The commands this role may run, one per line with its summary."""
    commands = visible_commands(registry, role)
    if not commands:
        return Reply(text="There are no commands you can use here.")
    lines = ["Commands you can use:"]
    for spec in commands:
        lines.append(f"/{spec.name}" + (f" - {spec.summary}" if spec.summary else ""))
    lines.append("Type /help NAME for details on one of them.")
    return Reply(text="\n".join(lines), **_help_choices(commands))


class _HelpChoices(TypedDict, total=False):
    """The `Reply` fields `_help_choices` fills: one or the other."""

    quick_replies: tuple[QuickReply, ...]
    carousel: Carousel


def _help_choices(commands: list[CommandSpec]) -> _HelpChoices:
    """A way to ask for help on every command: quick replies while they fit, else cards of buttons (in a
    carousel); each label is what it sends. Past what cards hold too, the text above still lists them all."""
    if len(commands) <= MAX_HELP_QUICK_REPLIES:
        return {"quick_replies": tuple(QuickReply(f"/help {s.name}", f"/help {s.name}") for s in commands)}
    groups = [commands[i : i + _PER_CARD] for i in range(0, len(commands), _PER_CARD)][:_MAX_CARDS]
    cards = tuple(
        Card(
            title=f"/{group[0].name} - /{group[-1].name}" if len(group) > 1 else f"/{group[0].name}",
            description="; ".join(f"/{s.name}: {s.summary}" for s in group if s.summary) or None,
            actions=tuple(Button("postback", f"/help {s.name}", payload=f"/help {s.name}") for s in group),
        )
        for group in groups
    )
    return {"carousel": Carousel(cards)}


def help_command(registry: RegistrySpec, role: str | None, name: str) -> Reply:
    """Usage, arguments (type, default, help, choices) and examples of one command."""
    spec = registry.resolve(name)
    if spec is None and " " in name:
        spec = registry.resolve(name.replace(" ", "."))  # `/help ticket close` as for the subcommand call
    if spec is None or (role is not None and role not in spec.roles):
        subcommands = [s for s in visible_commands(registry, role) if s.name.startswith(name + ".")]
        if subcommands:
            lines = [f"/{name} has these subcommands:"]
            lines += [f"/{s.name.replace('.', ' ')}" + (f" - {s.summary}" if s.summary else "") for s in subcommands]
            return Reply(
                text="\n".join(lines),
                quick_replies=tuple(
                    QuickReply(f"/help {s.name}", f"/help {s.name}") for s in subcommands[:MAX_HELP_QUICK_REPLIES]
                ),
            )
        return _unknown(registry, role, name)
    lines = [f"/{spec.name}" + (f" - {spec.summary}" if spec.summary else "")]
    if spec.description:
        lines.append(spec.description.strip())
    lines.append(f"Usage: {spec.usage()}")
    if spec.aliases:
        lines.append("Also: " + ", ".join(f"/{alias}" for alias in spec.aliases))
    if spec.approve is not None:
        lines.append(
            f"Needs approval by {roles_phrase(spec.approve.roles)} before it runs"
            + (" (depending on its arguments)." if spec.approve.when else ".")
        )
    if spec.args:
        lines.append("Arguments:")
        lines += [f"  {_describe_arg(arg)}" for arg in spec.args]
    examples = [
        e.input for e in spec.examples if not (e.expect or {}).get("error")
    ]  # failing examples teach the wrong thing
    examples = [
        shown for shown in (star_sensitive(text, spec) for text in examples) if shown is not None
    ]  # None: unsure, so hidden
    if examples:
        lines.append("Examples:")
        lines += [f"  {text}" for text in examples]
    return Reply(text="\n".join(lines))


def _unknown(registry: RegistrySpec, role: str | None, name: str) -> Reply:
    names: dict[str, str] = {s.name: s.name for s in visible_commands(registry, role)}
    names.update({alias: canonical for alias, canonical in registry.aliases.items() if canonical in names})
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(names[c] for c in close))
    text = f"There is no command /{name}."
    if suggestions:
        text += " Did you mean " + " or ".join(f"/{s}" for s in suggestions) + "?"
    text += "\nType /help to list the commands you can use."
    quick = tuple(QuickReply(f"/help {s}", f"/help {s}") for s in suggestions) or (QuickReply("Help", "/help"),)
    return Reply(text=text, quick_replies=quick)


def _describe_arg(arg: ArgSpec) -> str:
    """`amount (decimal, required, at least 0.01): Amount to refund. Default: 0.` in one line."""
    facts = [
        str(arg.type)
        if arg.type.name != "enum"
        else ("list of " if arg.type.is_list else "") + describe("enum", arg.choices)
    ]
    if arg.positional:
        facts.append("positional")
    if arg.required:
        facts.append("required")
    if arg.choices is not None and arg.type.name != "enum":
        facts.append("one of " + ", ".join(_shown(arg, c) for c in arg.choices))
    unit = " items" if arg.type.is_list else ""
    if arg.min is not None:
        facts.append(f"at least {_shown(arg, arg.min) if not unit else arg.min}{unit}")
    if arg.max is not None:
        facts.append(f"at most {_shown(arg, arg.max) if not unit else arg.max}{unit}")
    if arg.max_length is not None:
        facts.append(f"up to {arg.max_length} characters")
    if arg.sensitive:
        facts.append("kept private")
    text = f"{arg.name} ({', '.join(facts)})"
    if arg.help:
        helptext = arg.help.strip()
        text += f": {helptext}" + ("" if helptext.endswith((".", "!", "?", ")")) else ".")
    elif arg.type.name not in ("str", "enum"):
        text += f": {describe(arg.type.name)}."
    if arg.has_default and arg.default is not None and not arg.sensitive:
        text += f" Default: {_shown(arg, arg.default)}."
    return text


def _shown(arg: ArgSpec, value: object) -> str:
    """A value as a user would type it: yes/no, 4h, 19.99."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(arg, v) for v in value) + "]"
    if arg.type.name == "duration" and isinstance(value, timedelta):
        return format_duration(value.total_seconds())
    return str(to_json(value))
