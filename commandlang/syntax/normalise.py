"""Normalise chat text before parsing, keeping a map back to the original columns.

Chat clients rewrite what people type: phones insert typographic quotes,
copy-paste brings no-break spaces and zero-width joiners. Each rewrite here is
one character for one character, or a removal, so an offset map is enough to
report every column against the text the user actually sent.

Bidirectional controls are removed too: they are invisible, and they make a
value display as something other than what it is (after U+202E the rest of
the line reads right to left), in the agent's panel and wherever the value
is shown again. `decode.py` drops the ones written as escapes.

Two implementations of one rule: `normalise_reference` walks the text one
character at a time and is the definition; `normalise` gets the same answer
faster (the spaces in one regex substitution, the quote rules only at the
quotes) whenever nothing is removed, so the offset map stays the identity;
text holding a zero-width or bidi character takes the reference walk.
tests/syntax/test_fast_path.py checks that both agree.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = ["BIDI_CONTROLS", "Normalised", "may_be_command", "normalise", "normalise_in_place", "normalise_reference"]

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

# A tab and the Unicode space separators (category Zs) other than " " itself, spelled out; a test
# checks the set against `_is_space` on every code point, so a Unicode update that adds a
# separator fails there.
_SPACES = frozenset(
    "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_TYPOGRAPHIC = _DOUBLE_QUOTES | _SINGLE_QUOTES
# Every character the in-place normalisation acts on: one pass over the text finds them all.
_SPECIAL_RE = re.compile("[%s]" % "".join(sorted(_REMOVED | _SPACES | _TYPOGRAPHIC)))
# The characters the quote rules look at: quotes of both kinds, typed plainly or typographically.
_QUOTE_SPLIT = re.compile("([\"'%s])" % "".join(sorted(_TYPOGRAPHIC))).split
# A typographic single quote where it may open a value: at the start, or after a value-start character.
_SINGLE_MAY_OPEN_RE = re.compile(
    "(?:^|[%s])[%s]" % (re.escape("".join(sorted(_VALUE_START_BEFORE))), "".join(sorted(_SINGLE_QUOTES)))
)
# What may stand before the `/` of a command: whitespace and the characters normalisation removes.
_LEADING_RE = re.compile("[\\s%s]*" % "".join(sorted(_REMOVED)))
_COMMAND_STARTS = ("/", _FULLWIDTH_SOLIDUS)


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


def may_be_command(original: str) -> bool:
    """False when the normalised text cannot start with `/`: ordinary chat, decided without normalising it.

    The normalised text starts with the first character that is neither
    whitespace nor removed; it is `/` when that character is `/` or a
    fullwidth solidus.
    """
    first = original[:1]
    if first == "/":
        return True
    if not (first.isspace() or first in _REMOVED or first == _FULLWIDTH_SOLIDUS):
        return False
    start = _LEADING_RE.match(original)
    return start is not None and original[start.end() : start.end() + 1] in _COMMAND_STARTS


def normalise(original: str) -> Normalised:
    """Apply the spec's normalisation (section 1) and strip surrounding whitespace."""
    shifted = normalise_in_place(original)
    if shifted is None:
        return normalise_reference(original)  # removals move offsets: the walk builds the map
    return Normalised(shifted[0], None, shifted[1], original)


def normalise_in_place(original: str) -> tuple[str, int] | None:
    """(normalised text, offset of its first character) when no character is removed, else None.

    Then every character stays where it was, so a span in the normalised text
    is the same span in the original, shifted by the offset: the case the
    fused fast path handles.
    """
    if not original.isascii():
        # Copy-paste's no-break space and phones' curly double quotes are the non-ASCII characters
        # commands hold most; text that is ASCII once they are replaced needs nothing else.
        spaced = original.replace("\u00a0", " ")
        if not spaced.isascii() and "'" not in spaced:
            # No single quote at all, so no single-quoted value: phones' curly double quotes are `"`.
            spaced = spaced.replace("\u201c", '"').replace("\u201d", '"')
        if not spaced.isascii():
            return _in_place(original)
        original = spaced
    if "\t" in original:
        original = original.replace("\t", " ")
    stripped = original.strip()
    return stripped, len(original) - len(original.lstrip())


def _in_place(original: str) -> tuple[str, int] | None:
    """`normalise_in_place` for text that holds more than ASCII and no-break spaces."""
    found = frozenset(_SPECIAL_RE.findall(original))
    if not found:
        text = original
    elif not found.isdisjoint(_REMOVED):
        return None
    else:
        text = original
        for space in found & _SPACES:
            text = text.replace(space, " ")
        if not found.isdisjoint(_TYPOGRAPHIC):
            text = _convert_quotes(text, found)
    left = len(text) - len(text.lstrip())
    if text[left : left + 1] == _FULLWIDTH_SOLIDUS:
        text = text[:left] + "/" + text[left + 1 :]
    return text.strip(), left


def _convert_quotes(text: str, specials: frozenset[str]) -> str:
    """The reference walk's quote rules, applied only where a quote stands (no removals, spaces mapped).

    `specials` holds the text's characters that `_SPECIAL_RE` matches.
    """
    if "'" not in text and (specials.isdisjoint(_SINGLE_QUOTES) or _SINGLE_MAY_OPEN_RE.search(text) is None):
        # No single quote can open a value (an apostrophe after a letter never does), so there is
        # no single-quoted value: every typographic double quote becomes `"`, no single one changes.
        for quote in specials & _DOUBLE_QUOTES:
            text = text.replace(quote, '"')
        return text
    # Split at the quotes: even entries are the text between them, odd ones one quote each.
    parts = _QUOTE_SPLIT(text)
    end = len(parts) - 1
    in_double = in_single = False
    for index in range(1, end, 2):
        char = parts[index]
        if char in _DOUBLE_QUOTES:
            if not in_single:
                char = '"'
        elif char in _SINGLE_QUOTES and not in_double:
            # The neighbours: the text around the quote, or the next quote, or the end of the text
            # (a space). Neither neighbour set holds a quote, so the neighbours' conversion cannot matter.
            if not in_single:
                before = parts[index - 1]
                if (before[-1] in _VALUE_START_BEFORE) if before else index == 1:
                    char = "'"
            else:
                after = parts[index + 1]
                if (after[0] in _VALUE_END_AFTER) if after else index + 1 == end:
                    char = "'"
        if char == '"':
            if not in_single and not (in_double and _odd_backslashes(parts[index - 1])):
                in_double = not in_double
        elif char == "'" and not in_double:
            in_single = not in_single
        parts[index] = char
    return "".join(parts)


def _odd_backslashes(before: str) -> bool:
    """True when `before` ends in an odd run of backslashes (a quote is never one, so the run ends there)."""
    return (len(before) - len(before.rstrip("\\"))) % 2 == 1


def normalise_reference(original: str) -> Normalised:
    """The definition of normalisation, one character at a time (any text; builds the offset map)."""
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
