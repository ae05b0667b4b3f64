"""`/help` and `/help NAME`, generated from the registry and filtered by the caller's role.

A command the caller may not run is treated as if it did not exist: `/help`
does not list it and `/help NAME` says there is no such command, so help
never tells a customer about agent-only tools.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import TypedDict

from ..registry.languages import fallback_chain
from ..registry.types import describe_text, format_duration, to_json
from ..registry.model import ArgSpec, CommandSpec, RegistrySpec, Roles, may_run
from ..texts import N_, Alternatives
from .errors import star_sensitive
from .i18n import Translator, translator
from .model import Button, Card, Carousel, QuickReply, Reply

__all__ = ["help_reply", "help_index", "help_command", "visible_commands"]

# Every channel shows this many quick replies (Genesys's is the smallest limit, replies/limits.py); with
# more commands than that, /help lists them on cards instead: 3 buttons a card, 10 cards a carousel.
MAX_HELP_QUICK_REPLIES = 10
_PER_CARD = 3
_MAX_CARDS = 10


def visible_commands(registry: RegistrySpec, role: Roles, language: str | None = None) -> list[CommandSpec]:
    """The commands `role` may run (all of them when role is None), sorted by name, with their texts
    in `language` when given."""
    chain = fallback_chain(language) if language else ()
    return sorted(
        (spec.in_language(chain) for spec in registry.commands.values() if may_run(spec.roles, role)),
        key=lambda s: s.name,
    )


def help_reply(registry: RegistrySpec, role: Roles, name: str | None = None, *, language: str | None = None) -> Reply:
    """`/help` when `name` is empty, else `/help NAME` (with or without its slash), in `language`."""
    name = (name or "").strip().lstrip("/").lower()
    if not name:
        return help_index(registry, role, language=language)
    return help_command(registry, role, name, language=language)


def help_index(registry: RegistrySpec, role: Roles, *, language: str | None = None) -> Reply:
    """The commands this role may run, one per line with its summary."""
    t = translator(language)
    commands = visible_commands(registry, role, language)
    if not commands:
        return Reply(text=t(N_("There are no commands you can use here.")))
    lines = [t(N_("Commands you can use:"))]
    for spec in commands:
        lines.append(f"/{spec.name}" + (f" - {spec.summary}" if spec.summary else ""))
    lines.append(t(N_("Type /help NAME for details on one of them.")))
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


def help_command(registry: RegistrySpec, role: Roles, name: str, *, language: str | None = None) -> Reply:
    """Usage, arguments (type, default, help, choices) and examples of one command."""
    t = translator(language)
    spec = registry.resolve(name)
    if spec is None and " " in name:
        spec = registry.resolve(name.replace(" ", "."))  # `/help ticket close` as for the subcommand call
    if spec is None or not may_run(spec.roles, role):
        subcommands = [s for s in visible_commands(registry, role, language) if s.name.startswith(name + ".")]
        if subcommands:
            lines = [t(N_("/{command} has these subcommands:"), command=name)]
            lines += [f"/{s.name.replace('.', ' ')}" + (f" - {s.summary}" if s.summary else "") for s in subcommands]
            return Reply(
                text="\n".join(lines),
                quick_replies=tuple(
                    QuickReply(f"/help {s.name}", f"/help {s.name}") for s in subcommands[:MAX_HELP_QUICK_REPLIES]
                ),
            )
        return _unknown(registry, role, name, t)
    spec = spec.in_language(fallback_chain(language)) if language else spec
    lines = [f"/{spec.name}" + (f" - {spec.summary}" if spec.summary else "")]
    if spec.description:
        lines.append(spec.description.strip())
    lines.append(t(N_("Usage: {usage}"), usage=spec.usage()))
    if spec.aliases:
        lines.append(t(N_("Also: {aliases}"), aliases=", ".join(f"/{alias}" for alias in spec.aliases)))
    if spec.approve is not None:
        lines.append(
            t(
                N_("Needs approval before it runs, depending on its arguments, by: {roles}.")
                if spec.approve.when
                else N_("Needs approval before it runs, by: {roles}."),
                roles=", ".join(sorted(spec.approve.roles)),
            )
        )
    if spec.args:
        lines.append(t(N_("Arguments:")))
        lines += [f"  {_describe_arg(arg, t)}" for arg in spec.args]
    examples = [
        e.input for e in spec.examples if not (e.expect or {}).get("error")
    ]  # failing examples teach the wrong thing
    examples = [
        shown for shown in (star_sensitive(text, spec) for text in examples) if shown is not None
    ]  # None: unsure, so hidden
    if examples:
        lines.append(t(N_("Examples:")))
        lines += [f"  {text}" for text in examples]
    return Reply(text="\n".join(lines))


def _unknown(registry: RegistrySpec, role: Roles, name: str, t: Translator) -> Reply:
    names: dict[str, str] = {s.name: s.name for s in visible_commands(registry, role)}
    names.update({alias: canonical for alias, canonical in registry.aliases.items() if canonical in names})
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(names[c] for c in close))
    if suggestions:
        shown = Alternatives(tuple(f"/{s}" for s in suggestions))
        text = t(N_("There is no command /{command}. Did you mean {suggestions}?"), command=name, suggestions=shown)
    else:
        text = t(N_("There is no command /{command}."), command=name)
    text += "\n" + t(N_("Type /help to list the commands you can use."))
    quick = tuple(QuickReply(f"/help {s}", f"/help {s}") for s in suggestions) or (QuickReply(t(N_("Help")), "/help"),)
    return Reply(text=text, quick_replies=quick)


def _describe_arg(arg: ArgSpec, t: Translator) -> str:
    """`amount (decimal, required, at least 0.01): Amount to refund. Default: 0.` in one line."""
    if arg.type.name != "enum":
        facts = [str(arg.type)]
    elif arg.type.is_list:
        facts = [t(N_("list of {choices}"), choices=t.text(describe_text("enum", arg.choices)))]
    else:
        facts = [t.text(describe_text("enum", arg.choices))]
    if arg.positional:
        facts.append(t(N_("positional")))
    if arg.required:
        facts.append(t(N_("required")))
    if arg.choices is not None and arg.type.name != "enum":
        facts.append(t(N_("one of {choices}"), choices=", ".join(_shown(arg, c) for c in arg.choices)))
    counted = arg.type.is_list
    if arg.min is not None:
        facts.append(
            t(N_("at least {min} items"), min=arg.min) if counted else t(N_("at least {min}"), min=_shown(arg, arg.min))
        )
    if arg.max is not None:
        facts.append(
            t(N_("at most {max} items"), max=arg.max) if counted else t(N_("at most {max}"), max=_shown(arg, arg.max))
        )
    if arg.max_length is not None:
        facts.append(t(N_("up to {max} characters"), max=arg.max_length))
    if arg.sensitive:
        facts.append(t(N_("kept private")))
    text = f"{arg.name} ({', '.join(facts)})"
    if arg.help:
        helptext = arg.help.strip()
        text += f": {helptext}" + ("" if helptext.endswith((".", "!", "?", ")")) else ".")
    elif arg.type.name not in ("str", "enum"):
        text += f": {t.text(describe_text(arg.type.name))}."
    if arg.has_default and arg.default is not None and not arg.sensitive:
        text += " " + t(N_("Default: {value}."), value=_shown(arg, arg.default))
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
