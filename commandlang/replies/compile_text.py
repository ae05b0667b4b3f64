"""Reply -> plain text, for channels that take text only (the Genesys agent send endpoint).

Layout, top to bottom: the text (simple markdown flattened), each card (title,
description, links; its postback actions numbered), standalone buttons, then
the quick replies as a numbered list. Numbers follow `Reply.choices()`, so a
user can answer "2" (`resolve_numbered_answer`) or type the command shown.
Attachments become their links. The whole text fits `limits.max_text`
(2000 for the agent endpoint): the main text is cut first, with "…".
"""

from __future__ import annotations

import re

from ..texts import N_
from .i18n import translator
from .limits import MARKER, TEXT_LIMITS, ChannelLimits, enforce_limits, shorten
from .model import Button, Reply

__all__ = ["compile_text", "resolve_numbered_answer", "flatten_markdown"]

_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|`)(?=\S)(.+?)(?<=\S)\1")
_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")

PICK_PROMPT = N_("Reply with a number or type the command:")
PICK_ABOVE = N_("Reply with a number or type the command above.")


def flatten_markdown(text: str) -> str:
    """Simple markdown as plain text: `[a](url)` -> `a (url)`, emphasis and heading marks dropped."""
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _HEADING.sub("", text)
    previous = None
    while previous != text:  # nested emphasis (**_x_**) takes more than one pass
        previous, text = text, _EMPHASIS.sub(r"\2", text)
    return text


def _one_line(text: str) -> str:
    """A label on one line: a newline in a value must not break the numbered list."""
    return " ".join(text.split())


def _button_line(button: Button, number: int) -> tuple[str, int]:
    """A link as `label: url`; a postback as the next numbered choice. Returns the line and the last number used."""
    if button.kind == "link":
        return f"{_one_line(button.label)}: {button.url}", number
    number += 1
    return f"{number}. {_one_line(button.label)} ({_one_line(str(button.payload))})", number


def compile_text(reply: Reply, limits: ChannelLimits = TEXT_LIMITS, *, language: str | None = None) -> str:
    """The reply as one plain text of at most `limits.max_text` characters; the prompt in `language`."""
    t = translator(language)
    fitted, _ = enforce_limits(reply, limits)
    body = flatten_markdown(fitted.text) if fitted.format == "markdown" else fitted.text
    sections: list[str] = []
    number = 0
    for card in fitted.all_cards():
        lines = [card.title]
        if card.description:
            lines.append(card.description)
        action_urls = {a.url for a in card.actions if a.kind == "link"}
        if (
            card.default_action is not None
            and card.default_action.kind == "link"
            and card.default_action.url not in action_urls
        ):
            lines.append(str(card.default_action.url))
        for action in card.actions:
            line, number = _button_line(action, number)
            lines.append(line)
        sections.append("\n".join(lines))
    if fitted.buttons:
        lines = []
        for button in fitted.buttons:
            line, number = _button_line(button, number)
            lines.append(line)
        sections.append("\n".join(lines))
    for attachment in fitted.attachments:
        sections.append(f"{attachment.filename or attachment.media_type}: {attachment.url}")
    if fitted.quick_replies:
        lines = [t(PICK_PROMPT)]
        for quick in fitted.quick_replies:
            number += 1
            shown = f"{number}. {_one_line(quick.label)}"
            if quick.payload != quick.label:
                shown += f" ({_one_line(quick.payload)})"
            lines.append(shown)
        sections.append("\n".join(lines))
    elif number:
        sections.append(t(PICK_ABOVE))
    rest = "\n\n".join(sections)
    if limits.max_text is None:
        return "\n\n".join(p for p in (body, rest) if p)
    if len(rest) > limits.max_text:
        # The extras alone are too long: keep the main text short and cut the extras.
        head = shorten(body, limits.max_text // 4) if body else ""
        room = limits.max_text - len(head) - (2 if head else 0)
        return "\n\n".join(p for p in (head, shorten(rest, room)) if p)
    room = limits.max_text - len(rest) - (2 if rest else 0)
    return "\n\n".join(p for p in (shorten(body, room), rest) if p)


def resolve_numbered_answer(text: str, last_reply: Reply | None, limits: ChannelLimits = TEXT_LIMITS) -> str | None:
    """The payload a text-channel answer picks from `last_reply`, or None.

    "2", "2." or "2)" picks the second choice (numbers as `compile_text`
    printed them with the same `limits`); a choice's label typed in full (any
    case) picks it too. Anything else is None: the text is handled as usual
    (a command or chat).
    """
    if last_reply is None:
        return None
    choices = enforce_limits(last_reply, limits)[0].choices()  # number what was shown, not what was cut
    if not choices:
        return None
    match = _NUMBER.match(text)
    if match:
        index = int(match.group(1))
        return choices[index - 1][1] if 1 <= index <= len(choices) else None
    folded = text.strip().casefold()
    if folded and not folded.startswith("/"):
        for label, payload in choices:
            if label.rstrip(MARKER).casefold() == folded:
                return payload
    return None
