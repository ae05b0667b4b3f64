"""The fast path: a scanner for plain commands, compiled from the grammar's own terminals.

Most chat commands are words, `key=value` options and flags. For those the
LALR machinery costs more than the work itself, so this scanner reads them
with the grammar's terminal regexes, in the grammar's priority order, and
gives up (returns None) on anything else: lists, a stray `=`, an unclosed
quote, two items without a space between. Lark then parses the text and
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

    def scan(self, text: str, pos: int) -> list[tuple] | None:
        items: list[tuple] = []
        length = len(text)
        space, key, flag, word = self._space, self._key, self._flag, self._word
        while pos < length:
            gap = space(text, pos)
            if gap is None:
                return None  # two items touch: Lark explains
            pos = gap.end()
            found = key(text, pos)
            if found is not None:
                value = word(text, found.end())
                if value is None:
                    return None  # a list, a stray `=`, nothing at all
                items.append(("option", found.group(), (value.group(), found.end()), pos, value.end()))
                pos = value.end()
                continue
            found = flag(text, pos)
            if found is not None:
                items.append(("flag", found.group(), None, pos, found.end()))
                pos = found.end()
                continue
            found = word(text, pos)
            if found is None:
                return None
            items.append(("positional", None, (found.group(), pos), pos, found.end()))
            pos = found.end()
        return items
