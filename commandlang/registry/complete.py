"""Suggestions at the cursor for a command being typed (`Registry.complete`, language.md section 4).

Pure and tolerant: half-typed text is rarely valid (an unclosed quote, `amount=` with no value), so
this does not use the parser, which rejects such text; it scans only the text before the cursor with
the slash syntax's separators (whitespace outside quotes and lists, `=`, `--`). It never raises: any
string, any cursor (clamped to the text), any registry.

The *current token*, which a suggestion's `insert` replaces, is `text[start:cursor]`
(`Completion.start`, `Completion.end` == the cursor), found by looking back from the cursor:
- after whitespace (outside quotes): empty, at the cursor (`insert` is simply inserted);
- in the command name: from the `/` (`/ref|` -> start 0, insert `/refund `);
- after `name=` (or `--name=`): the value typed so far, from just after the `=`; inside a list
  `[a, b|`, the element typed so far, from after the `[` or `,`;
- inside an unclosed quote: from the opening quote, so `reason="dam|` replaces `"dam`, and a
  choice with a space is inserted quoted;
- otherwise the word typed so far, from its first character (`--no|`, `amo|`, `123|`).
Text after the cursor is left alone: it is neither read nor replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from .model import ArgSpec, CommandSpec, RegistrySpec
from .partial import QUOTES, SLASHES, Token, scan, split_option
from .types import EXPECTED, describe, format_duration

__all__ = [
    "Completer",
    "Completion",
    "Suggestion",
    "SuggestionKind",
    "browser_completion",
    "index_to_utf16",
    "utf16_to_index",
]

SuggestionKind = Literal["command", "argument", "flag", "choice", "value"]

_BOOL_VALUES = (("true", "yes"), ("false", "no"))
# How many suggestions at most: a list a person reads, not a dump of a thousand-command registry.
MAX_SUGGESTIONS = 50


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One completion: `insert` replaces the current token (see `Completion`); `label` is what to show,
    `detail` the summary, type or help beside it, `kind` one of command|argument|flag|choice|value."""

    label: str
    insert: str
    detail: str
    kind: SuggestionKind

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "insert": self.insert, "detail": self.detail, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class Completion:
    """The suggestions at a cursor, the span `text[start:end]` each `insert` replaces (`end` is the
    cursor), and the usage line of the command being typed (None before a command is named)."""

    suggestions: tuple[Suggestion, ...]
    start: int
    end: int
    usage: str | None = None


class Completer:
    """Suggestions for one registry; build once per registry (the tables are precomputed)."""

    def __init__(self, spec: RegistrySpec) -> None:
        self.spec = spec
        names: list[tuple[str, str, CommandSpec]] = []  # (name as typed, detail, command)
        # `/ticket close`: a parent name (a command or not) -> its subcommands, by the word after it
        subs: dict[str, list[tuple[str, CommandSpec]]] = {}
        for name, command in sorted(spec.commands.items()):
            names.append((name, command.summary, command))
            parent, _, word = name.rpartition(".")
            if parent:
                subs.setdefault(parent, []).append((word, command))
        for alias, canonical in sorted(spec.aliases.items()):
            command = spec.commands[canonical]
            names.append((alias, f"{command.summary} (alias of /{canonical})".strip(), command))
        self._names = tuple(names)
        self._subs = {parent: tuple(words) for parent, words in subs.items()}
        self._help = spec.resolve("help") is None  # the runtime's built-in /help, unless the registry has its own

    def complete(self, text: Any, cursor: Any = None, role: str | None = None) -> Completion:
        """The suggestions at `cursor` (default: the end) for `role` (None: every role); never raises."""
        if not isinstance(text, str):
            return Completion((), 0, 0)
        end = _clamp(cursor, len(text))
        return self._complete(text[:end], end, role)  # no safety net: the hypothesis tests show it needs none

    # -- the command name ------------------------------------------------------------------------
    def _complete(self, head: str, end: int, role: str | None) -> Completion:
        lead = len(head) - len(head.lstrip())
        body = head[lead:]
        if not body:
            return Completion(self._commands("", role), end, end)
        if not body.startswith(SLASHES):
            return Completion((), end, end)  # ordinary chat: no suggestions
        tokens, open_token = scan(body, lead)
        if not tokens or (len(tokens) == 1 and open_token):  # still typing the name
            return Completion(self._commands(body[1:].casefold(), role), lead, end)
        name = tokens[0].text[1:].casefold()
        items = tokens[1:]
        if open_token:
            current = items.pop()
        elif items and split_option(items[-1].text)[1] and items[-1].text.endswith("="):
            option = items.pop()  # `amount= |`: the next word is amount's value
            current = Token(option.text, option.start, end)
        else:
            current = Token("", end)
        command = self.spec.resolve(name)
        subs = self._subs.get(command.name if command is not None else name, ())
        if name == "help" and self._help and not items:
            return Completion(self._help_topics(current, role), current.start, end, "/help [command]")
        if subs:
            first = items[0].text.casefold() if items else None
            chosen = next((sub for word, sub in subs if word == first), None)
            if chosen is not None:
                command, items = chosen, items[1:]
            elif not items:  # the word after `/ticket` may be its subcommand
                found = self._subcommands(subs, current, role)
                if command is None or not _allowed(command, role):
                    return Completion(found, current.start, end)
                rest = self._arguments(command, items, current, end)
                return Completion(found + rest.suggestions, rest.start, end, command.usage())
        if command is None or not _allowed(command, role):
            return Completion((), current.start, end)
        return self._arguments(command, items, current, end)

    def _commands(self, prefix: str, role: str | None) -> tuple[Suggestion, ...]:
        found = [
            Suggestion(f"/{name}", f"/{name} ", detail, "command")
            for name, detail, command in self._names
            if name.startswith(prefix) and _allowed(command, role)
        ]
        if self._help and "help".startswith(prefix):
            found.append(Suggestion("/help", "/help ", "List the commands you can use", "command"))
        return tuple(found[:MAX_SUGGESTIONS])

    def _subcommands(
        self, subs: tuple[tuple[str, CommandSpec], ...], current: Token, role: str | None
    ) -> tuple[Suggestion, ...]:
        prefix = current.text.casefold()
        return tuple(
            Suggestion(word, f"{word} ", command.summary, "command")
            for word, command in subs
            if word.startswith(prefix) and _allowed(command, role)
        )

    def _help_topics(self, current: Token, role: str | None) -> tuple[Suggestion, ...]:
        prefix = current.text.casefold()
        return tuple(
            Suggestion(name, name, command.summary, "command")
            for name, command in sorted(self.spec.commands.items())
            if name.startswith(prefix) and _allowed(command, role)
        )[:MAX_SUGGESTIONS]

    # -- the arguments ---------------------------------------------------------------------------
    def _arguments(self, command: CommandSpec, items: list[Token], current: Token, end: int) -> Completion:
        given, positionals = _given(command, items)
        usage = command.usage()
        word = current.text
        key, equals, value = split_option(word)
        if equals:  # `name=` or `--name=`: the value
            arg = command.arg(key.casefold()) or _arg_casefold(command, key)
            start = current.value_start if current.value_start is not None else current.start + len(word) - len(value)
            if arg is None or arg.positional:
                return Completion((), start, end, usage)
            found, start = _values(arg, value, start)
            return Completion(found, start, end, usage)
        if word.startswith("--"):  # a flag, or `--name=` being typed
            return Completion(_names(command, given, word[2:].casefold()), current.start, end, usage)
        slot = _next_positional(command, positionals)
        names = () if word[:1] in QUOTES else _names(command, given, word.casefold())
        hints = _values(slot, word, current.start)[0] if slot is not None else ()
        if slot is not None and slot.type.name not in ("enum", "bool") and word and names:
            found = names + hints  # a word that begins an argument name: the names, then the placeholder
        elif slot is not None and slot.required:
            found = hints + names  # required first: the positional, then the options
        else:
            found = names + hints
        return Completion(found[:MAX_SUGGESTIONS], current.start, end, usage)


def _allowed(command: CommandSpec, role: str | None) -> bool:
    return role is None or role in command.roles


def _clamp(cursor: Any, length: int) -> int:
    if cursor is None or isinstance(cursor, bool) or not isinstance(cursor, int):
        return length
    return max(0, min(cursor, length))


def _arg_casefold(command: CommandSpec, key: str) -> ArgSpec | None:
    folded = key.casefold()
    return next((arg for arg in command.args if arg.name.casefold() == folded), None)


def _given(command: CommandSpec, items: list[Token]) -> tuple[set[str], int]:
    """The argument names given before the current token, and how many positionals."""
    given: set[str] = set()
    positionals = 0
    for item in items:
        word = item.text
        key, equals, _ = split_option(word)
        if equals:
            given.add(key.casefold())
        elif word.startswith("--") and len(word) > 2:
            flag = word[2:].casefold()
            if flag.startswith("no-") and command.arg(flag) is None:
                flag = flag[3:]
            given.add(flag)
        else:
            positionals += 1
    index = 0
    for arg in command.positionals:
        if index >= positionals:
            break
        given.add(arg.name.casefold())
        index += 1
    return given, positionals


def _next_positional(command: CommandSpec, count: int) -> ArgSpec | None:
    slots = command.positionals
    if count < len(slots):
        return slots[count]
    if slots and slots[-1].type.is_list:
        return slots[-1]  # a list positional takes every remaining word
    return None


def _names(command: CommandSpec, given: set[str], prefix: str) -> tuple[Suggestion, ...]:
    """Argument names not yet given, required first: `name=` for options, `--flag` for bools."""
    options = [a for a in command.args if not a.positional and a.name.casefold() not in given]
    options.sort(key=lambda a: not a.required)  # stable: registry order within each group
    found: list[Suggestion] = []
    for arg in options:
        detail = _detail(arg)
        if arg.type.name == "bool" and not arg.type.is_list:
            # the spelling that changes the default first (`--no-notify` when it defaults to yes); the
            # other only when it alone matches what is typed
            useful, other = (f"--no-{arg.name}", f"--{arg.name}")
            if arg.default is not True:
                useful, other = other, useful
            for label in (useful, other):
                if label[2:].casefold().startswith(prefix):
                    found.append(Suggestion(label, f"{label} ", detail, "flag"))
                    break
        elif arg.name.casefold().startswith(prefix):
            found.append(Suggestion(f"{arg.name}=", f"{arg.name}=", detail, "argument"))
    return tuple(found)


def _values(arg: ArgSpec, typed: str, start: int) -> tuple[tuple[Suggestion, ...], int]:
    """Choices (enum), values (bool) or a typed placeholder for a value of `arg`, and the replaced
    span's start (inside a list, the element being typed)."""
    if arg.type.is_list and typed.startswith("["):
        cut = max(typed.rfind(","), typed.rfind("[")) + 1
        while cut < len(typed) and typed[cut].isspace():
            cut += 1
        start, typed = start + cut, typed[cut:]
    prefix = typed[1:] if typed[:1] in QUOTES else typed
    folded = prefix.casefold()
    name = arg.type.name
    if name == "enum" and arg.choices:
        found = [
            Suggestion(str(c), _quoted(str(c)), arg.help or describe("enum", arg.choices), "choice")
            for c in arg.choices
            if str(c).casefold().startswith(folded)
        ]
        return tuple(found), start
    if name == "bool":
        found = [
            Suggestion(word, word, arg.help or EXPECTED["bool"], "choice")  # a closed set, like an enum's
            for pair in _BOOL_VALUES
            for word in pair
            if word.startswith(folded)
        ]
        return tuple(found), start
    label = f"<{arg.name}>" if arg.positional else f"<{arg.type}>"  # after `name=` the name is on screen
    return (Suggestion(label, typed, _detail(arg), "value"),), start


def _quoted(value: str) -> str:
    if value and not any(c.isspace() or c in QUOTES or c in "[],=" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _detail(arg: ArgSpec) -> str:
    """The help, what the type accepts, and the default: `Amount to refund (a decimal number like 19.99)`."""
    accepts = "yes or no" if arg.type.name == "bool" else describe(arg.type.name, arg.choices)
    if arg.type.is_list:
        accepts = f"a list [a, b] of {accepts}"
    parts = [f"{arg.help} ({accepts})" if arg.help else accepts[:1].upper() + accepts[1:]]
    if arg.required:
        parts.append("required")
    elif arg.has_default and arg.default is not None and not arg.sensitive:
        parts.append(f"default {_shown(arg, arg.default)}")
    return ", ".join(parts)


def _shown(arg: ArgSpec, value: Any) -> str:
    if arg.type.name == "duration" and isinstance(value, (int, float)):
        return format_duration(float(value))
    if arg.type.name == "duration" and hasattr(value, "total_seconds"):
        return format_duration(value.total_seconds())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# -- the wire form, for a page typing into an <input> ------------------------------------------------
def utf16_to_index(text: str, units: int) -> int:
    """The character offset of `units` UTF-16 code units into `text` (clamped to the text)."""
    if units <= 0:
        return 0
    count = 0
    for index, char in enumerate(text):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def index_to_utf16(text: str, index: int) -> int:
    """The UTF-16 code units in `text[:index]`."""
    head = text[:index]
    return len(head) + sum(1 for char in head if ord(char) > 0xFFFF)


def browser_completion(data: Any, complete: Callable[[str, int | None], Completion]) -> dict[str, Any]:
    """`{"text", "cursor"?}` as a page sends it -> `{"suggestions", "replace": {"start", "end"}, "usage"}`.

    `cursor`, `start` and `end` count UTF-16 code units, as a browser's `selectionStart` does, so a
    page splices `insert` into its input without converting. ValueError (with the reason for a 400)
    when the request is not that shape. Used by `POST /sync/complete` and the demo page's route.
    """
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    text, cursor = data.get("text"), data.get("cursor")
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    if cursor is not None and (isinstance(cursor, bool) or not isinstance(cursor, int)):
        raise ValueError("cursor must be a whole number (UTF-16 code units, as selectionStart) or null")
    found = complete(text, None if cursor is None else utf16_to_index(text, cursor))
    return {
        "suggestions": [s.to_json() for s in found.suggestions],
        "replace": {"start": index_to_utf16(text, found.start), "end": index_to_utf16(text, found.end)},
        "usage": found.usage,
    }
