"""Normalise chat text before parsing, keeping a map back to the original columns.

Chat clients rewrite what people type: phones insert typographic quotes,
copy-paste brings no-break spaces and zero-width joiners. Each rewrite here is
one character for one character, or a removal, so an offset map is enough to
report every column against the text the user actually sent.

Bidirectional controls are removed too: they are invisible, and they make a
value display as something other than what it is (after U+202E the rest of
the line reads right to left), in the agent's panel and wherever the value
is shown again. `decode.py` drops the ones written as escapes.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

__all__ = ["BIDI_CONTROLS", "Normalised", "normalise"]

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\ufeff")
# Embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069) and the marks LRM, RLM and ALM.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_REMOVED = _ZERO_WIDTH | BIDI_CONTROLS
_DOUBLE_QUOTES = frozenset("\u201c\u201d\u201e\u00ab\u00bb")
_SINGLE_QUOTES = frozenset("\u2018\u2019")
_FULLWIDTH_SOLIDUS = "\uff0f"
# Characters after which a quote opens a value, and before which it closes one.
_VALUE_START_BEFORE = frozenset(" \n\r=[,")
_VALUE_END_AFTER = frozenset(" \n\r],")


class Normalised(NamedTuple):
    """The normalised, stripped text and, for each of its characters, the original offset."""

    text: str
    origin: tuple[int, ...] | None  # None: identical to original[offset:offset+len(text)]
    offset: int
    original: str

    def to_original(self, index: int) -> int:
        """Map an offset in `text` (0..len(text)) to an offset in the original text."""
        if self.origin is None:
            return self.offset + index
        if index >= len(self.origin):
            return self.origin[-1] + 1 if self.origin else self.offset
        return self.origin[index]


def _is_space(char: str) -> bool:
    return char == "\t" or (char != " " and unicodedata.category(char) == "Zs")


def normalise(original: str) -> Normalised:
    """Apply the spec's normalisation (section 1) and strip surrounding whitespace."""
    if original.isascii() and "\t" not in original:
        stripped = original.strip()
        return Normalised(stripped, None, len(original) - len(original.lstrip()), original)

    chars: list[str] = []
    origin: list[int] = []
    in_double = in_single = seen_visible = False
    for index, char in enumerate(original):
        if char in _REMOVED:
            continue
        if _is_space(char):
            char = " "
        elif char in _DOUBLE_QUOTES and not in_single:
            char = '"'
        elif char == _FULLWIDTH_SOLIDUS and not seen_visible:
            char = "/"
        elif char in _SINGLE_QUOTES and not in_double:
            before = chars[-1] if chars else " "
            after = _next_visible(original, index + 1)
            if not in_single and before in _VALUE_START_BEFORE:
                char = "'"
            elif in_single and after in _VALUE_END_AFTER:
                char = "'"
        if char == '"' and not in_single:
            if not (in_double and _escaped(chars)):
                in_double = not in_double
        elif char == "'" and not in_double:
            in_single = not in_single
        seen_visible = seen_visible or not char.isspace()
        chars.append(char)
        origin.append(index)

    text = "".join(chars)
    left = len(text) - len(text.lstrip())
    stripped = text.strip()
    return Normalised(
        stripped,
        tuple(origin[left : left + len(stripped)]),
        origin[left] if origin and left < len(origin) else 0,
        original,
    )


def _next_visible(text: str, index: int) -> str:
    """The next character that normalisation keeps, as normalised (" " at the end)."""
    while index < len(text) and text[index] in _REMOVED:
        index += 1
    if index >= len(text):
        return " "
    return " " if _is_space(text[index]) else text[index]


def _escaped(chars: list[str]) -> bool:
    """True when the quote about to be appended is escaped by an odd run of backslashes."""
    count = 0
    for char in reversed(chars):
        if char != "\\":
            break
        count += 1
    return count % 2 == 1
