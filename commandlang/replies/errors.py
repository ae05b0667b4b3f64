"""Friendly replies for chat messages that cannot run (parse and bind errors).

Each reply says what was wrong (a short lead per error code, in plain words
that say what to do, and the diagnostic's own message), where (the word the
column falls on, quoted: chat windows use proportional fonts, where a `^`
under a column points at the wrong character; the CLI, in a terminal, draws
the caret), how it is used (the usage line) and where to read more (`/help
NAME`); an unknown command's did-you-mean comes as quick replies that run
the corrected command. It never shows a sensitive value: those are starred
out in the quoted text, and when that cannot be done safely nothing is quoted.
"""

from __future__ import annotations

import re

from ..diagnostics import CommandError, Diagnostic
from ..registry.model import CommandSpec, RegistrySpec
from ..registry.languages import fallback_chain
from ..syntax import Option, Positional, parse_invocation
from ..texts import N_
from .i18n import translator
from .model import QuickReply, Reply

__all__ = ["LEADS", "command_error_reply", "quoted_context", "star_sensitive"]

#: The first words of the reply for each error code (the diagnostic's message follows).
LEADS: dict[str, str] = {
    "unclosed_quote": N_("A quote is not closed: add the closing quote."),
    "unclosed_list": N_("A list is not closed: add the closing ]."),
    "unexpected_character": N_("Part of that command could not be read."),
    "empty_key": N_("An option has no name: write it as name=value."),
    "duplicate_option": N_("The same option is given twice: give it once."),
    "too_long": N_("That message is too long to be a command."),
    "too_many_items": N_("That command has too many parts."),
    "missing_argument": N_("That command needs one more value."),
    "unknown_option": N_("That command has no such option."),
    "too_many_positionals": N_("That command got more values than it takes."),
    "not_a_flag": N_("That option needs a value, like name=value."),
    "invalid_value": N_("One of the values is not what the command expects."),
    "constraint": N_("One of the values is outside what the command accepts."),
    "unknown_command": N_("There is no command by that name."),
    "not_allowed": N_("That command is not available to you."),
}
_GENERIC_LEAD = N_("I couldn't run that command.")
_WINDOW = 60  # characters of the message shown around the caret


def command_error_reply(
    diagnostic: Diagnostic,
    text: str,
    spec: CommandSpec | None = None,
    *,
    registry: RegistrySpec | None = None,
    language: str | None = None,
) -> Reply:
    """The reply to a chat message that failed to parse or bind.

    `text` is the message as the user sent it; `spec` the command it named,
    when known (for the usage line and to star out sensitive values);
    `registry` lets a did-you-mean offer the corrected command as a quick reply;
    `language` (a declared language tag) picks the built-in texts and the command's translations.
    """
    t = translator(language)
    if spec is not None and language:
        spec = spec.in_language(fallback_chain(language))
    lines = [t.gettext(LEADS.get(diagnostic.code, _GENERIC_LEAD))]
    message = t.text(diagnostic.text) if diagnostic.text is not None else diagnostic.message
    if message:
        lines.append(message)
    # the message already names the command (unknown, not allowed) or there is no one word to point at
    quote = diagnostic.code not in ("unknown_command", "not_allowed", "too_many_items")
    context = quoted_context(text, diagnostic.column, spec, language=language) if quote else None
    if context:
        lines.append(context)
    hint = t.text(diagnostic.hint_text) if diagnostic.hint_text is not None else diagnostic.hint
    if diagnostic.code == "not_allowed" or spec is None:
        if hint and not hint.startswith("Usage:"):
            lines.append(hint)
        else:
            lines.append(t(N_("Type /help to see the commands you can use.")))
        quick = _corrections(diagnostic, text, registry) + (QuickReply(t(N_("/help: list the commands")), "/help"),)
        return Reply(text="\n".join(lines), quick_replies=quick)
    if diagnostic.code == "constraint" and diagnostic.argument:
        argument = spec.arg(diagnostic.argument)
        hint = argument.help if argument is not None and argument.help else hint  # its help, translated
    if hint and not hint.startswith("Usage:"):
        hint = hint.strip()
        if diagnostic.code == "constraint" and diagnostic.argument:
            hint = f"{diagnostic.argument}: {hint}"  # the hint is the argument's help text, which names nothing
        lines.append(hint)
    lines.append(t(N_("Usage: {usage}"), usage=spec.usage()))
    lines.append(t(N_("Type /help {command} for details."), command=spec.name))
    return Reply(text="\n".join(lines), quick_replies=(QuickReply(f"/help {spec.name}", f"/help {spec.name}"),))


def _corrections(diagnostic: Diagnostic, text: str, registry: RegistrySpec | None) -> tuple[QuickReply, ...]:
    """For an unknown command: each suggested name put in place of the one typed, as a quick reply whose
    label is what it sends. A suggestion with sensitive arguments offers its help instead (its payload
    would carry what the user typed back through the channel)."""
    if diagnostic.code != "unknown_command" or not diagnostic.suggestions or diagnostic.column is None:
        return ()
    start = max(diagnostic.column - 1, 0)
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    offered = []
    for name in diagnostic.suggestions[:3]:
        suggested = registry.resolve(name) if registry is not None else None
        if suggested is None or any(arg.sensitive for arg in suggested.args):
            offered.append(QuickReply(f"/help {name}", f"/help {name}"))
            continue
        corrected = text[:start] + name.replace(".", " ") + text[end:]
        corrected = "/" + corrected.lstrip().lstrip("/\uff0f")
        offered.append(QuickReply(corrected, corrected))
    return tuple(offered)


def quoted_context(
    text: str, column: int | None, spec: CommandSpec | None = None, *, language: str | None = None
) -> str | None:
    """`Here: “amount=abc”`: the word of `text` that `column` (1-based) falls on, sensitive values starred;
    None without a column, past the end of the text (the message says what is missing), or when unsure."""
    if column is None or not text:
        return None
    shown = star_sensitive(text, spec)
    if shown is None:
        return None
    offset = column - 1
    if offset < 0 or offset >= len(shown) or shown[offset].isspace():
        return None
    start, end = offset, offset
    while start > 0 and not shown[start - 1].isspace():
        start -= 1
    while end < len(shown) and not shown[end].isspace():
        end += 1
    word = shown[start:end]
    if len(word) > _WINDOW:  # a long word: the part around the column
        left = max(0, min(offset - start - _WINDOW // 2, len(word) - _WINDOW))
        word = ("…" if left else "") + word[left : left + _WINDOW] + ("…" if left + _WINDOW < len(word) else "")
    return translator(language)(N_("Here: “{word}”"), word=word)


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
        pattern = re.compile(
            rf"(?<![\w-])(?:--)?{re.escape(name)}\s*=\s*(\"(?:\\.|[^\"])*\"?|'[^']*'?|\S+)", re.IGNORECASE
        )
        for match in pattern.finditer(text):
            _star(chars, match.start(1), match.end(1))
    return "".join(chars)


def _star(chars: list[str], start: int, end: int) -> None:
    """Star out chars[start:end], keeping the last four of a long value (like `mask`)."""
    keep = 4 if end - start >= 12 else 0
    for index in range(start, end - keep):
        if chars[index] not in "\n":
            chars[index] = "*"
