"""The fast path: a scanner for plain commands, compiled from the grammar's own terminals.

Most chat commands are words, `key=value` options and flags. For those the
LALR machinery costs more than the work itself, so this scanner reads them
with the grammar's terminal regexes, in the grammar's priority order, and
gives up (returns None) on anything else: a stray `=`, an unclosed quote,
a malformed list, two items without a space between. Lark then parses the text and
reports any error, so errors always come from the grammar. A differential
fuzz test (tests/syntax/test_fast_path.py) checks both paths agree.
"""

from __future__ import annotations

import re

__all__ = ["FastScanner"]


class FastScanner:
    """Scans the items after `/name`; None means "let Lark decide"."""

    def __init__(self, patterns: dict[str, str]) -> None:
        self._space = re.compile(r"\s+").match
        self._key = re.compile(patterns["KEY_EQUALS"]).match
        self._flag = re.compile(patterns["FLAG"]).match
        self._word = re.compile(patterns["WORD"]).match
        self._list_word = re.compile(patterns["LIST_WORD"]).match

    def _list(self, text: str, pos: int) -> tuple[int, int, list[tuple[str, int]]] | None:
        """`[a, "b c",]` starting at `pos` (the `[`), as the grammar's `list` rule reads it."""
        start, pos, length = pos, pos + 1, len(text)
        words: list[tuple[str, int]] = []
        space, list_word = self._space, self._list_word
        while True:
            gap = space(text, pos)
            if gap is not None:
                pos = gap.end()
            if pos < length and text[pos] == "]":
                return start, pos + 1, words
            found = list_word(text, pos)
            if found is None:
                return None
            words.append((found.group(), pos))
            pos = found.end()
            gap = space(text, pos)
            if gap is not None:
                pos = gap.end()
            if pos < length and text[pos] == ",":
                pos += 1
            elif pos < length and text[pos] == "]":
                return start, pos + 1, words
            else:
                return None

    def _value(self, text: str, pos: int) -> tuple[tuple, int] | None:
        """A word or a list at `pos`: (raw value, end) or None."""
        if pos < len(text) and text[pos] == "[":
            found_list = self._list(text, pos)
            return None if found_list is None else (found_list, found_list[1])
        found = self._word(text, pos)
        return None if found is None else ((found.group(), pos), found.end())

    def scan(self, text: str, pos: int) -> list[tuple] | None:
        items: list[tuple] = []
        length = len(text)
        space, key, flag, value_at = self._space, self._key, self._flag, self._value
        while pos < length:
            gap = space(text, pos)
            if gap is None:
                return None  # two items touch: Lark explains
            pos = gap.end()
            found = key(text, pos)
            if found is not None:
                value = value_at(text, found.end())
                if value is None:
                    return None  # a stray `=`, nothing at all
                items.append(("option", found.group(), value[0], pos, value[1]))
                pos = value[1]
                continue
            found = flag(text, pos)
            if found is not None:
                items.append(("flag", found.group(), None, pos, found.end()))
                pos = found.end()
                continue
            value = value_at(text, pos)
            if value is None:
                return None
            items.append(("positional", None, value[0], pos, value[1]))
            pos = value[1]
        return items
