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
from typing import TYPE_CHECKING

from .decode import decode_word
from .tree import Flag, Item, Option, Positional, Value

if TYPE_CHECKING:
    from .parser import RawItem, RawList, RawToken

__all__ = ["FastScanner"]


class FastScanner:
    """Scans the items after `/name`; None means "let Lark decide"."""

    def __init__(self, patterns: dict[str, str]) -> None:
        self._space = re.compile(r"\s+").match
        self._key = re.compile(patterns["KEY_EQUALS"]).match
        self._flag = re.compile(patterns["FLAG"]).match
        self._word = re.compile(patterns["WORD"]).match
        self._list_word = re.compile(patterns["LIST_WORD"]).match
        # One item in one match: the terminals as alternatives in the grammar's priority
        # order (KEY_EQUALS, FLAG, WORD), as Lark's lexer tries them.
        self._item = re.compile(
            r"\s+(?:(?P<key>%s)(?P<value>%s)?|(?P<flag>%s)|(?P<word>%s))"
            % (patterns["KEY_EQUALS"], patterns["WORD"], patterns["FLAG"], patterns["WORD"])
        ).match

    def _list(self, text: str, pos: int) -> RawList | None:
        """`[a, "b c",]` starting at `pos` (the `[`), as the grammar's `list` rule reads it."""
        start, pos, length = pos, pos + 1, len(text)
        words: list[RawToken] = []
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

    def _value(self, text: str, pos: int) -> tuple[RawToken | RawList, int] | None:
        """A word or a list at `pos`: (raw value, end) or None."""
        if pos < len(text) and text[pos] == "[":
            found_list = self._list(text, pos)
            return None if found_list is None else (found_list, found_list[1])
        found = self._word(text, pos)
        return None if found is None else ((found.group(), pos), found.end())

    def scan(self, text: str, pos: int) -> list[RawItem] | None:
        """Raw items (the shape `parser._lark_items` returns), or None to let Lark decide."""
        items: list[RawItem] = []
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

    def items(self, text: str, pos: int, shift: int, percent_decode: bool, max_items: int) -> tuple[Item, ...] | None:
        """The finished items of plain ASCII text (spans are offsets + `shift`), or None for Lark.

        The same walk as `scan`, fused with building the tree and with one
        regex per item (the terminals as alternatives in priority order): this
        is the hot path, and it costs half of scan-then-build.
        """
        items: list[Item] = []
        length = len(text)
        item_at = self._item
        while pos < length:
            found = item_at(text, pos)
            if found is None or len(items) == max_items:
                return None  # touching items, a list, a stray `=`, a bad quote: Lark decides
            kind = found.lastgroup
            assert kind is not None  # every alternative is a named group
            start, end = found.start(kind if kind != "value" else "key"), found.end()
            if kind == "value":
                key = found.group("key")
                items.append(
                    Option(
                        key.lstrip("-").rstrip(" \n\r=").lower(),
                        _value(found.group("value"), found.start("value"), end, shift, percent_decode),
                        start + shift,
                        end + shift,
                    )
                )
            elif kind == "word":
                items.append(
                    Positional(
                        _value(found.group("word"), start, end, shift, percent_decode), start + shift, end + shift
                    )
                )
            elif kind == "flag":
                name = found.group("flag")[2:].lower()
                negated = name.startswith("no-")
                items.append(Flag(name[3:] if negated else name, not negated, start + shift, end + shift))
            else:
                return None  # a key with a list or nothing after its `=`
            pos = end
        return tuple(items)


def _value(token: str, start: int, end: int, shift: int, percent_decode: bool) -> Value:
    if '"' in token or "'" in token or (percent_decode and "%" in token):
        text, quoted = decode_word(token, percent_decode)
        return Value(text, start + shift, end + shift, quoted)
    return Value(token, start + shift, end + shift, False)
