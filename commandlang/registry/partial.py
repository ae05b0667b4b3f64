"""Half-typed slash commands, split into tokens without the parser (which rejects them).

What `complete.py` reads before the cursor: whitespace separates tokens outside quotes and lists
(as in the grammar), `a = b` is one option, an unclosed quote or list keeps the token open. The
typographic quotes phones type count as quotes (`syntax/normalise.py` rewrites them the same way).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = ["QUOTES", "SLASHES", "Token", "scan", "split_option"]

#: Each quote character -> the plain quote it stands for (typographic ones as `syntax/normalise.py` reads them).
QUOTES: Mapping[str, str] = MappingProxyType(
    {
        '"': '"',
        "'": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2018": "'",
        "\u2019": "'",
    }
)
#: What a command starts with (the fullwidth solidus is normalised to `/`).
SLASHES = ("/", "\uff0f")


@dataclass(frozen=True, slots=True)
class Token:
    """One token typed so far, with its offset in the whole text."""

    text: str  # as typed, quotes included; `a = b` joined as `a=b`
    start: int
    value_start: int | None = None  # where an option's value starts, when whitespace moved it


def scan(body: str, offset: int) -> tuple[list[Token], bool]:
    """The whitespace-separated tokens of `body` (quotes and lists kept whole, `a = b` joined as `a=b`),
    with their offsets in the full text; True when the last one is still being typed (no space after)."""
    tokens: list[Token] = []
    i, n = 0, len(body)
    while i < n:
        if body[i].isspace():
            i += 1
            continue
        start = i
        quote: str | None = None
        depth = 0
        while i < n:
            char = body[i]
            if quote is not None:
                if QUOTES.get(char) == quote and char != "\\":
                    quote = None
                elif char == "\\" and quote == '"':
                    i += 1  # an escape: skip the escaped character
            elif char in QUOTES:
                quote = QUOTES[char]
            elif char == "[":
                depth += 1
            elif char == "]":
                depth = max(0, depth - 1)
            elif char.isspace() and depth == 0:
                break
            i += 1
        tokens.append(Token(body[start:i], offset + start))
    # inside an open quote or list the whitespace is part of the token: it stays open
    open_token = bool(tokens) and (not body[-1].isspace() or _inside(tokens[-1].text))
    return _join_equals(tokens), open_token


def _inside(token: str) -> bool:
    """True when `token` ends inside a quote or a list (whitespace there does not end it)."""
    quote: str | None = None
    depth = 0
    escaped = False
    for char in token:
        if escaped:
            escaped = False
        elif quote is not None:
            if char == "\\" and quote == '"':
                escaped = True
            elif QUOTES.get(char) == quote:
                quote = None
        elif char in QUOTES:
            quote = QUOTES[char]
        elif char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
    return quote is not None or depth > 0


def _join_equals(tokens: list[Token]) -> list[Token]:
    """`amount = 5` and `amount= 5` are the option `amount=5` (whitespace around `=` is allowed); the
    joined token keeps where its value starts in the text."""
    joined: list[Token] = []
    for token in tokens:
        if len(joined) > 1:  # never joined to the command name
            previous = joined[-1]
            if previous.text.endswith("=") and not token.text.startswith("="):
                joined[-1] = Token(previous.text + token.text, previous.start, token.start)
                continue
            if token.text.startswith("=") and not previous.text.endswith("="):
                joined[-1] = Token(previous.text + token.text, previous.start, token.start + 1)
                continue
        joined.append(token)
    return joined


def split_option(word: str) -> tuple[str, bool, str]:
    """`amount=19` -> ("amount", True, "19"); `--notify=yes` -> ("notify", True, "yes"); else (word, False, "")."""
    if word[:1] in QUOTES or word.startswith("["):
        return word, False, ""
    key, equals, value = word.partition("=")
    if not equals:
        return word, False, ""
    return (key[2:] if key.startswith("--") else key), True, value
