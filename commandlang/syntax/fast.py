"""The fast path: Lark's reading of a command, replayed with the grammar's own terminals.

The grammar (grammar/commandlang.lark) is a handful of terminals and five
small rules. For chat commands the LALR machinery costs several times the
work itself, so this module reads the items after `/name` with the
grammar's terminal regexes, tried in the order Lark's contextual lexer tries
them in each parser state:

- between items: KEY_EQUALS, FLAG, WORD, then `[` (a list) and `=` (an
  empty key); whitespace is skipped, never required (`_build` in parser.py
  reports items that touch, as it does for Lark's tree);
- after KEY_EQUALS or `=`: WORD or `[`;
- in a list: LIST_WORD or `]` after `[` and after `,`; `,` or `]` after a word.

`scan` returns the raw items Lark's tree gives, or the offset where Lark's
parse stops (the lexer finds no terminal the state accepts, or the text ends
where a value or a `]` must come); parser.py classifies that offset into the
spec's error for both paths alike. `items` is the hot path: for text whose
offsets need no map, it fuses the walk with building the tree, one regex per
item, and declines (None) on anything unusual, which `scan` then reads.

Both are proven equal to Lark by the differential fuzz tests in
tests/syntax/test_fast_path.py, a strategy per class of input.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .decode import decode_word
from .tree import Flag, Item, ListValue, Option, Positional, Value

if TYPE_CHECKING:
    from .parser import RawItem, RawList, RawToken

__all__ = ["FastScanner"]


class FastScanner:
    """Reads the items after `/name` as Lark's parser does."""

    def __init__(self, patterns: dict[str, str]) -> None:
        self._space = re.compile(r"\s+").match
        self._key = re.compile(patterns["KEY_EQUALS"]).match
        self._flag = re.compile(patterns["FLAG"]).match
        self._word = re.compile(patterns["WORD"]).match
        self._list_word = re.compile(patterns["LIST_WORD"]).match
        # One item in one match: the terminals as alternatives in the contextual lexer's order
        # (KEY_EQUALS, FLAG, WORD, `[`); a key's value is a WORD or the `[` of a list.
        self._item = re.compile(
            r"\s+(?:(?P<key>%s)(?:(?P<value>%s)|(?P<keylist>\[))?|(?P<flag>%s)|(?P<word>%s)|(?P<list>\[))"
            % (patterns["KEY_EQUALS"], patterns["WORD"], patterns["FLAG"], patterns["WORD"])
        ).match

    def _list(self, text: str, pos: int) -> RawList | int:
        """`[a, "b c",]` starting at `pos` (the `[`), as the grammar's `list` rule reads it; or the error offset."""
        start, pos, length = pos, pos + 1, len(text)
        words: list[RawToken] = []
        space, list_word = self._space, self._list_word
        while True:  # expecting a LIST_WORD or `]`
            gap = space(text, pos)
            if gap is not None:
                pos = gap.end()
            if pos >= length:
                return length
            if text[pos] == "]":
                return start, pos + 1, words
            found = list_word(text, pos)
            if found is None:
                return pos
            words.append((found.group(), pos))
            pos = found.end()
            gap = space(text, pos)  # expecting `,` or `]`
            if gap is not None:
                pos = gap.end()
            if pos >= length:
                return length
            if text[pos] == ",":
                pos += 1
            elif text[pos] == "]":
                return start, pos + 1, words
            else:
                return pos

    def _value(self, text: str, pos: int) -> tuple[RawToken | RawList, int] | int:
        """A word or a list at `pos`: (raw value, end), or the error offset."""
        if pos < len(text) and text[pos] == "[":
            found_list = self._list(text, pos)
            return found_list if isinstance(found_list, int) else (found_list, found_list[1])
        found = self._word(text, pos)
        return pos if found is None else ((found.group(), pos), found.end())

    def scan(self, text: str, pos: int) -> list[RawItem] | int:
        """Raw items (the shape `parser._lark_items` returns), or the offset where Lark's parse fails."""
        items: list[RawItem] = []
        length = len(text)
        space, key, flag = self._space, self._key, self._flag
        while True:
            gap = space(text, pos)
            if gap is not None:
                pos = gap.end()
            if pos >= length:
                return items
            kind: str
            name: str | None = None
            found = key(text, pos)
            if found is not None:
                kind, name, value_pos = "option", found.group(), found.end()
            elif text[pos] == "=":
                kind, value_pos = "empty_key", pos + 1
            else:
                found = flag(text, pos)
                if found is not None:
                    items.append(("flag", found.group(), None, pos, found.end()))
                    pos = found.end()
                    continue
                kind, value_pos = "positional", pos
            if kind != "positional":  # after `=` the lexer skips whitespace before the value
                gap = space(text, value_pos)
                if gap is not None:
                    value_pos = gap.end()
                if value_pos >= length:
                    return length
            value = self._value(text, value_pos)
            if isinstance(value, int):
                return value
            items.append((kind, name, value[0], pos, value[1]))
            pos = value[1]

    def items(self, text: str, pos: int, shift: int, percent_decode: bool, max_items: int) -> tuple[Item, ...] | None:
        """The finished items of text whose offsets only shift (spans are offsets + `shift`), or None.

        The walk of `scan`, fused with building the tree and with one regex
        per item: this is the hot path. It declines (None) on whatever needs
        a diagnostic or is unusual (touching items, a stray `=`, a bad quote,
        whitespace after `=` that KEY_EQUALS does not take, too many items).
        """
        items: list[Item] = []
        length = len(text)
        item_at = self._item
        while pos < length:
            found = item_at(text, pos)
            if found is None or len(items) == max_items:
                return None
            kind = found.lastgroup
            end = found.end()
            if kind == "value":
                start = found.start("key")
                items.append(
                    Option(
                        _key(found.group("key")),
                        _value(found.group("value"), found.start("value"), end, shift, percent_decode),
                        start + shift,
                        end + shift,
                    )
                )
            elif kind == "word":
                start = found.start("word")
                items.append(
                    Positional(
                        _value(found.group("word"), start, end, shift, percent_decode), start + shift, end + shift
                    )
                )
            elif kind == "flag":
                name = found.group("flag")[2:].lower()
                negated = name.startswith("no-")
                items.append(Flag(name[3:] if negated else name, not negated, found.start("flag") + shift, end + shift))
            elif kind == "list" or kind == "keylist":
                raw = self._list(text, end - 1)
                if isinstance(raw, int):
                    return None
                value = _list_value(raw, shift, percent_decode)
                end = raw[1]
                if kind == "list":
                    items.append(Positional(value, value.start, value.end))
                else:
                    items.append(Option(_key(found.group("key")), value, found.start("key") + shift, end + shift))
            else:
                return None  # a key with nothing it can take after its `=`
            pos = end
        return tuple(items)


def _key(token: str) -> str:
    """The option name in a KEY_EQUALS token (`--Amount = ` -> `amount`)."""
    return token.lstrip("-").rstrip(" \n\r=").lower()


def _value(token: str, start: int, end: int, shift: int, percent_decode: bool) -> Value:
    if '"' in token or "'" in token or (percent_decode and "%" in token):
        text, quoted = decode_word(token, percent_decode)
        return Value(text, start + shift, end + shift, quoted)
    return Value(token, start + shift, end + shift, False)


def _list_value(raw: RawList, shift: int, percent_decode: bool) -> ListValue:
    start, end, words = raw
    return ListValue(
        tuple(_value(token, at, at + len(token), shift, percent_decode) for token, at in words),
        start + shift,
        end + shift,
    )
