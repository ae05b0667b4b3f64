"""Friendly replies for chat messages that cannot run (parse and bind errors).

Each reply says what was wrong (a short lead per error code and the
diagnostic's own message), where (the text with a `^` under the column),
how it is used (the usage line) and where to read more (`/help NAME`).
It never shows a sensitive value: those are starred out in the quoted text,
and when that cannot be done safely the quoted text is left out.
"""

from __future__ import annotations

import re

from ..diagnostics import CommandError, Diagnostic
from ..registry.model import CommandSpec
from ..syntax import Option, Positional, parse_invocation
from .model import QuickReply, Reply

__all__ = ["LEADS", "command_error_reply", "caret_context", "star_sensitive"]

#: The first words of the reply for each error code (the diagnostic's message follows).
LEADS: dict[str, str] = {
    "unclosed_quote": "A quote is not closed.",
    "unclosed_list": "A list is not closed.",
    "unexpected_character": "Something in the command is out of place.",
    "empty_key": "An option is missing its name.",
    "duplicate_option": "An option is given twice.",
    "too_long": "That message is too long to be a command.",
    "too_many_items": "That command has too many parts.",
    "missing_argument": "Something is missing.",
    "unknown_option": "That option does not exist.",
    "too_many_positionals": "There is one value too many.",
    "not_a_flag": "That option needs a value.",
    "invalid_value": "A value is not right.",
    "constraint": "A value is outside what this command accepts.",
    "unknown_command": "I don't know that command.",
    "not_allowed": "You can't use that command.",
}
_GENERIC_LEAD = "I couldn't run that command."
_WINDOW = 60  # characters of the message shown around the caret


def command_error_reply(diagnostic: Diagnostic, text: str, spec: CommandSpec | None = None) -> Reply:
    """The reply to a chat message that failed to parse or bind.

    `text` is the message as the user sent it; `spec` the command it named,
    when known (for the usage line and to star out sensitive values).
    """
    lines = [LEADS.get(diagnostic.code, _GENERIC_LEAD)]
    if diagnostic.message:
        lines.append(diagnostic.message)
    context = caret_context(text, diagnostic.column, spec)
    if context:
        lines.append(context)
    if diagnostic.code == "not_allowed" or spec is None:
        if diagnostic.hint and not diagnostic.hint.startswith("Usage:"):
            lines.append(diagnostic.hint)
        else:
            lines.append("Type /help to see the commands you can use.")
        return Reply(text="\n".join(lines), quick_replies=(QuickReply("Help", "/help"),))
    if diagnostic.hint and not diagnostic.hint.startswith("Usage:"):
        hint = diagnostic.hint.strip()
        if diagnostic.code == "constraint" and diagnostic.argument:
            hint = f"{diagnostic.argument}: {hint}"  # the hint is the argument's help text, which names nothing
        lines.append(hint)
    lines.append(f"Usage: {spec.usage()}")
    lines.append(f"Type /help {spec.name} for details.")
    return Reply(text="\n".join(lines), quick_replies=(QuickReply(f"Help on /{spec.name}", f"/help {spec.name}"),))


def caret_context(text: str, column: int | None, spec: CommandSpec | None = None) -> str | None:
    """Two lines: the part of `text` around `column` (1-based) and a `^` under it; None without a column."""
    if column is None or not text:
        return None
    shown = star_sensitive(text, spec)
    if shown is None:
        return None
    offset = min(max(column - 1, 0), len(shown))
    start_of_line = shown.rfind("\n", 0, offset) + 1
    end_of_line = shown.find("\n", offset)
    line = shown[start_of_line : end_of_line if end_of_line != -1 else len(shown)]
    caret_at = offset - start_of_line
    line = "".join(" " if ch in "\t\r" else ch for ch in line)  # one cell per character keeps the caret aligned
    left = max(caret_at - _WINDOW // 2, 0)
    right = min(left + _WINDOW, len(line))
    if right - left < _WINDOW:
        left = max(right - _WINDOW, 0)
    window = line[left:right]
    caret = caret_at - left
    if left > 0:
        window, caret = "…" + window, caret + 1
    if right < len(line):
        window += "…"
    return window + "\n" + " " * caret + "^"


def star_sensitive(text: str, spec: CommandSpec | None) -> str | None:
    """`text` with the values of sensitive arguments starred out, column for column; None when unsure."""
    if spec is None or not any(arg.sensitive for arg in spec.args):
        return text
    sensitive = {arg.name for arg in spec.args if arg.sensitive}
    chars = list(text)
    try:
        invocation = parse_invocation(text)
    except CommandError:  # a syntax error: fall back to finding key=value by hand below
        invocation = None
    if invocation is not None:
        slots = [arg for arg in spec.positionals]
        positional_index = 0
        for item in invocation.items:
            if isinstance(item, Option):
                if item.key in sensitive:
                    _star(chars, item.value.span.start, item.value.span.end)
            elif isinstance(item, Positional):
                slot = slots[min(positional_index, len(slots) - 1)] if slots else None
                positional_index += 1
                if slot is not None and slot.sensitive:
                    _star(chars, item.span.start, item.span.end)
        return "".join(chars)
    if any(arg.sensitive and arg.positional for arg in spec.args):
        return None  # cannot tell which word is the secret: show no text at all
    for name in sensitive:
        pattern = re.compile(rf"(?<![\w-])(?:--)?{re.escape(name)}\s*=\s*(\"(?:\\.|[^\"])*\"?|'[^']*'?|\S+)", re.IGNORECASE)
        for match in pattern.finditer(text):
            _star(chars, match.start(1), match.end(1))
    return "".join(chars)


def _star(chars: list[str], start: int, end: int) -> None:
    """Star out chars[start:end], keeping the last four of a long value (like `mask`)."""
    keep = 4 if end - start >= 12 else 0
    for index in range(start, end - keep):
        if chars[index] not in "\n":
            chars[index] = "*"
